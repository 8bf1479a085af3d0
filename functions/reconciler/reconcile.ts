/**
 * The reconciler's pure logic: which series and buckets it checks, and the datums that make
 * CloudWatch's Sum per series and bucket equal to the counter table's.
 */
import { type Counter, counterKey } from "../../catalog/item";
import type { AnalyzerRules, CounterRule, ForwarderRules, MetricSeries } from "../../catalog/rules";
import type { Datum } from "../forwarder/deltas";

import { RECONCILER_METRICS } from "../../catalog/schema";

export { RECONCILER_METRICS };

/**
 * CloudWatch keeps datapoints as doubles and adds the forwarder's increments in binary, so a
 * decimal sum comes back with rounding residue. A difference within this fraction of the value
 * is that residue, never a missing or doubled increment (amounts have at most a dozen decimals).
 */
export const SUM_TOLERANCE = 1e-9;

// CloudWatch refuses values outside this range, and the whole call with them.
const MAX_VALUE = 1.174271e108;
const MIN_MAGNITUDE = 8.51592e-109;

/** GetMetricData's limits per call. */
export const GET_METRIC_DATA = { maxQueries: 500, maxDatapoints: 100_800 } as const;

/** One family of series: a counter rule of the analyzer with the CloudWatch names the forwarder gives it. */
export interface SeriesRule {
  readonly metric: string;
  /** Dimension names in the counter key's order. */
  readonly dimensions: readonly string[];
  readonly names: MetricSeries;
}

export interface ReconcilerRules {
  readonly namespace: string;
  readonly bucketSeconds: number;
  readonly series: readonly SeriesRule[];
}

const isCounterRule = (value: unknown): value is CounterRule =>
  typeof value === "object" && value !== null && typeof (value as CounterRule).metric === "string" && Array.isArray((value as CounterRule).dimensions);

/**
 * Every counter the analyzer keeps (each catalog metric's total and split, and the pipeline's
 * own counters, whichever it adds), named as the forwarder names it in CloudWatch.
 */
export function reconcilerRules(analyzer: AnalyzerRules, forwarder: ForwarderRules): ReconcilerRules {
  const own = new Set<string>(Object.values(RECONCILER_METRICS));
  for (const [metric, names] of Object.entries(forwarder.metrics)) {
    for (const name of [names.count, names.sum]) {
      if (name !== undefined && own.has(name)) throw new Error(`metric "${metric}": CloudWatch name "${name}" is the reconciler's own; rename the metric`);
    }
  }
  const counterRules = [...Object.values(analyzer.byEvent).flat(), ...Object.values(analyzer).filter(isCounterRule)];
  const series = new Map<string, SeriesRule>();
  for (const rule of counterRules) {
    const id = `${rule.metric}\u0000${rule.dimensions.join("\u0000")}`;
    if (series.has(id)) continue;
    const names = forwarder.metrics[rule.metric];
    if (names === undefined) throw new Error(`the analyzer counts "${rule.metric}", which the forwarder has no CloudWatch name for`);
    series.set(id, { metric: rule.metric, dimensions: [...rule.dimensions], names });
  }
  return { namespace: forwarder.namespace, bucketSeconds: analyzer.bucketSeconds, series: [...series.values()] };
}

/** The buckets one run checks: closed, settled, and inside the lookback. */
export interface Window {
  /** The first bucket's start, epoch ms. */
  readonly fromMs: number;
  /** The last bucket's start, epoch ms (inclusive); below `fromMs` when there is none. */
  readonly toMs: number;
  readonly bucketMs: number;
  /** Counters the analyzer changed at or after this instant are left for a later run. */
  readonly settledBeforeMs: number;
  readonly buckets: number;
}

export function reconcileWindow(o: { nowMs: number; bucketSeconds: number; lookbackHours: number; settleMinutes: number }): Window {
  const bucketMs = o.bucketSeconds * 1000;
  const settledBeforeMs = o.nowMs - o.settleMinutes * 60_000;
  const fromMs = Math.ceil((o.nowMs - o.lookbackHours * 3_600_000) / bucketMs) * bucketMs;
  // The last bucket that ended by settledBeforeMs.
  const toMs = Math.floor(settledBeforeMs / bucketMs) * bucketMs - bucketMs;
  return { fromMs, toMs, bucketMs, settledBeforeMs, buckets: Math.max(0, (toMs - fromMs) / bucketMs + 1) };
}

/** One series: a rule and its dimension values (parallel to the rule's dimension names). */
export interface SeriesKey {
  readonly rule: SeriesRule;
  readonly values: readonly string[];
}

/** The series' counter partition key, as the analyzer writes it. */
export const seriesPartitionKey = (s: SeriesKey): string => counterKey(s.rule.metric, s.rule.dimensions, s.values);

/** The series' dimensions as the forwarder sends them: sorted by name. */
export function seriesDimensions(s: SeriesKey): { Name: string; Value: string }[] {
  return s.rule.dimensions.map((Name, i) => ({ Name, Value: s.values[i] })).sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** What one series looks like on both sides, per bucket start (epoch ms). */
export interface SeriesObservation {
  readonly series: SeriesKey;
  readonly counters: ReadonlyMap<number, Counter>;
  /** CloudWatch's Sum of the count series, and of the sum series when the metric has one. */
  readonly cloudwatch: { readonly count: ReadonlyMap<number, number>; readonly sum?: ReadonlyMap<number, number> };
}

export interface Correction {
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly bucket: string;
  readonly counter: number;
  readonly cloudwatch: number;
}

export interface Reconciliation {
  /** The correcting datums, `counter − cloudwatch`, timestamped at the bucket start. */
  readonly datums: Datum[];
  readonly corrections: Correction[];
  /** Series-buckets compared (closed, settled, with a counter). */
  readonly compared: number;
  /** Series-buckets with at least one correcting datum. */
  readonly corrected: number;
  /** Counters left alone because the analyzer changed them too recently. */
  readonly unsettled: number;
  /**
   * Buckets where CloudWatch has data and the table has no counter. Only the forwarder writes
   * these series, and only from counters; an item within the lookback has not expired (its TTL
   * is days), so this means a key the reconciler derived differently, and it corrects nothing
   * it cannot read.
   */
  readonly orphaned: number;
  /** Differences CloudWatch could not take as a datum (a value outside its range). */
  readonly uncorrectable: number;
}

/** Whether two sums are equal up to CloudWatch's binary rounding. */
export function sumsAgree(counter: number, cloudwatch: number, tolerance = SUM_TOLERANCE): boolean {
  return counter === cloudwatch || Math.abs(counter - cloudwatch) <= tolerance * Math.max(Math.abs(counter), Math.abs(cloudwatch));
}

const sendable = (value: number): boolean => Number.isFinite(value) && Math.abs(value) <= MAX_VALUE && Math.abs(value) >= MIN_MAGNITUDE;

/**
 * The datums that bring CloudWatch's Sum to the counters, for every bucket of the window where
 * the two differ. A bucket outside the window, a counter changed since `settledBeforeMs` and a
 * bucket the table has no counter for are left untouched.
 */
export function reconcile(observations: readonly SeriesObservation[], window: Window, options: { sumTolerance?: number } = {}): Reconciliation {
  const datums: Datum[] = [];
  const corrections: Correction[] = [];
  let compared = 0;
  let corrected = 0;
  let unsettled = 0;
  let orphaned = 0;
  let uncorrectable = 0;
  for (const o of observations) {
    const { names } = o.series.rule;
    const Dimensions = seriesDimensions(o.series);
    const dimensions = Object.fromEntries(Dimensions.map((d) => [d.Name, d.Value]));
    const buckets = new Set<number>([...o.counters.keys(), ...o.cloudwatch.count.keys(), ...(o.cloudwatch.sum?.keys() ?? [])]);
    for (const bucketMs of [...buckets].sort((a, b) => a - b)) {
      if (bucketMs < window.fromMs || bucketMs > window.toMs) continue;
      const counter = o.counters.get(bucketMs);
      if (counter === undefined) {
        if ((o.cloudwatch.count.get(bucketMs) ?? 0) !== 0 || (o.cloudwatch.sum?.get(bucketMs) ?? 0) !== 0) orphaned += 1;
        continue;
      }
      // `at` is kept in whole seconds, rounded down: the change may have been up to a second later.
      if (counter.updatedAtMs !== undefined && counter.updatedAtMs + 1000 > window.settledBeforeMs) {
        unsettled += 1;
        continue;
      }
      compared += 1;
      const Timestamp = new Date(bucketMs);
      const bucket = Timestamp.toISOString();
      const before = datums.length;
      const correct = (MetricName: string, Unit: Datum["Unit"], want: number, have: number) => {
        const Value = want - have;
        if (!sendable(Value)) {
          uncorrectable += 1;
          return;
        }
        datums.push({ MetricName, Dimensions, Timestamp, Value, Unit });
        corrections.push({ metricName: MetricName, dimensions, bucket, counter: want, cloudwatch: have });
      };
      const count = o.cloudwatch.count.get(bucketMs) ?? 0;
      if (counter.count !== count) correct(names.count, "Count", counter.count, count);
      if (names.sum !== undefined) {
        const sum = o.cloudwatch.sum?.get(bucketMs) ?? 0;
        if (!sumsAgree(counter.sum ?? 0, sum, options.sumTolerance)) correct(names.sum, names.sumUnit, counter.sum ?? 0, sum);
      }
      if (datums.length > before) corrected += 1;
    }
  }
  return { datums, corrections, compared, corrected, unsettled, orphaned, uncorrectable };
}

/**
 * Queries per GetMetricData call: as many as fit in one page of datapoints (every bucket of
 * every query), so no call needs a second page, which would bill its metrics again.
 */
export function queriesPerCall(buckets: number): number {
  return Math.max(1, Math.min(GET_METRIC_DATA.maxQueries, Math.floor(GET_METRIC_DATA.maxDatapoints / Math.max(1, buckets))));
}
