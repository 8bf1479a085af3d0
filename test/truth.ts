import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type Catalog, COUNTED_METRIC, GRANULARITY_SECONDS, type Granularity, metricEntries, REJECTED_DIMENSION, REJECTED_METRIC } from "../catalog";
import { readCounters } from "../local/books";
import type { ProducedRecord } from "../local/producer";

/** `metric|dim=value|...|bucket`, dimensions by name, for a readable diff. */
export const truthKey = (metric: string, dimensions: Readonly<Record<string, string>>, bucket: string): string =>
  [metric, ...Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`), bucket].join("|");

export type Totals = Map<string, { count: number; sum: number }>;

/**
 * Ground truth for any catalog, computed here from the produced events with none of the
 * analyzer's code: every metric counting the event's type gets its total and, when it has
 * dimensions, its split, in the bucket of the event's own (zone-less UTC) time.
 */
export function truth(records: readonly ProducedRecord[], catalog: Catalog, granularity: Granularity = "minute") {
  const counters: Totals = new Map();
  const rejected = new Map<string, number>();
  const bucketMs = GRANULARITY_SECONDS[granularity] * 1000;
  const add = (key: string, sum: number) => {
    const c = counters.get(key) ?? { count: 0, sum: 0 };
    c.count += 1;
    c.sum += sum;
    counters.set(key, c);
  };
  for (const r of records) {
    if (r.badBecause) {
      rejected.set(r.badBecause, (rejected.get(r.badBecause) ?? 0) + 1);
      continue;
    }
    const e = r.event!;
    const at = Date.parse(`${e[catalog.events.timeField] as string}Z`);
    const bucket = new Date(Math.floor(at / bucketMs) * bucketMs).toISOString();
    for (const [id, metric] of metricEntries(catalog)) {
      if (metric.event !== e[catalog.events.typeField]) continue;
      const sum = metric.sum === undefined ? 0 : (e[metric.sum] as number);
      add(truthKey(id, {}, bucket), sum);
      const dimensions = metric.dimensions ?? [];
      if (dimensions.length > 0) add(truthKey(id, Object.fromEntries(dimensions.map((d) => [d, e[d] as string])), bucket), sum);
    }
  }
  return { counters, rejected };
}

/** The table's counters in the same shape: catalog counters, rejects by reason, and the counted total. */
export async function scanCounters(dynamo: DynamoDBClient, table: string) {
  const counters: Totals = new Map();
  const rejected = new Map<string, number>();
  let counted = 0;
  for (const c of await readCounters(dynamo, table)) {
    if (c.metric === COUNTED_METRIC) counted += c.count;
    else if (c.metric === REJECTED_METRIC) {
      const reason = c.dimensions[REJECTED_DIMENSION];
      if (reason !== undefined) rejected.set(reason, (rejected.get(reason) ?? 0) + c.count);
    } else counters.set(truthKey(c.metric, c.dimensions, c.bucket), { count: c.count, sum: c.sum ?? 0 });
  }
  return { counters, rejected, counted };
}

export const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;

/** Differences between two counter maps, for a readable failure. */
export function counterDiff(want: Totals, got: Totals): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...want.keys(), ...got.keys()])) {
    const w = want.get(key);
    const g = got.get(key);
    if (!w || !g || w.count !== g.count || !near(w.sum, g.sum)) diffs.push(`${key}: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
  }
  return diffs;
}
