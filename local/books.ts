/**
 * The local run's books, kept from the table's own counters: received = counted + rejected,
 * and what CloudWatch got adds up, series by series, to what the table holds.
 */
import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { type Counter, decodeCounter, type ItemImage } from "../catalog/item";
import { type Catalog, COUNTED_METRIC, REJECTED_DIMENSION, REJECTED_METRIC, sumMetricName } from "../catalog/schema";
import type { StoredDatum } from "./metricStore";

export class BooksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BooksError";
  }
}

/** Every counter in the table, read consistently, in a stable order. */
export async function readCounters(dynamo: DynamoDBClient, tableName: string): Promise<Counter[]> {
  const counters: Counter[] = [];
  let startKey: Record<string, never> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) {
      const counter = decodeCounter(item as ItemImage);
      if (counter !== undefined) counters.push(counter);
    }
    startKey = page.LastEvaluatedKey as typeof startKey;
  } while (startKey);
  return counters.sort((a, b) => a.metric.localeCompare(b.metric) || a.bucket.localeCompare(b.bucket) || JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)));
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

const sortedDimensions = (d: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const seriesKey = (metricName: string, bucket: string, dims: Readonly<Record<string, string>>) => `${metricName}\u0000${bucket}\u0000${JSON.stringify(sortedDimensions(dims))}`;

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
