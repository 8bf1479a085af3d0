import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  ListMetricsCommand,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ScheduledHandler } from "aws-lambda";
import type { Counter } from "../../catalog/item";
import { queryCounters } from "../shared/queryCounters";
import { chunkDatums, type Datum } from "../forwarder/deltas";
import { type Logger, withFields } from "../shared/log";
import {
  type Correction,
  queriesPerCall,
  RECONCILER_METRICS,
  reconcile,
  type ReconcilerRules,
  reconcileWindow,
  type SeriesKey,
  type SeriesObservation,
  seriesDimensions,
  seriesPartitionKey,
  type Window,
} from "./reconcile";
import type { ReconcilerSettings } from "./settings";

export interface ReconcilerDeps {
  readonly rules: ReconcilerRules;
  readonly dynamo: DynamoDBClient;
  readonly cloudwatch: CloudWatchClient;
  readonly settings: ReconcilerSettings;
  readonly log: Logger;
  /** The clock that decides which buckets are closed and settled. @default Date.now */
  readonly now?: () => number;
}

/** The reconciler's Lambda handler over its dependencies, for a schedule; every log entry carries the request id. */
export function createReconcilerHandler(deps: ReconcilerDeps): ScheduledHandler {
  return async (_event, context) => {
    await reconcileOnce({ ...deps, log: withFields(deps.log, { requestId: context.awsRequestId }) });
  };
}

/** Requests one run sent, per API (what it is billed for, with `metricsRequested` and `readCapacityUnits`). */
export interface RequestCounts {
  ListMetrics: number;
  Query: number;
  GetMetricData: number;
  PutMetricData: number;
}

export interface ReconcileReport {
  readonly window: { readonly from: string; readonly to: string; readonly buckets: number };
  /** Series read on both sides. */
  readonly series: number;
  readonly compared: number;
  /** Series-buckets corrected. */
  readonly corrected: number;
  readonly datums: number;
  readonly unsettled: number;
  readonly orphaned: number;
  readonly uncorrectable: number;
  /** Series skipped because GetMetricData did not return all of their datapoints. */
  readonly incomplete: number;
  readonly requests: RequestCounts;
  /** Metrics requested from GetMetricData, over all calls (what it bills). */
  readonly metricsRequested: number;
  /** Read capacity the queries consumed, as DynamoDB reported it. */
  readonly readCapacityUnits: number;
  /** The first corrections, for the log. */
  readonly sample: readonly Correction[];
}

/** Queries in flight at once: enough to hide latency, few enough not to spike an on-demand table. */
const QUERY_CONCURRENCY = 8;
const LOGGED_CORRECTIONS = 10;

/**
 * One reconciliation: reads every series' counters and CloudWatch's Sum over the closed, settled
 * buckets of the lookback, then sends `counter − cloudwatch` where they differ. Everything is
 * read before anything is sent, so a failed read corrects nothing; a failed send throws, and the
 * next run computes again from what CloudWatch then holds.
 */
export async function reconcileOnce(deps: ReconcilerDeps): Promise<ReconcileReport> {
  const { rules, settings } = deps;
  const nowMs = (deps.now ?? Date.now)();
  const window = reconcileWindow({ nowMs, bucketSeconds: rules.bucketSeconds, lookbackHours: settings.lookbackHours, settleMinutes: settings.settleMinutes });
  const requests: RequestCounts = { ListMetrics: 0, Query: 0, GetMetricData: 0, PutMetricData: 0 };
  const read = { metricsRequested: 0, readCapacityUnits: 0 };
  try {
    return await run(deps, nowMs, window, requests, read);
  } catch (error) {
    deps.log("ERROR", "reconcile failed", { error: String(error), window: { from: new Date(window.fromMs).toISOString(), buckets: window.buckets }, requests, ...read });
    throw error;
  }
}

async function run(
  deps: ReconcilerDeps,
  nowMs: number,
  window: Window,
  requests: RequestCounts,
  read: { metricsRequested: number; readCapacityUnits: number },
): Promise<ReconcileReport> {
  const { rules, log } = deps;

  let observations: SeriesObservation[] = [];
  let incomplete = 0;
  if (window.buckets > 0) {
    const series = await discoverSeries(deps, requests);
    const counters = await readCounters(deps, series, window, requests, read);
    const cloudwatch = await readCloudWatch(deps, series, window, requests, read);
    observations = series.flatMap((s, i) => {
      const cw = cloudwatch[i];
      if (cw === undefined) {
        incomplete += 1;
        return [];
      }
      return [{ series: s, counters: counters[i], cloudwatch: cw }];
    });
  }
  const result = reconcile(observations, window);

  // One record per series-bucket (its datums are adjacent), so its count and sum go in one call.
  const records: { sequenceNumber: string; datums: Datum[]; anomalies: [] }[] = [];
  for (const d of result.datums) {
    const last = records[records.length - 1];
    const head = last?.datums[0];
    if (head !== undefined && head.Timestamp.getTime() === d.Timestamp.getTime() && head.Dimensions === d.Dimensions) last.datums.push(d);
    else records.push({ sequenceNumber: String(records.length), datums: [d], anomalies: [] });
  }
  for (const chunk of chunkDatums(records)) {
    requests.PutMetricData += 1;
    await deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: rules.namespace, MetricData: chunk.datums }));
  }
  const Timestamp = new Date(nowMs);
  requests.PutMetricData += 1;
  await deps.cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: rules.namespace,
      MetricData: [
        { MetricName: RECONCILER_METRICS.corrections, Value: result.corrected, Unit: "Count", Timestamp },
        { MetricName: RECONCILER_METRICS.unsettled, Value: result.unsettled, Unit: "Count", Timestamp },
      ],
    }),
  );

  const report: ReconcileReport = {
    window: { from: new Date(window.fromMs).toISOString(), to: new Date(window.toMs + window.bucketMs).toISOString(), buckets: window.buckets },
    series: observations.length,
    compared: result.compared,
    corrected: result.corrected,
    datums: result.datums.length,
    unsettled: result.unsettled,
    orphaned: result.orphaned,
    uncorrectable: result.uncorrectable,
    incomplete,
    requests,
    metricsRequested: read.metricsRequested,
    readCapacityUnits: read.readCapacityUnits,
    sample: result.corrections.slice(0, LOGGED_CORRECTIONS),
  };
  log(result.orphaned + result.uncorrectable + incomplete > 0 ? "WARN" : "INFO", "reconcile done", { ...report });
  return report;
}

/**
 * Every series to check: each rule's total, and each dimensioned rule's value sets CloudWatch
 * lists. DynamoDB can't list a partition's keys without a Scan, so a dimensioned series CloudWatch
 * never got a datum of (its every increment dead-lettered) is the dead-letter replay's to fix.
 */
async function discoverSeries(deps: ReconcilerDeps, requests: RequestCounts): Promise<SeriesKey[]> {
  const found = new Map<string, SeriesKey>();
  const add = (s: SeriesKey) => found.set(seriesPartitionKey(s), s);
  for (const rule of deps.rules.series) {
    if (rule.dimensions.length === 0) {
      add({ rule, values: [] });
      continue;
    }
    let NextToken: string | undefined;
    do {
      requests.ListMetrics += 1;
      const page = await deps.cloudwatch.send(
        new ListMetricsCommand({
          Namespace: deps.rules.namespace,
          MetricName: rule.names.count,
          Dimensions: rule.dimensions.map((Name) => ({ Name })),
          // "PT3H" is the only value ListMetrics takes: metrics that got a datapoint in the last 3 hours.
          RecentlyActive: deps.settings.lookbackHours <= 3 ? "PT3H" : undefined,
          NextToken,
        }),
      );
      for (const metric of page.Metrics ?? []) {
        const dims = new Map((metric.Dimensions ?? []).map((d) => [d.Name ?? "", d.Value ?? ""]));
        // The filter matches metrics with at least these dimensions; a series has exactly them.
        if (dims.size !== rule.dimensions.length || !rule.dimensions.every((n) => dims.has(n))) continue;
        add({ rule, values: rule.dimensions.map((n) => dims.get(n)!) });
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return [...found.values()];
}

/** Each series' counters in the window, by bucket start: one Query per series key, consistent. */
async function readCounters(
  deps: ReconcilerDeps,
  series: readonly SeriesKey[],
  window: Window,
  requests: RequestCounts,
  read: { readCapacityUnits: number },
): Promise<Map<number, Counter>[]> {
  const out: Map<number, Counter>[] = new Array(series.length);
  let next = 0;
  const worker = async () => {
    while (next < series.length) {
      const i = next++;
      const found = await queryCounters(deps.dynamo, { tableName: deps.settings.tableName, partitionKey: seriesPartitionKey(series[i]), fromMs: window.fromMs, lastMs: window.toMs });
      requests.Query += found.pages;
      read.readCapacityUnits += found.readCapacityUnits;
      const counters = new Map<number, Counter>();
      for (const counter of found.counters) {
        const bucketMs = Date.parse(counter.bucket);
        if (counter.metric === series[i].rule.metric && !Number.isNaN(bucketMs)) counters.set(bucketMs, counter);
      }
      out[i] = counters;
    }
  };
  await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, series.length) }, worker));
  return out;
}

/**
 * CloudWatch's Sum per bucket of each series' count (and sum) metric, or undefined for a series
 * whose datapoints did not all come back: comparing against part of a series would "correct" it wrongly.
 */
async function readCloudWatch(
  deps: ReconcilerDeps,
  series: readonly SeriesKey[],
  window: Window,
  requests: RequestCounts,
  read: { metricsRequested: number },
): Promise<(SeriesObservation["cloudwatch"] | undefined)[]> {
  const { rules } = deps;
  const queries = series.flatMap((s, i) => {
    const Dimensions = seriesDimensions(s);
    const metric = (MetricName: string) => ({ series: i, MetricName, Dimensions });
    return s.rule.names.sum === undefined ? [metric(s.rule.names.count)] : [metric(s.rule.names.count), metric(s.rule.names.sum)];
  });
  const values = queries.map(() => new Map<number, number>());
  // A query's status is its last page's, except that an error on any page spoils it for good.
  const status = queries.map((): "pending" | "complete" | "partial" | "failed" => "pending");
  const perCall = queriesPerCall(window.buckets);
  for (let start = 0; start < queries.length; start += perCall) {
    const batch = queries.slice(start, start + perCall);
    const input: GetMetricDataCommandInput = {
      MetricDataQueries: batch.map((q, j) => ({
        Id: `m${start + j}`,
        MetricStat: { Metric: { Namespace: rules.namespace, MetricName: q.MetricName, Dimensions: q.Dimensions }, Period: rules.bucketSeconds, Stat: "Sum" },
        ReturnData: true,
      })),
      // Aligned to buckets, so each datapoint is exactly one bucket.
      StartTime: new Date(window.fromMs),
      EndTime: new Date(window.toMs + window.bucketMs),
      ScanBy: "TimestampAscending",
    };
    let NextToken: string | undefined;
    do {
      requests.GetMetricData += 1;
      read.metricsRequested += batch.length;
      const page = await deps.cloudwatch.send(new GetMetricDataCommand({ ...input, NextToken }));
      for (const result of page.MetricDataResults ?? []) {
        const at = Number((result.Id ?? "").slice(1));
        if (!(at >= start && at < start + batch.length)) continue;
        const timestamps = result.Timestamps ?? [];
        const got = values[at];
        (result.Values ?? []).forEach((value, k) => {
          const bucketMs = Math.floor(new Date(timestamps[k]).getTime() / window.bucketMs) * window.bucketMs;
          got.set(bucketMs, (got.get(bucketMs) ?? 0) + value);
        });
        if (status[at] === "failed") continue;
        status[at] = result.StatusCode === "Complete" ? "complete" : result.StatusCode === "PartialData" ? "partial" : "failed";
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return series.map((_, i) => {
    const own = queries.flatMap((q, k) => (q.series === i ? [k] : []));
    if (own.some((k) => status[k] !== "complete")) {
      deps.log("WARN", "series skipped: CloudWatch did not return all its datapoints", { metric: series[i].rule.metric, dimensions: seriesDimensions(series[i]) });
      return undefined;
    }
    const count = values[own[0]];
    const sum = own.length > 1 ? values[own[1]] : undefined;
    return sum === undefined ? { count } : { count, sum };
  });
}
