/**
 * The whole pipeline on this machine: emulators on 127.0.0.1, the stream and the table with
 * the components' settings, the real analyzer and forwarder handlers driven by pollers that
 * behave like Lambda's event source mappings, CloudWatch captured into a local metric store,
 * alarms evaluated, and the deployed dashboard rendered with the local data.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand, type _Record as KinesisRecord } from "@aws-sdk/client-kinesis";
import type { Context, DynamoDBRecord, DynamoDBStreamHandler, KinesisStreamHandler, KinesisStreamRecord } from "aws-lambda";
import { parseConfig, type PipelineSettings, PROJECT } from "../components/config";
import { buildAlarms, buildDashboards, catalog, COUNTED_METRIC, type MetricDef, type PipelineNames, REJECTED_METRIC, sumMetricName } from "../dashboards";
import { COUNTER_TABLE } from "../functions/shared/table";
import { createCounterTable, createEventStream, dynamoDBStreamEvent, kinesisEvent, readTableStream, tableStreamShards, toDynamoDBLambdaRecord, toKinesisLambdaRecord } from "./aws";
import { alarmEmail, evaluateAlarm, type EvaluatedAlarm } from "./alarms";
import { captureAtBoundary, LOCAL_AWS, type LocalClients, localClients } from "./clients";
import { renderDashboardHtml } from "./dashboard";
import { type Emulator, startDynamoDBLocal, startKinesalite } from "./emulators";
import { deliverShard, newStats } from "./esm";
import { MetricStore } from "./metricStore";
import { stackConfig } from "./stackConfig";

export interface LocalRunOptions {
  /** JSON lines, one raw event per line, sent as-is. Absent: the synthetic producer. */
  readonly records: readonly Buffer[];
  readonly outDir: string;
  /** The stack whose config (batch sizes, retries, thresholds, ...) the run uses. @default "dev" */
  readonly stack?: string;
  /** Progress and notices; the run's own logging. */
  readonly say?: (line: string) => void;
  /** Show the functions' own JSON logs. @default false */
  readonly verbose?: boolean;
}

export interface Summary {
  readonly received: number;
  readonly counted: number;
  readonly rejected: { readonly total: number; readonly byReason: Record<string, number> };
  readonly deadLettered: number;
  readonly balanced: boolean;
  readonly metricsMatchCounters: boolean;
}

export class BooksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BooksError";
  }
}

const STREAM = "local-events";
const TABLE = "local-counters";
const NAMES: PipelineNames<string> = {
  analyzerFunction: "local-analyzer",
  forwarderFunction: "local-forwarder",
  analyzerDlq: "local-analyzer-dlq",
  forwarderDlq: "local-forwarder-dlq",
  table: TABLE,
  stream: STREAM,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stack's validated settings, and the region its alarm mail and widgets name, as deployed. */
function stackSettings(stack: string): { settings: PipelineSettings; region: string } {
  const config = stackConfig(stack);
  return { settings: parseConfig((key) => config[`${PROJECT}:${key}`], catalog), region: config["aws:region"] ?? LOCAL_AWS.region };
}

export async function runLocal(options: LocalRunOptions): Promise<Summary> {
  const say = options.say ?? (() => undefined);
  const stack = options.stack ?? "dev";
  const { settings, region } = stackSettings(stack);
  const emulators: Emulator[] = [];
  try {
    say("starting DynamoDB Local (Java) and kinesalite on 127.0.0.1 ...");
    const [dynamo, kinesis] = await Promise.all([startDynamoDBLocal(), startKinesalite()]);
    emulators.push(dynamo, kinesis);
    return await run(localClients({ dynamo: dynamo.endpoint, kinesis: kinesis.endpoint }), dynamo.endpoint, settings, { ...options, stack, say, region });
  } finally {
    await Promise.all(emulators.map((e) => e.stop()));
  }
}

async function run(clients: LocalClients, dynamoEndpoint: string, settings: PipelineSettings, options: LocalRunOptions & { stack: string; say: (line: string) => void; region: string }): Promise<Summary> {
  const { say, region } = options;
  const out = options.outDir;
  fs.mkdirSync(path.join(out, "quarantine"), { recursive: true });
  const store = new MetricStore();
  const sentDatums: unknown[] = [];
  const deadLetters: { queue: string; function: string; reason: string; batchSize: number; startSequenceNumber?: string; endSequenceNumber?: string }[] = [];
  const started = Date.now();

  // The stream and the table, with the components' settings.
  const shards = settings.stream.mode === "on-demand" ? 2 : settings.stream.shardCount;
  const stream = await createEventStream(clients.kinesis, STREAM, shards);
  const tableStreamArn = (await createCounterTable(clients.dynamo, TABLE))!;
  say(`stream ${STREAM} (${shards} shard${shards === 1 ? "" : "s"}) and table ${TABLE} (${COUNTER_TABLE.streamViewType} stream) created`);

  // The real handler modules, configured the way the components configure them.
  Object.assign(process.env, {
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_LAMBDA_LOG_LEVEL: options.verbose ? "DEBUG" : "ERROR",
    COUNTER_TABLE: TABLE,
    QUARANTINE_BUCKET: "local-quarantine",
    COUNTER_MODE: settings.counterMode,
    BUCKET: settings.bucket,
    COUNTER_TTL_DAYS: String(settings.counterTtlDays),
  });
  const analyzerModule = require("../functions/analyzer/handler") as { handler: KinesisStreamHandler; clients: { s3: never } };
  const forwarderModule = require("../functions/forwarder/handler") as { handler: DynamoDBStreamHandler; clients: { cloudwatch: never } };
  // Neither S3 nor CloudWatch is emulated: their calls are answered at the SDK boundary.
  captureAtBoundary<{ Key: string; Body: string }>(analyzerModule.clients.s3, (input) => {
    const file = path.join(out, "quarantine", input.Key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, input.Body);
    return {};
  });
  type PutInput = { Namespace: string; MetricData: { MetricName: string; Dimensions?: { Name: string; Value: string }[]; Timestamp: Date; Value: number; Unit?: string }[] };
  captureAtBoundary<PutInput>(forwarderModule.clients.cloudwatch, (input) => {
    for (const d of input.MetricData) {
      const dimensions = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
      sentDatums.push({ namespace: input.Namespace, metricName: d.MetricName, dimensions, timestamp: new Date(d.Timestamp).toISOString(), value: d.Value, unit: d.Unit });
      store.put({ namespace: input.Namespace, metricName: d.MetricName, dimensions, timestamp: new Date(d.Timestamp).getTime(), value: d.Value, unit: d.Unit });
    }
    return {};
  });
  const context = {} as Context;
  const lambdaMetric = (functionName: string, metricName: string, value: number) =>
    store.put({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: functionName }, timestamp: Date.now(), value });

  // Producer and pollers run together, as they would on AWS.
  let producing = true;
  let analyzersDone = false;
  const analyzerStats = newStats();
  const forwarderStats = newStats();
  const mappingFor = (m: PipelineSettings["analyzer"]["mapping"]) => ({ batchSize: m.batchSize, maximumRetryAttempts: m.maximumRetryAttempts, bisectBatchOnFunctionError: true });

  const invokeMeasured = async <T>(functionName: string, invoke: () => Promise<T>): Promise<T> => {
    lambdaMetric(functionName, "Invocations", 1);
    try {
      const result = await invoke();
      lambdaMetric(functionName, "Errors", 0);
      return result;
    } catch (error) {
      lambdaMetric(functionName, "Errors", 1);
      throw error;
    }
  };
  // What Lambda sends the on-failure destination: the batch's shard range, not its records.
  const deadLetter = <R>(role: string, queue: string, idOf: (r: R) => string) => (batch: R[], reason: string) => {
    deadLetters.push({ queue, function: role, reason, batchSize: batch.length, startSequenceNumber: idOf(batch[0]), endSequenceNumber: idOf(batch[batch.length - 1]) });
  };

  const pollKinesisShard = async (shardId: string) => {
    const m = settings.analyzer.mapping;
    let iterator = (await clients.kinesis.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
    for (;;) {
      const buffer: KinesisRecord[] = [];
      const windowEnds = Date.now() + m.batchingWindowSeconds * 1000;
      while (buffer.length < m.batchSize) {
        const page = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: m.batchSize - buffer.length }));
        iterator = page.NextShardIterator;
        buffer.push(...(page.Records ?? []));
        if ((page.Records ?? []).length > 0) continue;
        if (!producing || Date.now() >= windowEnds) break;
        await sleep(50);
      }
      if (buffer.length === 0) {
        if (!producing) return;
        continue;
      }
      const records = buffer.map((r) => toKinesisLambdaRecord(r, shardId, stream.arn));
      lambdaMetric(NAMES.analyzerFunction, "IteratorAge", Date.now() - records[records.length - 1].kinesis.approximateArrivalTimestamp * 1000);
      await deliverShard({
        records,
        idOf: (r) => r.kinesis.sequenceNumber,
        mapping: { ...mappingFor(m), batchSize: records.length },
        stats: analyzerStats,
        invoke: (batch) => invokeMeasured(NAMES.analyzerFunction, async () => (await analyzerModule.handler(kinesisEvent(batch), context, () => undefined)) ?? undefined),
        onFailure: deadLetter("analyzer", NAMES.analyzerDlq, (r: KinesisStreamRecord) => r.kinesis.sequenceNumber),
      });
    }
  };

  const pollTableStream = async () => {
    const m = settings.forwarder.mapping;
    const positions = new Map<string, string | undefined>();
    for (;;) {
      const finished = analyzersDone; // read before polling: anything written before this is in the stream
      let got = 0;
      for (const shardId of await tableStreamShards(clients.streams, tableStreamArn)) {
        const records = await readTableStream(clients.streams, tableStreamArn, shardId, positions.get(shardId));
        if (records.length === 0) continue;
        positions.set(shardId, records[records.length - 1].dynamodb?.SequenceNumber);
        got += records.length;
        for (let i = 0; i < records.length; i += m.batchSize) {
          const batch = records.slice(i, i + m.batchSize).map((r) => toDynamoDBLambdaRecord(r, tableStreamArn));
          const newest = Math.max(...batch.map((r) => (r.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000));
          lambdaMetric(NAMES.forwarderFunction, "IteratorAge", Math.max(0, Date.now() - newest));
          await deliverShard({
            records: batch,
            idOf: (r) => r.dynamodb?.SequenceNumber ?? "",
            mapping: { ...mappingFor(m), batchSize: batch.length },
            stats: forwarderStats,
            invoke: (b) => invokeMeasured(NAMES.forwarderFunction, async () => (await forwarderModule.handler(dynamoDBStreamEvent(b), context, () => undefined)) ?? undefined),
            onFailure: deadLetter("forwarder", NAMES.forwarderDlq, (r: DynamoDBRecord) => r.dynamodb?.SequenceNumber ?? ""),
          });
        }
      }
      if (got === 0) {
        if (finished) return;
        await sleep(Math.min(500, m.batchingWindowSeconds * 1000 || 50));
      }
    }
  };

  const analyzers = Promise.all(stream.shardIds.map(pollKinesisShard)).finally(() => {
    analyzersDone = true;
  });
  const forwarder = pollTableStream();

  // The producer: PutRecords in chunks of 500, retrying what the stream refuses.
  let put = 0;
  try {
    for (let i = 0; i < options.records.length; i += 500) {
      let pending = options.records.slice(i, i + 500).map((data, j) => ({ Data: data, PartitionKey: `pk-${i + j}` }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`the stream kept refusing ${pending.length} records`);
        const result = await clients.kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: pending }));
        const failed = pending.filter((_, k) => result.Records?.[k]?.ErrorCode);
        store.put({ namespace: "AWS/Kinesis", metricName: "IncomingRecords", dimensions: { StreamName: STREAM }, timestamp: Date.now(), value: pending.length - failed.length });
        store.put({ namespace: "AWS/Kinesis", metricName: "WriteProvisionedThroughputExceeded", dimensions: { StreamName: STREAM }, timestamp: Date.now(), value: failed.length });
        put += pending.length - failed.length;
        pending = failed;
        if (failed.length > 0) await sleep(100 * 2 ** attempt);
      }
      if ((i / 500) % 10 === 9 || i + 500 >= options.records.length) say(`put ${put.toLocaleString("en-US")} / ${options.records.length.toLocaleString("en-US")} records`);
    }
  } finally {
    producing = false;
  }
  await analyzers;
  say(`analyzer: ${analyzerStats.invocations} invocations, ${analyzerStats.partialFailures} partial-failure retries, ${analyzerStats.functionErrors} errors`);
  await forwarder;
  say(`forwarder: ${forwarderStats.invocations} invocations, ${sentDatums.length.toLocaleString("en-US")} datums sent to (captured) CloudWatch`);
  const finished = Date.now();
  for (const queue of [NAMES.analyzerDlq, NAMES.forwarderDlq]) {
    const depth = deadLetters.filter((l) => l.queue === queue).length;
    store.put({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queue }, timestamp: finished, value: depth });
  }

  // Counters, straight from the table.
  const items = [];
  let startKey: Record<string, never> | undefined;
  do {
    const page = await clients.dynamo.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey as typeof startKey;
  } while (startKey);
  const counters = items
    .map((item) => ({
      metric: item.metric.S ?? "",
      dimensions: Object.fromEntries(Object.entries(item.dims?.M ?? {}).map(([k, v]) => [k, v.S ?? ""])),
      bucket: item.bucket.S ?? "",
      count: Number(item.count.N),
      ...(item.sum ? { sum: Number(item.sum.N) } : {}),
    }))
    .sort((a, b) => a.metric.localeCompare(b.metric) || a.bucket.localeCompare(b.bucket) || JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)));
  const catalogCounters = counters.filter((c) => c.metric in catalog.metrics);
  const totalOf = (metric: string, dims: "none" | "some") =>
    counters.filter((c) => c.metric === metric && (dims === "none") === (Object.keys(c.dimensions).length === 0)).reduce((n, c) => n + c.count, 0);
  const byReason: Record<string, number> = {};
  for (const c of counters.filter((x) => x.metric === REJECTED_METRIC && x.dimensions.reason)) byReason[c.dimensions.reason] = (byReason[c.dimensions.reason] ?? 0) + c.count;
  const counted = totalOf(COUNTED_METRIC, "none");
  const rejected = totalOf(REJECTED_METRIC, "none");

  // Books: received = counted + rejected, and what CloudWatch got equals what the table holds.
  const booksProblems = put === counted + rejected ? [] : [`received ${put} ≠ counted ${counted} + rejected ${rejected}`];
  const metricProblems: string[] = [];
  // What CloudWatch got, summed once per (metric, bucket, dimensions); the forwarder sorts dimensions by name.
  const seriesKey = (metricName: string, bucket: string, dims: Record<string, string>) => `${metricName}\u0000${bucket}\u0000${JSON.stringify(dims)}`;
  const sent = new Map<string, number>();
  for (const d of store.datums) {
    if (d.namespace !== catalog.namespace) continue;
    const key = seriesKey(d.metricName, new Date(d.timestamp).toISOString(), d.dimensions);
    sent.set(key, (sent.get(key) ?? 0) + d.value);
  }
  const sentTotal = (metricName: string, dims: Record<string, string>, bucket: string) => sent.get(seriesKey(metricName, bucket, dims)) ?? 0;
  for (const c of counters) {
    const dims = Object.fromEntries(Object.entries(c.dimensions).sort(([a], [b]) => a.localeCompare(b)));
    const sentCount = sentTotal(c.metric, dims, c.bucket);
    if (sentCount !== c.count) metricProblems.push(`${c.metric} ${JSON.stringify(dims)} ${c.bucket}: metrics sum to ${sentCount}, the counter holds ${c.count}`);
    const metric = (catalog.metrics as Record<string, MetricDef>)[c.metric];
    if (c.sum !== undefined && metric) {
      const sentSum = sentTotal(sumMetricName(c.metric, metric), dims, c.bucket);
      if (Math.abs(sentSum - c.sum) > 1e-6 * Math.max(1, Math.abs(c.sum))) metricProblems.push(`${c.metric} ${JSON.stringify(dims)} ${c.bucket}: sum metrics add to ${sentSum}, the counter holds ${c.sum}`);
    }
  }

  // Alarms: the deployed definitions, evaluated on the local metrics.
  const alarmSpecs = buildAlarms({
    catalog,
    stack: options.stack,
    names: NAMES,
    thresholds: settings.alarmThresholds,
    bucket: settings.bucket,
    iteratorAgeMs: settings.iteratorAgeAlarmMs,
    rejectedThreshold: settings.rejectedRecordsAlarmThreshold,
  });
  const earliest = Math.min(started, ...store.datums.map((d) => d.timestamp));
  const alarms: EvaluatedAlarm[] = alarmSpecs.map((spec) => evaluateAlarm(spec, store, { from: earliest, to: finished }));
  const emails: string[] = [];
  alarms.forEach((alarm, i) => {
    for (const t of alarm.history.filter((h) => h.to === "ALARM")) emails.push(alarmEmail(alarmSpecs[i], t, region));
  });
  for (const email of emails) say(`\n--- email to ${settings.alarmEmails.join(", ") || "(no subscribers configured)"} ---\n${email}\n`);

  const dashboards = buildDashboards({ catalog, stack: options.stack, region, names: NAMES, alarms: alarmSpecs, bucket: settings.bucket });
  const summary: Summary = {
    received: put,
    counted,
    rejected: { total: rejected, byReason },
    deadLettered: analyzerStats.deadLettered + forwarderStats.deadLettered,
    balanced: booksProblems.length === 0,
    metricsMatchCounters: metricProblems.length === 0,
  };
  const write = (name: string, value: unknown) => fs.writeFileSync(path.join(out, name), `${JSON.stringify(value, null, 2)}\n`);
  write("summary.json", summary);
  write("counters.json", catalogCounters);
  write("metrics.json", sentDatums);
  write("alarms.json", alarms);
  fs.writeFileSync(path.join(out, "emails.txt"), emails.join("\n\n---\n\n"));
  if (deadLetters.length > 0) fs.writeFileSync(path.join(out, "dead-letters.jsonl"), `${deadLetters.map((l) => JSON.stringify(l)).join("\n")}\n`);
  fs.writeFileSync(
    path.join(out, "dashboard.html"),
    renderDashboardHtml({ dashboards, store, title: `${options.stack} · ${catalog.namespace} (local run)`, generatedAt: new Date(finished).toISOString() }),
  );
  const problems = [...booksProblems, ...metricProblems];
  if (problems.length > 0) throw new BooksError(`the books do not balance:\n  - ${problems.slice(0, 20).join("\n  - ")}${problems.length > 20 ? `\n  - ... and ${problems.length - 20} more` : ""}`);
  return summary;
}
