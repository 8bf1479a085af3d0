import {
  CloudWatchClient,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type ListMetricsCommandInput,
  type ListMetricsCommandOutput,
  type MetricDataResult,
  type PutMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { MetricStore, Stat } from "./metricStore";

/** Emulators accept any credentials; these keep the SDK from looking for real ones. */
export const LOCAL_AWS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;

export interface LocalClients {
  readonly dynamo: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly kinesis: KinesisClient;
}

export function localClients(endpoints: { dynamo: string; kinesis: string }): LocalClients {
  return { ...dynamoClients(endpoints.dynamo), kinesis: kinesisClient(endpoints.kinesis) };
}

/**
 * Without the SDK's logger middleware. These clients log nothing, yet the middleware copies every
 * request and response through the operation's sensitive-data filter for the no-op logger's
 * sake: a GetRecords page of 10,000 records walked and copied once more, a tenth of the main
 * thread's CPU in a large local run.
 */
function unlogged<C extends { middlewareStack: { remove: (name: string) => boolean } }>(client: C): C {
  client.middlewareStack.remove("loggerMiddleware");
  return client;
}

/** The Kinesis client alone: the stream can be used before DynamoDB Local is up. */
export function kinesisClient(endpoint: string): KinesisClient {
  // kinesalite speaks HTTP/1.1 only; the Kinesis client defaults to HTTP/2.
  return unlogged(new KinesisClient({ ...LOCAL_AWS, endpoint, requestHandler: new NodeHttpHandler() }));
}

export function dynamoClients(endpoint: string): Omit<LocalClients, "kinesis"> {
  return {
    dynamo: unlogged(new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 4 })),
    streams: unlogged(new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint })),
  };
}

/** A request the capture saw, with the command's input as the SDK would have sent it. */
export interface Captured<I> {
  readonly at: number;
  readonly input: I;
}

/**
 * Answers a client's calls at the SDK boundary instead of sending them: the command, its
 * input and the client's own validation all run; only the network call is replaced.
 */
export function captureAtBoundary<I>(client: { middlewareStack: { add: (m: never, o: never) => void } }, respond: (input: I, commandName: string) => unknown): void {
  const middleware = (_next: unknown, context: { commandName?: string }) => async (args: { input: I }) => ({
    output: { $metadata: { httpStatusCode: 200 }, ...(respond(args.input, context.commandName ?? "") as object) },
    response: {},
  });
  const add = client.middlewareStack.add.bind(client.middlewareStack) as (m: unknown, o: unknown) => void;
  add(middleware, { step: "initialize", name: "captureAtBoundary", override: true });
}

/** An error shaped like the service's refusal, so a call the capture can't answer never passes. */
const refusal = (name: string, message: string): Error => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

/**
 * A CloudWatch client whose PutMetricData calls are recorded (and handed to `onPut`) instead of
 * sent; with a `store`, the metric reads are answered from it (see `answerMetricReads`). Any
 * other call is refused.
 */
export function capturedCloudWatch(
  onPut?: (input: PutMetricDataCommandInput) => void,
  options: { store?: MetricStore } = {},
): { client: CloudWatchClient; calls: Captured<PutMetricDataCommandInput>[] } {
  const client = new CloudWatchClient({ ...LOCAL_AWS });
  const calls: Captured<PutMetricDataCommandInput>[] = [];
  captureAtBoundary<unknown>(client, (input, commandName) => {
    if (commandName === "PutMetricDataCommand") {
      calls.push({ at: Date.now(), input: input as PutMetricDataCommandInput });
      onPut?.(input as PutMetricDataCommandInput);
      return {};
    }
    if (options.store !== undefined) return answerMetricReads(options.store, commandName, input);
    throw refusal("UnknownOperationException", `the captured CloudWatch answers PutMetricData only, not ${commandName}`);
  });
  return { client, calls };
}

/** Keeps every datum of a PutMetricData call in the store, as CloudWatch keeps what it accepted. */
export function storeDatums(store: MetricStore, input: PutMetricDataCommandInput): void {
  for (const d of input.MetricData ?? []) {
    store.put({
      namespace: input.Namespace ?? "",
      metricName: d.MetricName ?? "",
      dimensions: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])),
      timestamp: new Date(d.Timestamp ?? 0).getTime(),
      value: d.Value ?? 0,
      unit: d.Unit,
    });
  }
}

/** CloudWatch over a metric store at the SDK boundary: what is put is kept, and reads are answered from it. */
export function storeCloudWatch(store: MetricStore): { client: CloudWatchClient; calls: Captured<PutMetricDataCommandInput>[] } {
  return capturedCloudWatch((input) => storeDatums(store, input), { store });
}

const STATS: readonly string[] = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"] satisfies Stat[];
const LIST_METRICS_PAGE = 500;

/**
 * GetMetricData (MetricStat queries: one statistic per period, from StartTime inclusive to EndTime
 * exclusive, newest first unless ScanBy says otherwise, paged at MaxDatapoints) and ListMetrics
 * (500 per page), answered from the store as CloudWatch answers from what it was sent. The store
 * lives for one run, far less than ListMetrics' RecentlyActive window of 3 hours, so every metric
 * in it is recently active. Anything else (math expressions, other operations) is refused.
 */
export function answerMetricReads(store: MetricStore, commandName: string, input: unknown): object {
  if (commandName === "ListMetricsCommand") {
    const i = input as ListMetricsCommandInput;
    const all = store.metrics({
      namespace: i.Namespace ?? "",
      metricName: i.MetricName,
      dimensions: (i.Dimensions ?? []).map((d) => ({ name: d.Name ?? "", value: d.Value })),
    });
    const from = Number(i.NextToken ?? 0);
    const page = all.slice(from, from + LIST_METRICS_PAGE);
    const output: Omit<ListMetricsCommandOutput, "$metadata"> = {
      Metrics: page.map((m) => ({ Namespace: i.Namespace, MetricName: m.metricName, Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value })) })),
      NextToken: from + LIST_METRICS_PAGE < all.length ? String(from + LIST_METRICS_PAGE) : undefined,
    };
    return output;
  }
  if (commandName !== "GetMetricDataCommand") throw refusal("UnknownOperationException", `the local CloudWatch answers PutMetricData, GetMetricData and ListMetrics, not ${commandName}`);
  const i = input as GetMetricDataCommandInput;
  const queries = i.MetricDataQueries ?? [];
  if (queries.length === 0 || queries.length > 500) throw refusal("InvalidParameterValueException", `MetricDataQueries must hold 1 to 500 queries, not ${queries.length}`);
  const start = new Date(i.StartTime ?? 0).getTime();
  const end = new Date(i.EndTime ?? 0).getTime();
  const ascending = i.ScanBy === "TimestampAscending";
  const points = queries.map((q) => {
    const stat = q.MetricStat;
    if (stat?.Metric === undefined || q.Expression !== undefined) throw refusal("InvalidParameterValueException", `query ${q.Id}: the local store answers MetricStat queries only`);
    if (!STATS.includes(stat.Stat ?? "")) throw refusal("InvalidParameterValueException", `query ${q.Id}: statistic ${stat.Stat} is not one the local store computes`);
    const series = store.series({
      namespace: stat.Metric.Namespace ?? "",
      metricName: stat.Metric.MetricName ?? "",
      dimensions: Object.fromEntries((stat.Metric.Dimensions ?? []).map((d) => [d.Name ?? "", d.Value ?? ""])),
      stat: stat.Stat as Stat,
      period: stat.Period ?? 60,
    });
    const inRange = [...series.points].filter(([t]) => t >= start && t < end);
    return ascending ? inRange : inRange.reverse();
  });
  // Pages hold at most MaxDatapoints points, query after query; the token is how many were returned.
  const max = i.MaxDatapoints ?? 100_800;
  const skip = Number(i.NextToken ?? 0);
  let seen = 0;
  let taken = 0;
  const results: MetricDataResult[] = queries.map((q, k) => {
    const from = Math.max(0, skip - seen);
    const take = points[k].slice(from, from + Math.max(0, max - taken));
    seen += points[k].length;
    taken += take.length;
    return {
      Id: q.Id,
      Label: q.Label ?? q.MetricStat?.Metric?.MetricName,
      Timestamps: take.map(([t]) => new Date(t)),
      Values: take.map(([, v]) => v),
      StatusCode: from + take.length < points[k].length ? "PartialData" : "Complete",
    };
  });
  const output: Omit<GetMetricDataCommandOutput, "$metadata"> = { MetricDataResults: results, Messages: [], NextToken: skip + taken < seen ? String(skip + taken) : undefined };
  return output;
}

/** An S3 client whose PutObject calls are kept by key (and handed to `onPut`) instead of sent. */
export function capturedS3(onPut?: (key: string, body: string) => void): { client: S3Client; objects: Map<string, string> } {
  const client = new S3Client({ ...LOCAL_AWS });
  const objects = new Map<string, string>();
  captureAtBoundary<{ Key?: string; Body?: unknown }>(client, (input) => {
    objects.set(String(input.Key), String(input.Body));
    onPut?.(String(input.Key), String(input.Body));
    return { ETag: '"local"' };
  });
  return { client, objects };
}
