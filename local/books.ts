/**
 * The local run's books, kept from the table's own counters: received = counted + rejected,
 * and what CloudWatch got adds up, series by series, to what the table holds.
 */
import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { type Counter, decodeCounter, type ItemImage, sumParts } from "../catalog/item";
import { type Catalog, COUNTED_METRIC, metricEntries, REJECTED_DIMENSION, REJECTED_METRIC, sumMetricName } from "../catalog/schema";
import type { StoredDatum } from "./metricStore";

export class BooksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BooksError";
  }
}

/** Every counter in the table (its shards' parts added up), read consistently, in a stable order. */
export async function readCounters(dynamo: DynamoDBClient, tableName: string): Promise<Counter[]> {
  const parts: Counter[] = [];
  let startKey: Record<string, never> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) {
      const counter = decodeCounter(item as ItemImage);
      if (counter !== undefined) parts.push(counter);
    }
    startKey = page.LastEvaluatedKey as typeof startKey;
  } while (startKey);
  return sumParts(parts).sort((a, b) => a.metric.localeCompare(b.metric) || a.bucket.localeCompare(b.bucket) || JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)));
}

export interface Books {
  readonly received: number;
  readonly counted: number;
  readonly rejected: { readonly total: number; readonly byReason: Record<string, number> };
  /** received ≠ counted + rejected. */
  readonly booksProblems: string[];
  /** A series whose datums don't add up to its counter. */
  readonly metricProblems: string[];
}

/** Dimensions in name order, so one set of values reads one way. */
export const sortedDimensions = (d: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
/** One series' key: its metric, bucket and dimensions, whatever order they came in. */
export const seriesKey = (metricName: string, bucket: string, dims: Readonly<Record<string, string>>) => `${metricName}\u0000${bucket}\u0000${JSON.stringify(sortedDimensions(dims))}`;

/**
 * The table's CountedRecords against the catalog's own counters: every counted record adds one to
 * the total of each metric of its event type, and to exactly one split of each dimensioned metric.
 * So per event type, a metric's total is the records counted of that type, and the totals of one
 * metric per event type add up to CountedRecords; a split adds up to its total per bucket. A batch
 * whose pipeline counter got in while a catalog counter didn't shows here.
 */
function countedProblems(catalog: Catalog, counters: readonly Counter[], counted: number, totalOf: (metric: string) => number): string[] {
  const problems: string[] = [];
  const byEvent = new Map<string, string[]>();
  for (const [id, metric] of metricEntries(catalog)) byEvent.set(metric.event, [...(byEvent.get(metric.event) ?? []), id]);
  let catalogCounted = 0;
  for (const [event, ids] of byEvent) {
    const each = ids.map(totalOf);
    if (each.some((n) => n !== each[0])) problems.push(`event "${event}": its metrics' totals differ (${ids.map((id, i) => `${id} ${each[i]}`).join(", ")})`);
    catalogCounted += each[0];
  }
  if (catalogCounted !== counted) problems.push(`the catalog's counters hold ${catalogCounted} records, CountedRecords says ${counted}`);
  // Per dimensioned metric and bucket: its total beside the sum of its split.
  const buckets = new Map<string, { metric: string; bucket: string; total?: number; split: number }>();
  for (const c of counters) {
    if (Object.keys(catalog.metrics[c.metric]?.dimensions ?? {}).length === 0) continue;
    const key = `${c.metric}\u0000${c.bucket}`;
    const b = buckets.get(key) ?? { metric: c.metric, bucket: c.bucket, split: 0 };
    if (Object.keys(c.dimensions).length === 0) b.total = (b.total ?? 0) + c.count;
    else b.split += c.count;
    buckets.set(key, b);
  }
  for (const b of buckets.values()) {
    if (b.total !== undefined && b.split !== b.total) problems.push(`${b.metric} ${b.bucket}: its split adds up to ${b.split}, its total is ${b.total}`);
  }
  return problems;
}

/** Keeps the books: `received` is what the stream accepted from the producer. */
export function keepBooks(o: { catalog: Catalog; received: number; counters: readonly Counter[]; datums: readonly StoredDatum[] }): Books {
  const totalOf = (metric: string) => o.counters.filter((c) => c.metric === metric && Object.keys(c.dimensions).length === 0).reduce((n, c) => n + c.count, 0);
  const byReason: Record<string, number> = {};
  for (const c of o.counters) {
    const reason = c.metric === REJECTED_METRIC ? c.dimensions[REJECTED_DIMENSION] : undefined;
    if (reason !== undefined) byReason[reason] = (byReason[reason] ?? 0) + c.count;
  }
  const counted = totalOf(COUNTED_METRIC);
  const rejected = totalOf(REJECTED_METRIC);
  const booksProblems = o.received === counted + rejected ? [] : [`received ${o.received} ≠ counted ${counted} + rejected ${rejected}`];
  booksProblems.push(...countedProblems(o.catalog, o.counters, counted, totalOf));

  // What CloudWatch got, summed once per (metric, bucket, dimensions).
  const sent = new Map<string, number>();
  for (const d of o.datums) {
    if (d.namespace !== o.catalog.namespace) continue;
    const key = seriesKey(d.metricName, new Date(d.timestamp).toISOString(), d.dimensions);
    sent.set(key, (sent.get(key) ?? 0) + d.value);
  }
  const sentTotal = (metricName: string, c: Counter) => sent.get(seriesKey(metricName, c.bucket, c.dimensions)) ?? 0;
  const metricProblems: string[] = [];
  for (const c of o.counters) {
    const at = `${c.metric} ${JSON.stringify(sortedDimensions(c.dimensions))} ${c.bucket}`;
    const sentCount = sentTotal(c.metric, c);
    if (sentCount !== c.count) metricProblems.push(`${at}: metrics sum to ${sentCount}, the counter holds ${c.count}`);
    const metric = o.catalog.metrics[c.metric];
    if (c.sum !== undefined && metric !== undefined) {
      const sentSum = sentTotal(sumMetricName(c.metric, metric), c);
      if (Math.abs(sentSum - c.sum) > 1e-6 * Math.max(1, Math.abs(c.sum))) metricProblems.push(`${at}: sum metrics add to ${sentSum}, the counter holds ${c.sum}`);
    }
  }
  return { received: o.received, counted, rejected: { total: rejected, byReason }, booksProblems, metricProblems };
}
