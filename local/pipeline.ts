/**
 * One pipeline on this machine: emulators on 127.0.0.1, the stream and the table with the
 * components' settings, the real analyzer and forwarder handlers (built by their factories
 * with this run's clients) driven by pollers that behave like Lambda's event source mappings,
 * the reconciler run once after them, CloudWatch and S3 answered at the SDK boundary, alarms
 * evaluated, and the deployed dashboards rendered with the local data.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand, PutRecordsCommand, type _Record as KinesisRecord } from "@aws-sdk/client-kinesis";
import type { S3Client } from "@aws-sdk/client-s3";
import { COUNTER_TABLE } from "../catalog/item";
import { describeSeries, seriesEstimate } from "../catalog/limits";
import { analyzerRules, forwarderRules } from "../catalog/rules";
import { GRANULARITY_SECONDS, PIPELINE_METRICS } from "../catalog/schema";
import type { PipelineConfig } from "../config/stack";
import { type Monitoring, pipelineMonitoring } from "../dashboards";
import { stateLedger } from "../functions/analyzer/ledger";
import { createAnalyzerHandler } from "../functions/analyzer/process";
import { registryGate } from "../functions/analyzer/registry";
import { type ReplayDeps, type ReplayReport, replayDeadLetter } from "../functions/analyzer/replay";
import { stateMarks } from "../functions/forwarder/marks";
import { createForwarderHandler } from "../functions/forwarder/process";
import { reconcileOnce } from "../functions/reconciler/process";
import { reconcilerRules, reconcileWindow } from "../functions/reconciler/reconcile";
import { jsonLogger, type Logger } from "../functions/shared/log";
import { archiveColumns } from "../catalog/archive";
import { createArchiverHandler } from "../functions/archiver/process";
import { PROCESSOR_BUFFER_MB } from "../functions/archiver/settings";
import { ARCHIVE_DIR, writeDelivery, writeErrors } from "./archive";
import { createCounterTable, createEventStream, createStateTable, firehoseEvent, lambdaContext, readShard, toBatchRecord } from "./aws";
import type { RunState } from "./progress";
import { describeReplay, readRange } from "./replay";
import { BooksError, keepBooks, readCounters } from "./books";
import { capturedS3, dynamoClients, kinesisClient, type LocalClients, storeCloudWatch } from "./clients";
import { type Emulator, startDynamoDBLocal, startKinesalite } from "./emulators";
import { newStats } from "./esm";
import { MetricStore } from "./metricStore";
import { type DeadLetter, pollKinesisShard, pollTableStream } from "./pollers";
import { evaluateAlarms, type Summary, writeReport } from "./report";
import { type LocalLiveApp, serveLiveApp } from "./liveApp";

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
  /**
   * Where the emulators keep their data and the pollers their checkpoints, so a run that was
   * interrupted can be resumed. @default in memory, not resumable
   */
  readonly state?: RunState;
  /** Resume the interrupted run `state` holds: the stream, tables and checkpoints are already there. */
  readonly resume?: boolean;
  /**
   * Records per analyzer invocation at most, in place of the stack's `analyzerBatchSize` (Lambda
   * takes up to 10,000 from a Kinesis mapping). @default the stack's, as deployed
   */
  readonly analyzerBatchSize?: number;
  /** When the run's records started to flow and DynamoDB Local was ready, epoch ms, as they happen. */
  readonly onMilestone?: (milestone: "first-put" | "dynamodb-ready", atMs: number) => void;
  /**
   * Emulators already starting (startEmulators), keeping their data where `state` says; the run
   * stops them when it ends. @default started by the run
   */
  readonly emulators?: LocalEmulators;
  /** Serve the live app on 127.0.0.1 while the run goes (and, with `serve`, after it). */
  readonly live?: LiveRunOptions;
}

export interface LiveRunOptions {
  /** @default 0, any free port */
  readonly port?: number;
  /** When `port` is taken, serve on any free port instead of failing. @default false */
  readonly anyPortIfTaken?: boolean;
  /** Called once the app is served, with where it is and where more events can be put. */
  readonly onServing?: (at: LiveAddresses) => void;
  /**
   * After the books, keep the pipeline running (analyzer, forwarder, publisher, from where they
   * are) and the app served until the promise this returns settles. @default stop with the run
   */
  readonly serve?: (summary: Summary, at: LiveAddresses) => Promise<void>;
}

/** Where a served run is: the page, and the emulators more events can be put through. */
export interface LiveAddresses {
  readonly url: string;
  readonly kinesisEndpoint: string;
  readonly streamName: string;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
}

/** The local resources' names: like the deployed ones, each starts with the pipeline's name. */
function localNames(pipeline: string) {
  return {
    stream: `${pipeline}-events`,
    table: `${pipeline}-counters`,
    quarantine: `${pipeline}-quarantine`,
    archive: `${pipeline}-archive`,
    analyzer: { functionName: `${pipeline}-analyzer`, dlqName: `${pipeline}-analyzer-dlq` },
    forwarder: { functionName: `${pipeline}-forwarder`, dlqName: `${pipeline}-forwarder-dlq` },
    reconciler: { functionName: `${pipeline}-reconciler` },
  };
}

/** The run's two emulators, starting side by side; each promise settles when that one is ready. */
export interface LocalEmulators {
  readonly kinesis: Promise<Emulator>;
  readonly dynamo: Promise<Emulator>;
  /** Stops both, also one still starting. */
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local (a JVM, seconds) and kinesalite (on a thread, well under a second) at
 * once, keeping their data under `dataDir` when given. Nothing waits on the other: the stream
 * can be used while the JVM is still starting.
 */
export function startEmulators(o: { dataDir?: string; say?: (line: string) => void; onDynamoReady?: (atMs: number) => void } = {}): LocalEmulators {
  o.say?.("starting DynamoDB Local (Java) and kinesalite on 127.0.0.1 ...");
  const data = (sub: string) => (o.dataDir === undefined ? undefined : path.join(o.dataDir, sub));
  const dynamo = startDynamoDBLocal({ dataDir: data("dynamodb") }).then((d) => {
    o.onDynamoReady?.(Date.now());
    return d;
  });
  const kinesis = startKinesalite({ dataDir: data("kinesis") });
  // Awaited by the run; until then a failed start (no Java, say) must not count as unhandled.
  dynamo.catch(() => undefined);
  kinesis.catch(() => undefined);
  return {
    dynamo,
    kinesis,
    stop: async () => {
      await Promise.all([dynamo, kinesis].map((e) => e.then((started) => started.stop(), () => undefined)));
    },
  };
}

export async function runLocal(options: LocalRunOptions): Promise<Summary> {
  const say = options.say ?? (() => undefined);
  // DynamoDB Local takes seconds to start; the stream needs only kinesalite, so the producer puts
  // from the moment the stream exists and the pollers start once the tables do, as producers on
  // AWS put to a stream whatever its consumers are doing.
  const emulators =
    options.emulators ??
    startEmulators({ dataDir: options.state?.dir, say, onDynamoReady: (at) => options.onMilestone?.("dynamodb-ready", at) });
  const closers: (() => Promise<void>)[] = [];
  try {
    // Awaited by run() once the stream is there; a failed start meanwhile must not count as unhandled.
    const dynamoEndpoint = emulators.dynamo.then((d) => d.endpoint);
    dynamoEndpoint.catch(() => undefined);
    const kinesis = await emulators.kinesis;
    return await run(kinesis.endpoint, dynamoEndpoint, { ...options, say }, closers);
  } finally {
    // However the run ended, the live app is closed and both emulators are stopped, also the JVM when it was still starting.
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    await emulators.stop();
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

/** CloudWatch answered at the SDK boundary: each datum goes to the metric store, and metric reads are answered from it. */
function capturedMetrics(store: MetricStore): CloudWatchClient {
  return storeCloudWatch(store).client;
}

/**
 * The producer: PutRecords in chunks of 500, retrying what the stream refuses, each record with
 * the partition key `pk-<index>`. Records whose index is in `already` (put before an interruption)
 * are not put again. Returns how many records the stream holds.
 */
async function putAll(o: {
  kinesis: KinesisClient;
  streamName: string;
  records: readonly Buffer[];
  store: MetricStore;
  say: (line: string) => void;
  already: ReadonlySet<number>;
  /** True when the run has failed and nothing more should be put. */
  abandoned: () => boolean;
  onFirstPut: () => void;
}): Promise<number> {
  const { records, streamName, store, already } = o;
  let put = already.size;
  for (let i = 0; i < records.length && !o.abandoned(); i += 500) {
    let pending = records
      .slice(i, i + 500)
      .map((data, j) => ({ Data: data, PartitionKey: `pk-${i + j}` }))
      .filter((_, j) => !already.has(i + j));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`the stream kept refusing ${pending.length} records`);
      const result = await o.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
      const failed = pending.filter((_, k) => result.Records?.[k]?.ErrorCode);
      store.put({ namespace: "AWS/Kinesis", metricName: "IncomingRecords", dimensions: { StreamName: streamName }, timestamp: Date.now(), value: pending.length - failed.length });
      store.put({ namespace: "AWS/Kinesis", metricName: "WriteProvisionedThroughputExceeded", dimensions: { StreamName: streamName }, timestamp: Date.now(), value: failed.length });
      if (put === already.size && failed.length < pending.length) o.onFirstPut();
      put += pending.length - failed.length;
      pending = failed;
      if (failed.length > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
    if ((i / 500) % 10 === 9 || i + 500 >= records.length) o.say(`put ${put.toLocaleString("en-US")} / ${records.length.toLocaleString("en-US")} records`);
  }
  return put;
}

async function run(
  kinesisEndpoint: string,
  dynamoEndpoint: Promise<string>,
  options: LocalRunOptions & { say: (line: string) => void },
  closers: (() => Promise<void>)[],
): Promise<Summary> {
  const { say, pipeline, outDir } = options;
  const { name, catalog, settings } = pipeline;
  const names = localNames(name);
  const state = options.state;
  const started = state?.checkpoints.startedAt ?? Date.now();
  const store = state?.metricStore() ?? new MetricStore();
  const deadLetters: DeadLetter[] = state?.checkpoints.deadLetters ?? [];
  const logFor = (service: string): Logger => jsonLogger(service, { level: options.verbose ? "DEBUG" : "ERROR" });

  // The stream, with the component's settings, and the producer on it at once.
  const kinesis = kinesisClient(kinesisEndpoint);
  const shards = settings.stream.mode === "on-demand" ? 2 : settings.stream.shardCount;
  const stream = options.resume ? await existingStream(kinesis, names.stream) : await createEventStream(kinesis, names.stream, shards);
  let producing = true;
  let abandoned = false;
  const producer = (async () => {
    try {
      const already = options.resume ? await recordsOnStream(kinesis, names.stream, stream.shardIds) : new Set<number>();
      if (options.resume) say(`resuming: ${already.size.toLocaleString("en-US")} of ${options.records.length.toLocaleString("en-US")} records were on the stream already`);
      return await putAll({ kinesis, streamName: names.stream, records: options.records, store, say, already, abandoned: () => abandoned, onFirstPut: () => options.onMilestone?.("first-put", Date.now()) });
    } finally {
      producing = false;
    }
  })();
  // Awaited below; a failure while the run waits for DynamoDB Local must not count as unhandled.
  producer.catch(() => undefined);
  let clients: LocalClients;
  let tableStreamArn: string;
  const stateTable = `${name}-state`;
  let dynamoAt: string;
  try {
    dynamoAt = await dynamoEndpoint;
    clients = { ...dynamoClients(dynamoAt), kinesis };
    // The tables, with the components' settings.
    tableStreamArn = options.resume
      ? await existingTableStream(clients.dynamo, names.table)
      : (await Promise.all([createCounterTable(clients.dynamo, names.table), createStateTable(clients.dynamo, stateTable)]))[0]!;
  } catch (error) {
    abandoned = true;
    await producer.catch(() => undefined);
    throw error;
  }
  say(describeSeries(name, seriesEstimate(catalog)));
  say(
    `pipeline ${name}: stream ${names.stream} (${stream.shardIds.length} shard${stream.shardIds.length === 1 ? "" : "s"}) and table ${names.table} (${COUNTER_TABLE.streamViewType} stream) ${options.resume ? "found, resuming from the last checkpoints" : "created"}`,
  );

  // The real handlers, built by their factories with this run's clients, as handler.ts builds them on AWS.
  fs.mkdirSync(path.join(outDir, "quarantine"), { recursive: true });
  const analyzerDeps = {
    rules: analyzerRules({ catalog, granularity: settings.granularity }),
    dynamo: clients.dynamo,
    s3: quarantineFiles(path.join(outDir, "quarantine")),
    settings: { tableName: names.table, quarantineBucket: names.quarantine, mode: settings.counterMode, ttlDays: settings.counterTtlDays, stateTable },
    log: logFor("analyzer"),
    gate: registryGate({ client: clients.dynamo, tableName: stateTable }),
    ledger: stateLedger({ client: clients.dynamo, tableName: stateTable }),
  };
  const analyzerMapping = { ...settings.analyzer.mapping, batchSize: options.analyzerBatchSize ?? settings.analyzer.mapping.batchSize };
  if (analyzerMapping.batchSize !== settings.analyzer.mapping.batchSize) {
    say(
      `analyzer: batches of up to ${analyzerMapping.batchSize.toLocaleString("en-US")} records; stack ${options.stack} deploys ${settings.analyzer.mapping.batchSize.toLocaleString("en-US")} ` +
        `(--batch-size ${settings.analyzer.mapping.batchSize} runs it so)`,
    );
  }
  const analyzer = {
    role: "analyzer",
    ...names.analyzer,
    mapping: analyzerMapping,
    stats: newStats(),
    handler: createAnalyzerHandler(analyzerDeps),
  };
  const forwarder = {
    role: "forwarder",
    ...names.forwarder,
    mapping: settings.forwarder.mapping,
    stats: newStats(),
    handler: createForwarderHandler({
      rules: forwarderRules(catalog),
      cloudwatch: capturedMetrics(store),
      log: logFor("forwarder"),
      marks: stateMarks({ client: clients.dynamo, tableName: stateTable }),
    }),
  };

  // The live app, served while the events flow: the page, the snapshot function and the publisher.
  let live: LocalLiveApp | undefined;
  let liveAt: LiveAddresses | undefined;
  if (options.live !== undefined) {
    live = await serveLiveApp({ pipeline, stack: options.stack, dynamo: clients.dynamo, tableName: names.table, stateTable, store, startedAt: started, port: options.live.port, anyPortIfTaken: options.live.anyPortIfTaken, say, log: logFor });
    const server = live.server;
    closers.push(() => server.close());
    liveAt = { url: server.url, kinesisEndpoint, streamName: names.stream, dynamoEndpoint: dynamoAt, tableName: names.table };
    say(`live app: ${server.url} (the counters as they change; no sign-in on 127.0.0.1)`);
    options.live.onServing?.(liveAt);
  }
  // Where each poller is, so a served run goes on from there after the books.
  const positions = {
    analyzer: { ...state?.checkpoints.analyzer } as Record<string, string>,
    forwarder: { ...state?.checkpoints.forwarder } as Record<string, string>,
    publisher: {} as Record<string, string>,
  };

  // Producer and pollers run together, as they would on AWS: one poller per shard, each
  // handing its shard's batches to the analyzer one at a time, the shards side by side.
  let analyzersDone = false;
  const analyzers = Promise.all(
    stream.shardIds.map((shardId) =>
      pollKinesisShard({
        kinesis: clients.kinesis,
        stream: { name: names.stream, arn: stream.arn },
        shardId,
        fn: analyzer,
        store,
        deadLetters,
        producing: () => producing,
        after: state?.checkpoints.analyzer[shardId],
        onCheckpoint: (seq) => {
          positions.analyzer[shardId] = seq;
          state?.checkpoint("analyzer", shardId, seq);
        },
      }),
    ),
  );
  const forwarding = pollTableStream({
    streams: clients.streams,
    streamArn: tableStreamArn,
    fn: forwarder,
    store,
    deadLetters,
    upstreamDone: () => analyzersDone,
    after: state?.checkpoints.forwarder,
    onCheckpoint: (shardId, seq) => {
      positions.forwarder[shardId] = seq;
      state?.checkpoint("forwarder", shardId, seq);
    },
  });
  // The table stream's second reader: the forwarder and the publisher are the two DynamoDB Streams allows per shard.
  const publishing =
    live === undefined
      ? Promise.resolve()
      : pollTableStream({
          streams: clients.streams,
          streamArn: tableStreamArn,
          fn: live.publisher,
          store,
          deadLetters,
          upstreamDone: () => analyzersDone,
          onCheckpoint: (shardId, seq) => (positions.publisher[shardId] = seq),
        });
  const archiving = archiveStream({
    clients,
    pipeline,
    streamName: names.stream,
    shardIds: stream.shardIds,
    streamArn: stream.arn,
    deliveryStream: names.archive,
    stateTable,
    dir: path.join(outDir, ARCHIVE_DIR),
    store,
    log: logFor("archiver"),
    say,
    producing: () => producing,
  });
  // Each is awaited in its turn; one failing while the run awaits another must not count as
  // unhandled (the run then fails with the first error it awaits, and the emulators are stopped).
  for (const started of [analyzers, forwarding, publishing, archiving]) started.catch(() => undefined);
  let received: number;
  try {
    received = await producer;
    await analyzers;
  } catch (error) {
    abandoned = true;
    analyzersDone = true;
    throw error;
  }
  say(`analyzer: ${analyzer.stats.invocations} invocations, ${analyzer.stats.partialFailures} partial-failure retries, ${analyzer.stats.functionErrors} errors`);
  // Dead letters are replayed as an operator would with `npm run replay`, by the same code, while
  // the stream still holds their records; the forwarder then sends what they add.
  const replays = await replayAll(clients, names.stream, deadLetters.filter((l) => l.queue === names.analyzer.dlqName), analyzerDeps, say);
  analyzersDone = true;
  await forwarding;
  await publishing;
  if (live !== undefined) say(`publisher: ${live.publisher.stats.invocations} invocations, ${live.server.delivered().toLocaleString("en-US")} events delivered to the page`);
  // Only the forwarder writes the catalog's namespace; the pollers record AWS/* health metrics.
  const sent = store.datums.filter((d) => d.namespace === catalog.namespace);
  say(`forwarder: ${forwarder.stats.invocations} invocations, ${sent.length.toLocaleString("en-US")} datums sent to (captured) CloudWatch`);
  await reconcileAfterRun({ clients, pipeline, table: names.table, functionName: names.reconciler.functionName, store, log: logFor("reconciler"), say });
  await archiving;
  const finished = Date.now();
  for (const fn of [analyzer, forwarder]) {
    const depth = deadLetters.filter((l) => l.queue === fn.dlqName).length;
    store.put({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: fn.dlqName }, timestamp: finished, value: depth });
  }

  // Books from the table's own counters; alarms and dashboards as deployed, on the local metrics.
  const counters = await readCounters(clients.dynamo, names.table);
  const books = keepBooks({ catalog, received, counters, datums: store.datums });
  const unreplayed = deadLetters.filter((l) => l.queue === names.forwarder.dlqName).length + replays.filter((r) => r.failed > 0 || (r.trimmed ?? 0) > 0).length;
  if (unreplayed > 0) books.booksProblems.push(`${unreplayed} dead letter(s) could not be replayed in full; see dead-letters.jsonl`);
  const monitoring: Monitoring<string> = pipelineMonitoring({
    stack: options.stack,
    pipeline: name,
    catalog,
    granularity: settings.granularity,
    region: options.region,
    resources: {
      stream: names.stream,
      table: names.table,
      functions: [analyzer, forwarder],
      reconciler: names.reconciler,
      archive: { deliveryStreamName: names.archive, archiverFunctionName: `${names.archive}-archiver`, bufferSeconds: settings.archive.bufferSeconds },
    },
    reconcileEveryMinutes: settings.reconcile.everyMinutes,
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
    replayed: replays.filter((r) => r.failed === 0).reduce((n, r) => n + r.recovered, 0),
    balanced: books.booksProblems.length === 0,
    metricsMatchCounters: books.metricProblems.length === 0,
  };
  writeReport({
    outDir,
    title: `${options.stack} · ${name} · ${catalog.namespace} (local run)`,
    finishedAt: finished,
    summary,
    counters: counters.filter((c) => !PIPELINE_METRICS.includes(c.metric)),
    pipelineCounters: counters.filter((c) => PIPELINE_METRICS.includes(c.metric)),
    // What the forwarder sent and the reconciler's corrections and own metrics after it.
    sentDatums: store.datums.filter((d) => d.namespace === catalog.namespace).map((d) => ({ ...d, timestamp: new Date(d.timestamp).toISOString() })),
    alarms,
    emails,
    deadLetters,
    monitoring,
    store,
  });
  const problems = [...books.booksProblems, ...books.metricProblems];
  if (problems.length > 0) throw new BooksError(`the books do not balance:\n  - ${problems.slice(0, 20).join("\n  - ")}${problems.length > 20 ? `\n  - ... and ${problems.length - 20} more` : ""}`);
  if (live !== undefined && liveAt !== undefined && options.live?.serve !== undefined) {
    await keepServing({ clients, stream: { name: names.stream, arn: stream.arn, shardIds: stream.shardIds }, tableStreamArn, analyzer, forwarder, publisher: live.publisher, store, positions, until: options.live.serve(summary, liveAt) });
  }
  return summary;
}

/**
 * After the books, the pipeline goes on as deployed: every poller from where it stopped, taking
 * whatever is put on the stream, until `until` settles; then each finishes what it has.
 */
async function keepServing(o: {
  clients: LocalClients;
  stream: { name: string; arn: string; shardIds: readonly string[] };
  tableStreamArn: string;
  analyzer: Parameters<typeof pollKinesisShard>[0]["fn"];
  forwarder: Parameters<typeof pollTableStream>[0]["fn"];
  publisher: Parameters<typeof pollTableStream>[0]["fn"];
  store: MetricStore;
  positions: { analyzer: Record<string, string>; forwarder: Record<string, string>; publisher: Record<string, string> };
  until: Promise<void>;
}): Promise<void> {
  let stopping = false;
  const deadLetters: DeadLetter[] = [];
  const pollers = [
    ...o.stream.shardIds.map((shardId) =>
      pollKinesisShard({
        kinesis: o.clients.kinesis,
        stream: { name: o.stream.name, arn: o.stream.arn },
        shardId,
        fn: o.analyzer,
        store: o.store,
        deadLetters,
        producing: () => !stopping,
        after: o.positions.analyzer[shardId],
        onCheckpoint: (seq) => (o.positions.analyzer[shardId] = seq),
      }),
    ),
    ...(["forwarder", "publisher"] as const).map((role) =>
      pollTableStream({
        streams: o.clients.streams,
        streamArn: o.tableStreamArn,
        fn: o[role],
        store: o.store,
        deadLetters,
        upstreamDone: () => stopping,
        after: o.positions[role],
        onCheckpoint: (shardId, seq) => (o.positions[role][shardId] = seq),
      }),
    ),
  ];
  for (const p of pollers) p.catch(() => undefined);
  try {
    await Promise.race([o.until, ...pollers.map((p) => p.then(() => Promise.reject(new Error("a poller stopped while the app was served"))))]);
  } finally {
    stopping = true;
    await Promise.allSettled(pollers);
  }
}

/** The stream an interrupted run created. */
async function existingStream(kinesis: KinesisClient, streamName: string): Promise<{ arn: string; shardIds: string[] }> {
  const described = await kinesis.send(new DescribeStreamCommand({ StreamName: streamName }));
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  return { arn: described.StreamDescription?.StreamARN ?? "", shardIds: (shards.Shards ?? []).map((x) => x.ShardId ?? "") };
}

/** The counter table's stream, of the table an interrupted run created. */
async function existingTableStream(dynamo: DynamoDBClient, table: string): Promise<string> {
  const tableStreamArn = (await dynamo.send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn;
  if (tableStreamArn === undefined) throw new Error(`table ${table} has no stream; the interrupted run's state is incomplete`);
  return tableStreamArn;
}

/** Which records (by the producer's `pk-<index>` partition keys) the stream already holds. */
async function recordsOnStream(kinesis: KinesisClient, streamName: string, shardIds: readonly string[]): Promise<Set<number>> {
  const indexes = new Set<number>();
  for (const shardId of shardIds) {
    for (const r of await readShard(kinesis, streamName, shardId)) indexes.add(Number((r.PartitionKey ?? "").slice(3)));
  }
  return indexes;
}

/** Each of the analyzer's dead letters replayed from the stream, exactly once, with a line each. */
async function replayAll(clients: LocalClients, streamName: string, letters: readonly DeadLetter[], deps: ReplayDeps, say: (line: string) => void): Promise<ReplayReport[]> {
  const reports: ReplayReport[] = [];
  for (const letter of letters) {
    if (letter.shardId === undefined || letter.startSequenceNumber === undefined || letter.endSequenceNumber === undefined) continue;
    // A local poller hands a batch to the function before it gives up on it: it always ran.
    const range = { shardId: letter.shardId, startSequenceNumber: letter.startSequenceNumber, endSequenceNumber: letter.endSequenceNumber, batchSize: letter.batchSize, invocations: 1 };
    const records = await readRange(clients.kinesis, streamName, range);
    const report = await replayDeadLetter(range, records, deps);
    say(describeReplay(report));
    reports.push(report);
  }
  return reports;
}

/**
 * The reconciler, once, as its schedule runs it, with this run's clients. Settling waits for
 * increments still on their way and for CloudWatch to show what it was sent; once the forwarder
 * has drained, nothing is on its way and the capture shows a datum at once, so there is nothing
 * to wait for, and the clock is set where the run's last bucket has closed and its last counter
 * change is past: every bucket of the run counts. The lookback is the stack's: a bucket older than
 * it is left as the deployed reconciler would leave it.
 */
async function reconcileAfterRun(o: {
  clients: LocalClients;
  pipeline: PipelineConfig;
  table: string;
  functionName: string;
  store: MetricStore;
  log: Logger;
  say: (line: string) => void;
}): Promise<void> {
  const { catalog, settings } = o.pipeline;
  const bucketSeconds = GRANULARITY_SECONDS[settings.granularity];
  const counters = await readCounters(o.clients.dynamo, o.table);
  let now = Date.now();
  for (const c of counters) now = Math.max(now, Date.parse(c.bucket) + bucketSeconds * 1000, (c.updatedAtMs ?? 0) + 1000);
  const lambda = (metricName: string, value: number) => o.store.put({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: o.functionName }, timestamp: Date.now(), value });
  lambda("Invocations", 1);
  try {
    const report = await reconcileOnce({
      rules: reconcilerRules(analyzerRules({ catalog, granularity: settings.granularity }), forwarderRules(catalog)),
      dynamo: o.clients.dynamo,
      cloudwatch: capturedMetrics(o.store),
      settings: { tableName: o.table, lookbackHours: settings.reconcile.lookbackHours, settleMinutes: 0 },
      log: o.log,
      now: () => now,
    });
    lambda("Errors", 0);
    const window = reconcileWindow({ nowMs: now, bucketSeconds, lookbackHours: settings.reconcile.lookbackHours, settleMinutes: 0 });
    const older = new Set(counters.filter((c) => Date.parse(c.bucket) < window.fromMs).map((c) => c.bucket)).size;
    const r = report.requests;
    o.say(
      `reconciler: ${report.series} series over ${report.window.buckets} buckets, ${report.compared} compared, ${report.corrected} corrected (${report.datums} datums)` +
        `${report.unsettled > 0 ? `, ${report.unsettled} unsettled` : ""}${older > 0 ? `, ${older} buckets older than the ${settings.reconcile.lookbackHours} h lookback left as they are` : ""}; ` +
        `requests: ListMetrics ${r.ListMetrics}, Query ${r.Query}, GetMetricData ${r.GetMetricData} (${report.metricsRequested} metrics), PutMetricData ${r.PutMetricData}`,
    );
  } catch (error) {
    lambda("Errors", 1);
    o.say(`reconciler: the run failed, nothing more was corrected: ${(error as Error).message}`);
  }
}

/** The records Firehose hands the archiver per invocation, as the component configures it. */
const ARCHIVER_INVOCATION_BYTES = PROCESSOR_BUFFER_MB * 1_000_000;

/**
 * The archive as Firehose writes it from the stream: Firehose reads the stream on its own, beside
 * the analyzer, and hands the archiver up to its processor buffer of records per invocation; each
 * invocation's rows (capped dimensions decided by the run's registry, shared with the analyzer)
 * are written as gzipped objects per day partition. Each shard is read from its start until the
 * producer is done and the shard is drained, so the archive holds every record on the stream.
 */
async function archiveStream(o: {
  clients: LocalClients;
  pipeline: PipelineConfig;
  streamName: string;
  streamArn: string;
  shardIds: readonly string[];
  deliveryStream: string;
  stateTable: string;
  dir: string;
  /** Where Firehose's and the archiver's own metrics go, for the archive's health. */
  store: MetricStore;
  log: Logger;
  say: (line: string) => void;
  /** False once the producer is done: an empty read then means a shard is drained. */
  producing: () => boolean;
}): Promise<void> {
  const { catalog, settings } = o.pipeline;
  const firehose = (metricName: string, value: number) => o.store.put({ namespace: "AWS/Firehose", metricName, dimensions: { DeliveryStreamName: o.deliveryStream }, timestamp: Date.now(), value });
  const handler = createArchiverHandler({
    rules: analyzerRules({ catalog, granularity: settings.granularity }),
    columns: archiveColumns(catalog),
    gate: registryGate({ client: o.clients.dynamo, tableName: o.stateTable }),
    log: o.log,
  });
  fs.rmSync(o.dir, { recursive: true, force: true });
  let records = 0;
  let objects = 0;
  let invocations = 0;
  const invoke = async (shardId: string, batch: readonly KinesisRecord[]) => {
    const invocation = invocations++;
    const event = firehoseEvent(
      batch.map((r) => toBatchRecord(r, shardId)),
      { deliveryStream: o.deliveryStream, invocationId: `local-${invocation}`, streamArn: o.streamArn },
    );
    const result = await handler(event, lambdaContext({ functionName: `${o.deliveryStream}-archiver` }), () => undefined);
    if (!result) throw new Error("the archiver returned nothing");
    const rows = result.records.filter((r) => r.result === "Ok").map((r) => ({ line: Buffer.from(r.data ?? "", "base64").toString("utf8"), day: r.metadata?.partitionKeys.day ?? "" }));
    const failed = result.records.filter((r) => r.result !== "Ok");
    const id = `${shardId}-${String(invocation).padStart(6, "0")}`;
    objects += writeDelivery(o.dir, { deliveryStream: o.deliveryStream, deliveredAtMs: Date.now(), id, rows }).length;
    if (failed.length > 0) {
      writeErrors(o.dir, { deliveryStream: o.deliveryStream, deliveredAtMs: Date.now(), id, records: failed.map((r) => ({ recordId: r.recordId, data: r.data ?? "", errorCode: "Lambda.ProcessingFailed" })) });
      o.say(`archive: ${failed.length} records the archiver could not answer for went to the error output, as Firehose would keep them`);
    }
    records += rows.length;
    firehose("DataReadFromKinesisStream.Records", batch.length);
    firehose("DeliveryToS3.Records", rows.length);
    // No DeliveryToS3.DataFreshness: objects are written per invocation, not on Firehose's buffer, so their age would say nothing.
    o.store.put({ namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: `${o.deliveryStream}-archiver` }, timestamp: Date.now(), value: 0 });
  };
  await Promise.all(
    o.shardIds.map(async (shardId) => {
      let iterator = (await o.clients.kinesis.send(new GetShardIteratorCommand({ StreamName: o.streamName, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
      const pending: KinesisRecord[] = [];
      let bytes = 0;
      for (;;) {
        const done = !o.producing();
        const page = await o.clients.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        iterator = page.NextShardIterator;
        const got = page.Records ?? [];
        for (const r of got) {
          const size = r.Data?.length ?? 0;
          if (pending.length > 0 && bytes + size > ARCHIVER_INVOCATION_BYTES) {
            await invoke(shardId, pending.splice(0));
            bytes = 0;
          }
          pending.push(r);
          bytes += size;
        }
        if (got.length > 0) continue;
        if (done) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (pending.length > 0) await invoke(shardId, pending);
    }),
  );
  o.say(`archive: ${records.toLocaleString("en-US")} records in ${objects} objects under ${o.dir} (${invocations} archiver invocations, reading the stream beside the analyzer); query them with npm run sql`);
}
