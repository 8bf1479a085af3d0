/**
 * One pipeline on this machine: emulators on 127.0.0.1, the stream and the table with the
 * components' settings, the real analyzer and forwarder handlers (built by their factories
 * with this run's clients) driven by pollers that behave like Lambda's event source mappings,
 * CloudWatch and S3 answered at the SDK boundary, alarms evaluated, and the deployed dashboards
 * rendered with the local data.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { S3Client } from "@aws-sdk/client-s3";
import { COUNTER_TABLE } from "../catalog/item";
import { analyzerRules, forwarderRules } from "../catalog/rules";
import { PIPELINE_METRICS } from "../catalog/schema";
import type { PipelineConfig } from "../config/stack";
import { type Monitoring, pipelineMonitoring } from "../dashboards";
import { createAnalyzerHandler } from "../functions/analyzer/process";
import { createForwarderHandler } from "../functions/forwarder/process";
import { jsonLogger, type Logger } from "../functions/shared/log";
import { createCounterTable, createEventStream } from "./aws";
import { BooksError, keepBooks, readCounters } from "./books";
import { capturedCloudWatch, capturedS3, type LocalClients, localClients } from "./clients";
import { type Emulator, startDynamoDBLocal, startKinesalite } from "./emulators";
import { newStats } from "./esm";
import { MetricStore } from "./metricStore";
import { type DeadLetter, pollKinesisShard, pollTableStream } from "./pollers";
import { evaluateAlarms, type Summary, writeReport } from "./report";

export { BooksError };

export interface LocalRunOptions {
  /** The raw records to put on the stream, one per event, as-is. */
  readonly records: readonly Buffer[];
  readonly outDir: string;
  readonly stack: string;
  /** The pipeline to run, with its catalog and the stack's settings. */
  readonly pipeline: PipelineConfig;
  /** The region the stack deploys to: its alarm mail and dashboards name it. */
  readonly region: string;
  /** Progress and notices; the run's own logging. */
  readonly say?: (line: string) => void;
  /** Show the functions' own JSON logs. @default false */
  readonly verbose?: boolean;
}

/** The local resources' names: like the deployed ones, each starts with the pipeline's name. */
function localNames(pipeline: string) {
  return {
    stream: `${pipeline}-events`,
    table: `${pipeline}-counters`,
    quarantine: `${pipeline}-quarantine`,
    analyzer: { functionName: `${pipeline}-analyzer`, dlqName: `${pipeline}-analyzer-dlq` },
    forwarder: { functionName: `${pipeline}-forwarder`, dlqName: `${pipeline}-forwarder-dlq` },
  };
}

export async function runLocal(options: LocalRunOptions): Promise<Summary> {
  const say = options.say ?? (() => undefined);
  const emulators: Emulator[] = [];
  try {
    say("starting DynamoDB Local (Java) and kinesalite on 127.0.0.1 ...");
    const [dynamo, kinesis] = await Promise.all([startDynamoDBLocal(), startKinesalite()]);
    emulators.push(dynamo, kinesis);
    return await run(localClients({ dynamo: dynamo.endpoint, kinesis: kinesis.endpoint }), { ...options, say });
  } finally {
    await Promise.all(emulators.map((e) => e.stop()));
  }
}

/** S3 answered at the SDK boundary: each quarantine object becomes a file under `dir`. */
function quarantineFiles(dir: string): S3Client {
  return capturedS3((key, body) => {
    const file = path.join(dir, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
  }).client;
}

/** CloudWatch answered at the SDK boundary: each datum goes to the metric store. */
function capturedMetrics(store: MetricStore): CloudWatchClient {
  return capturedCloudWatch((input) => {
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
  }).client;
}

/** The producer: PutRecords in chunks of 500, retrying what the stream refuses. Returns how many the stream took. */
async function putAll(clients: LocalClients, streamName: string, records: readonly Buffer[], store: MetricStore, say: (line: string) => void): Promise<number> {
  let put = 0;
  for (let i = 0; i < records.length; i += 500) {
    let pending = records.slice(i, i + 500).map((data, j) => ({ Data: data, PartitionKey: `pk-${i + j}` }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`the stream kept refusing ${pending.length} records`);
      const result = await clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
      const failed = pending.filter((_, k) => result.Records?.[k]?.ErrorCode);
      store.put({ namespace: "AWS/Kinesis", metricName: "IncomingRecords", dimensions: { StreamName: streamName }, timestamp: Date.now(), value: pending.length - failed.length });
      store.put({ namespace: "AWS/Kinesis", metricName: "WriteProvisionedThroughputExceeded", dimensions: { StreamName: streamName }, timestamp: Date.now(), value: failed.length });
      put += pending.length - failed.length;
      pending = failed;
      if (failed.length > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
    if ((i / 500) % 10 === 9 || i + 500 >= records.length) say(`put ${put.toLocaleString("en-US")} / ${records.length.toLocaleString("en-US")} records`);
  }
  return put;
}

async function run(clients: LocalClients, options: LocalRunOptions & { say: (line: string) => void }): Promise<Summary> {
  const { say, pipeline, outDir } = options;
  const { name, catalog, settings } = pipeline;
  const names = localNames(name);
  const started = Date.now();
  const store = new MetricStore();
  const deadLetters: DeadLetter[] = [];
  const logFor = (service: string): Logger => jsonLogger(service, { level: options.verbose ? "DEBUG" : "ERROR" });

  // The stream and the table, with the components' settings.
  const shards = settings.stream.mode === "on-demand" ? 2 : settings.stream.shardCount;
  const stream = await createEventStream(clients.kinesis, names.stream, shards);
  const tableStreamArn = (await createCounterTable(clients.dynamo, names.table))!;
  say(`pipeline ${name}: stream ${names.stream} (${shards} shard${shards === 1 ? "" : "s"}) and table ${names.table} (${COUNTER_TABLE.streamViewType} stream) created`);

  // The real handlers, built by their factories with this run's clients, as handler.ts builds them on AWS.
  fs.mkdirSync(path.join(outDir, "quarantine"), { recursive: true });
  const analyzer = {
    role: "analyzer",
    ...names.analyzer,
    mapping: settings.analyzer.mapping,
    stats: newStats(),
    handler: createAnalyzerHandler({
      rules: analyzerRules({ catalog, granularity: settings.granularity }),
      dynamo: clients.dynamo,
      s3: quarantineFiles(path.join(outDir, "quarantine")),
      settings: { tableName: names.table, quarantineBucket: names.quarantine, mode: settings.counterMode, ttlDays: settings.counterTtlDays },
      log: logFor("analyzer"),
    }),
  };
  const forwarder = {
    role: "forwarder",
    ...names.forwarder,
    mapping: settings.forwarder.mapping,
    stats: newStats(),
    handler: createForwarderHandler({ rules: forwarderRules(catalog), cloudwatch: capturedMetrics(store), log: logFor("forwarder") }),
  };

  // Producer and pollers run together, as they would on AWS.
  let producing = true;
  let analyzersDone = false;
  const analyzers = Promise.all(
    stream.shardIds.map((shardId) =>
      pollKinesisShard({ kinesis: clients.kinesis, stream: { name: names.stream, arn: stream.arn }, shardId, fn: analyzer, store, deadLetters, producing: () => producing }),
    ),
  ).finally(() => {
    analyzersDone = true;
  });
  const forwarding = pollTableStream({ streams: clients.streams, streamArn: tableStreamArn, fn: forwarder, store, deadLetters, upstreamDone: () => analyzersDone });
  let received: number;
  try {
    received = await putAll(clients, names.stream, options.records, store, say);
  } finally {
    producing = false;
  }
  await analyzers;
  say(`analyzer: ${analyzer.stats.invocations} invocations, ${analyzer.stats.partialFailures} partial-failure retries, ${analyzer.stats.functionErrors} errors`);
  await forwarding;
  // Only the forwarder writes the catalog's namespace; the pollers record AWS/* health metrics.
  const sent = store.datums.filter((d) => d.namespace === catalog.namespace);
  say(`forwarder: ${forwarder.stats.invocations} invocations, ${sent.length.toLocaleString("en-US")} datums sent to (captured) CloudWatch`);
  const finished = Date.now();
  for (const fn of [analyzer, forwarder]) {
    const depth = deadLetters.filter((l) => l.queue === fn.dlqName).length;
    store.put({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: fn.dlqName }, timestamp: finished, value: depth });
  }

  // Books from the table's own counters; alarms and dashboards as deployed, on the local metrics.
  const counters = await readCounters(clients.dynamo, names.table);
  const books = keepBooks({ catalog, received, counters, datums: store.datums });
  const monitoring: Monitoring<string> = pipelineMonitoring({
    stack: options.stack,
    pipeline: name,
    catalog,
    granularity: settings.granularity,
    region: options.region,
    resources: { stream: names.stream, table: names.table, functions: [analyzer, forwarder] },
    thresholds: settings.alarmThresholds,
    iteratorAgeMs: settings.iteratorAgeAlarmMs,
    rejectedThreshold: settings.rejectedRecordsAlarmThreshold,
  });
  const { alarms, emails } = evaluateAlarms({ monitoring, store, from: started, to: finished, region: options.region });
  for (const email of emails) say(`\n--- email to ${settings.alarmEmails.join(", ") || "(no subscribers configured)"} ---\n${email}\n`);
  const summary: Summary = {
    pipeline: name,
    received,
    counted: books.counted,
    rejected: books.rejected,
    deadLettered: analyzer.stats.deadLettered + forwarder.stats.deadLettered,
    balanced: books.booksProblems.length === 0,
    metricsMatchCounters: books.metricProblems.length === 0,
  };
  writeReport({
    outDir,
    title: `${options.stack} · ${name} · ${catalog.namespace} (local run)`,
    finishedAt: finished,
    summary,
    counters: counters.filter((c) => !PIPELINE_METRICS.includes(c.metric)),
    sentDatums: sent.map((d) => ({ ...d, timestamp: new Date(d.timestamp).toISOString() })),
    alarms,
    emails,
    deadLetters,
    monitoring,
    store,
  });
  const problems = [...books.booksProblems, ...books.metricProblems];
  if (problems.length > 0) throw new BooksError(`the books do not balance:\n  - ${problems.slice(0, 20).join("\n  - ")}${problems.length > 20 ? `\n  - ... and ${problems.length - 20} more` : ""}`);
  return summary;
}
