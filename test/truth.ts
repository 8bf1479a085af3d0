import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type Catalog,
  COUNTED_METRIC,
  DEFAULT_SUM_DECIMALS,
  formatUnits,
  GRANULARITY_SECONDS,
  type Granularity,
  metricEntries,
  MISSING_VALUE,
  OVERFLOW_METRIC,
  OVERFLOW_VALUE,
  REJECTED_DIMENSION,
  REJECTED_METRIC,
} from "../catalog";
import { readCounters } from "../local/books";
import type { ProducedRecord } from "../local/producer";

/** `metric|dim=value|...|bucket`, dimensions by name, for a readable diff. */
export const truthKey = (metric: string, dimensions: Readonly<Record<string, string>>, bucket: string): string =>
  [metric, ...Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`), bucket].join("|");

export type Totals = Map<string, { count: number; sum: number }>;

/**
 * Ground truth for any catalog, computed here from the produced events with none of the
 * analyzer's code: every metric counting the event's type gets its total and, when it has
 * dimensions, its split, in the bucket of the event's own (zone-less UTC) time. Sums are added
 * in whole units of the metric's decimal places, so they are exact. A value outside a
 * dimension's allowed list is counted under the overflow value, a missing one under the missing
 * value; capped dimensions must stay within their cap here, since which values come first
 * depends on delivery order.
 */
export function truth(records: readonly ProducedRecord[], catalog: Catalog, granularity: Granularity = "minute") {
  const units = new Map<string, { count: number; units: bigint; decimals: number }>();
  const rejected = new Map<string, number>();
  const bucketMs = GRANULARITY_SECONDS[granularity] * 1000;
  const add = (key: string, amount: number, decimals: number) => {
    const c = units.get(key) ?? { count: 0, units: 0n, decimals };
    c.count += 1;
    c.units += BigInt(Math.round(amount * 10 ** decimals));
    units.set(key, c);
  };
  const capped = new Map<string, Set<string>>();
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
      const decimals = metric.sumDecimals ?? DEFAULT_SUM_DECIMALS;
      const amount = metric.sum === undefined ? 0 : (e[metric.sum] as number);
      add(truthKey(id, {}, bucket), amount, decimals);
      const fields = Object.entries(metric.dimensions ?? {});
      if (fields.length === 0) continue;
      const values: Record<string, string> = {};
      for (const [field, def] of fields) {
        const raw = e[field];
        let value = raw === undefined || raw === null || raw === "" ? MISSING_VALUE : String(raw);
        if (def.values !== undefined && value !== MISSING_VALUE && !def.values.includes(value)) value = OVERFLOW_VALUE;
        if (def.maxValues !== undefined && value !== MISSING_VALUE) {
          const seen = capped.get(`${id}.${field}`) ?? new Set();
          seen.add(value);
          capped.set(`${id}.${field}`, seen);
          if (seen.size > def.maxValues) throw new Error(`truth: ${id}.${field} has more than ${def.maxValues} distinct values; which are kept depends on delivery order`);
        }
        if (value === OVERFLOW_VALUE) add(truthKey(OVERFLOW_METRIC, {}, bucket), 0, 0);
        values[field] = value;
      }
      add(truthKey(id, values, bucket), amount, decimals);
    }
  }
  const counters: Totals = new Map();
  for (const [key, c] of units) counters.set(key, { count: c.count, sum: Number(formatUnits(c.units, c.decimals)) });
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
    } else if (c.metric === OVERFLOW_METRIC && Object.keys(c.dimensions).length > 0) {
      // per-dimension overflow: the truth keeps only its total
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
    // Sums compare exactly: the same decimal reads back as the same number, float residue doesn't.
    if (!w || !g || w.count !== g.count || w.sum !== g.sum) diffs.push(`${key}: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
  }
  return diffs;
}
