/**
 * `npm run bench`: prints figures, never fails on a slow machine. Every CPU figure is measured
 * with `process.cpuUsage`, variants interleaved over rounds with the order rotated (bench/harness.ts);
 * ratios are taken round by round and printed as median (min–max). A JSON copy of every figure
 * goes to out/bench/ (or `--json FILE`), so two runs can be diffed.
 *
 *  1. The analyzer's pure path against the floor of the same work (base64 + JSON.parse), per
 *     traffic case and at each stack's batch size.
 *  2. The forwarder's pure path against JSON.parse of the same stream records.
 *  3. Both functions against a loopback server answering like DynamoDB and CloudWatch, so the
 *     SDK's cost per request is in: client CPU per counter write, and the reference designs
 *     (read-modify-write per record, bare ADD per key, one PutMetricData per change).
 *  4. Requests and cost per million events at each stack's settings.
 *  5. Cold start per bundle.
 *  6. One hot counter as shards are added: the model, and DynamoDB Local's consumed capacity.
 *  7. Bundle sizes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import type { APIGatewayProxyEventV2WithJWTAuthorizer, DynamoDBRecord } from "aws-lambda";
import { forwarderRules, loadCatalog } from "../catalog";
import { SNAPSHOT_PATH } from "../catalog/live";
import { bundleFunction, FUNCTIONS, type FunctionKind } from "../components/bundle";
import { type BatchRecord, planBatch } from "../functions/analyzer/aggregate";
import type { CounterMode } from "../functions/analyzer/counters";
import { processBatch } from "../functions/analyzer/process";
import { chunkDatums, recordDatums } from "../functions/forwarder/deltas";
import { forwardBatch } from "../functions/forwarder/process";
import { sdkClient } from "../functions/shared/clientOptions";
import { memoryLogger } from "../functions/shared/log";
import { createCounterTable, dynamoDBStreamEvent, firehoseEvent, kinesisEvent, readTableStream, tableStreamShards, toDynamoDBLambdaRecord, toKinesisLambdaRecord } from "../local/aws";
import { LOCAL_AWS, localClients } from "../local/clients";
import { startDynamoDBLocal } from "../local/emulators";
import { readStack } from "../local/stackConfig";
import { caseById, CASES, NOW, type TrafficCase } from "./cases";
import { coldStarts } from "./coldStart";
import { compare, fmt, ratio, type Spread, spread, table } from "./harness";
import { invocationsPerSecond, measuredUnits, model, PARTITION_WRITE_UNITS, throttlesAt } from "./hotItem";
import { type LoopbackAws, startLoopbackAws } from "./loopbackAws";
import { putPerChange, readModifyWrite } from "./reference";

/** us-east-1 list prices (eu-west-1 lists a little more), USD. */
const PRICES = {
  /** DynamoDB on-demand, per million write request units (1 KB each). */
  writeUnitsPerMillion: 0.625,
  /** CloudWatch API requests (PutMetricData), per 1,000. */
  putMetricDataPerThousand: 0.01,
  /** Lambda requests, per million. */
  lambdaRequestsPerMillion: 0.2,
} as const;

const TARGETS = { fewKeys: 0.6, manyKeys: 0.4, forwarder: 0.5, clientMsPerWrite: 0.3 } as const;

/**
 * The pure paths take microseconds per record, so a round is cheap and a shared machine's
 * stalls swing single rounds by 2x: they get more rounds than the default, for a steadier median.
 */
const PURE_PATH_ROUNDS = { rounds: 11, minCpuMs: 80 } as const;

const shipped = loadCatalog("analytics");
const figures: Record<string, unknown> = { node: process.version, arch: process.arch, startedAt: new Date().toISOString(), prices: PRICES, targets: TARGETS };
const say = (line = "") => console.log(line);

/** Each deployed stack's analyzer and forwarder mapping settings, read as the program reads them. */
const STACKS = (["dev", "prod"] as const).map((name) => {
  const { settings } = readStack(name).pipelines[0];
  return { name, analyzer: settings.analyzer.mapping, forwarder: settings.forwarder.mapping, shards: settings.stream.shardCount };
});

const bareParse = (batch: readonly BatchRecord[]) => {
  let n = 0;
  for (const r of batch) n += (JSON.parse(Buffer.from(r.data, "base64").toString("utf8")) as object) === null ? 0 : 1;
  return n;
};

async function analyzerPurePath(): Promise<void> {
  say("\n1. Analyzer, pure path (decode, validate, roll up) vs the floor (base64 + JSON.parse of the same records), CPU per record:");
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};
  for (const c of CASES) {
    for (const stack of STACKS) {
      const batch = c.batch(stack.analyzer.batchSize);
      const keys = planBatch(batch, c.rules).updates.length;
      const r = await compare([
        { name: "floor", units: batch.length, run: () => bareParse(batch) },
        { name: "analyzer", units: batch.length, run: () => planBatch(batch, c.rules) },
      ], PURE_PATH_ROUNDS);
      const speed = ratio(r.samples, "analyzer", "floor");
      const target = c.id === "manyKeys" ? TARGETS.manyKeys : TARGETS.fewKeys;
      rows.push([c.label, `${stack.name} ${fmt.int(batch.length)}`, fmt.int(keys), fmt.spread(r.perUnit.floor), fmt.spread(r.perUnit.analyzer), `${fmt.spread(speed)}×`, `≥ ${target}× ${speed.median >= target ? "met" : "MISSED"}`]);
      out[`${c.id}.${stack.name}`] = { batch: batch.length, keys, floorMicros: r.perUnit.floor, analyzerMicros: r.perUnit.analyzer, speedOfFloor: speed, target };
    }
  }
  say(table(["case", "batch", "keys", "floor µs/record", "analyzer µs/record", "speed of the floor", "target"], rows));
  figures.analyzerPurePath = out;
}

/** Table-stream records as the forwarder receives them, from real writes of one case to DynamoDB Local. */
async function streamRecords(dynamo: ReturnType<typeof localClients>, c: TrafficCase, batches: number, batchSize: number): Promise<DynamoDBRecord[]> {
  const table = `bench-stream-${c.id}`;
  const streamArn = (await createCounterTable(dynamo.dynamo, table))!;
  const deps = { rules: c.rules, dynamo: dynamo.dynamo, s3: new S3Client({ ...LOCAL_AWS, endpoint: "http://127.0.0.1:1" }), settings: { tableName: table, quarantineBucket: "q", mode: "exactly-once" as const, ttlDays: 16 }, log: memoryLogger() };
  for (let b = 0; b < batches; b++) await processBatch(c.batch(batchSize, b * batchSize), deps);
  const records: DynamoDBRecord[] = [];
  for (const shard of await tableStreamShards(dynamo.streams, streamArn)) for (const r of await readTableStream(dynamo.streams, streamArn, shard)) records.push(toDynamoDBLambdaRecord(r, streamArn));
  return records;
}

async function forwarderPurePath(streams: Record<string, DynamoDBRecord[]>): Promise<void> {
  say("\n2. Forwarder, pure path (parse the event, new − old, aggregate, chunk) vs the floor (JSON.parse of the same event), CPU per stream record:");
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};
  for (const [id, records] of Object.entries(streams)) {
    const text = JSON.stringify(dynamoDBStreamEvent(records));
    const r = forwarderRules(caseById(id).catalog);
    const result = await compare([
      { name: "floor", units: records.length, run: () => JSON.parse(text) },
      {
        name: "forwarder",
        units: records.length,
        run: () => chunkDatums((JSON.parse(text) as { Records: DynamoDBRecord[] }).Records.map((rec) => recordDatums(rec, r, NOW))),
      },
    ], PURE_PATH_ROUNDS);
    const speed = ratio(result.samples, "forwarder", "floor");
    rows.push([caseById(id).label, fmt.int(records.length), fmt.spread(result.perUnit.floor), fmt.spread(result.perUnit.forwarder), `${fmt.spread(speed)}×`, `≥ ${TARGETS.forwarder}× ${speed.median >= TARGETS.forwarder ? "met" : "MISSED"}`]);
    out[id] = { records: records.length, floorMicros: result.perUnit.floor, forwarderMicros: result.perUnit.forwarder, speedOfFloor: speed, target: TARGETS.forwarder };
  }
  say(table(["stream of", "records", "floor µs/record", "forwarder µs/record", "speed of the floor", "target"], rows));
  figures.forwarderPurePath = out;
}

/** The SDK clients the functions build, pointed at the loopback server. */
/** The SDK clients the functions build (functions/shared/clientOptions.ts), pointed at the loopback server. */
function loopbackClients(endpoint: string) {
  const log = memoryLogger();
  const config = { ...LOCAL_AWS, endpoint };
  return {
    dynamo: sdkClient(DynamoDBClient, log, { config }),
    cloudwatch: sdkClient(CloudWatchClient, log, { config }),
    s3: sdkClient(S3Client, log, { cacheMiddleware: false, config: { ...config, forcePathStyle: true } }),
    /** The analyzer's DynamoDB client as it was built before: the SDK's defaults but for retries. */
    dynamoBefore: new DynamoDBClient({ ...config, maxAttempts: 4, retryMode: "adaptive" }),
  };
}

interface RequestFigures {
  writesPerEvent: number;
  cpuMicrosPerEvent: Spread;
}

async function againstLoopback(loopback: LoopbackAws, streams: Record<string, DynamoDBRecord[]>): Promise<Record<string, RequestFigures>> {
  say("\n3. Against a loopback server answering like DynamoDB and CloudWatch (the SDK's whole cost per request included), CPU:");
  const clients = loopbackClients(loopback.endpoint);
  const deps = (mode: CounterMode, rules: TrafficCase["rules"], dynamo = clients.dynamo) => ({ rules, dynamo, s3: clients.s3, settings: { tableName: "bench", quarantineBucket: "q", mode, ttlDays: 16 }, log: memoryLogger() });
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};
  const perStack: Record<string, RequestFigures> = {};
  // The many-keys case at prod's batch size costs thousands of requests a run; dev's size says as much per write.
  const runs = [...STACKS.map((stack) => ({ c: caseById("fewKeys"), stack })), { c: caseById("manyKeys"), stack: STACKS[0] }];
  {
    for (const { c, stack } of runs) {
      const batch = c.batch(stack.analyzer.batchSize);
      let writes = 0;
      const r = await compare(
        [
          { name: "plan", units: batch.length, run: () => planBatch(batch, c.rules) },
          { name: "ours", units: batch.length, run: async () => (writes = (await processBatch(batch, deps("exactly-once", c.rules))).writeRequests) },
          { name: "before", units: batch.length, run: () => processBatch(batch, deps("exactly-once", c.rules, clients.dynamoBefore)) },
          // The bare ADD sends the same requests; the few-keys runs say what it costs.
          ...(c.id === "fewKeys" ? [{ name: "add", units: batch.length, run: () => processBatch(batch, deps("add", c.rules)) }] : []),
        ],
        { rounds: 5, minCpuMs: 150 },
      );
      // The client's share: what a batch costs beyond planning it, per write request.
      const clientMs = (variant: string) => spread(r.samples[variant].map((cpu, i) => ((cpu - r.samples.plan[i]) * batch.length) / writes / 1000));
      const [ours, before] = [clientMs("ours"), clientMs("before")];
      rows.push([
        c.label,
        `${stack.name} ${fmt.int(batch.length)}`,
        fmt.int(writes),
        fmt.spread(r.perUnit.ours, 1),
        r.perUnit.add === undefined ? "-" : fmt.spread(r.perUnit.add, 1),
        fmt.spread(before, 3),
        `${fmt.spread(ours, 3)} ${ours.median <= TARGETS.clientMsPerWrite ? "met" : "MISSED"}`,
      ]);
      out[`analyzer.${c.id}.${stack.name}`] = { batch: batch.length, writes, planMicros: r.perUnit.plan, oursMicros: r.perUnit.ours, addMicros: r.perUnit.add, clientMsPerWrite: ours, clientMsPerWriteSdkDefaults: before };
      perStack[`${c.id}.${stack.name}`] = { writesPerEvent: writes / batch.length, cpuMicrosPerEvent: r.perUnit.ours };
    }
  }
  say("   analyzer (processBatch; µs per event; client CPU per counter write with the SDK's defaults as before, and with the functions' client options, target ≤ 0.3 ms):");
  say(table(["case", "batch", "writes", "ours µs/event", "bare ADD µs/event", "ms/write before", "ms/write now"], rows));

  // The aggregate-table reference: a read and a write per record and counter. A few hundred events say enough.
  const few = caseById("fewKeys");
  const small = few.batch(100);
  let rmwRequests = 0;
  let oursRequests = 0;
  const rmw = await compare(
    [
      { name: "ours", units: small.length, run: async () => (oursRequests = (await processBatch(small, deps("exactly-once", few.rules))).writeRequests) },
      { name: "rmw", units: small.length, run: async () => (rmwRequests = await readModifyWrite(small, { rules: few.rules, client: clients.dynamo, tableName: "bench-rmw" })) },
    ],
    { rounds: 5, minCpuMs: 100 },
  );
  say(`   read-modify-write per record (aggregate table), ${small.length} events: ${fmt.fixed(rmwRequests / small.length)} requests and ${fmt.spread(rmw.perUnit.rmw, 0)} µs CPU per event,`);
  say(`     vs ours on the same batch: ${fmt.fixed(oursRequests / small.length, 3)} requests and ${fmt.spread(rmw.perUnit.ours, 0)} µs per event (${fmt.spread(ratio(rmw.samples, "ours", "rmw"), 1)}× less CPU)`);
  out.readModifyWrite = { events: small.length, requestsPerEvent: rmwRequests / small.length, micros: rmw.perUnit.rmw, oursRequestsPerEvent: oursRequests / small.length, oursMicros: rmw.perUnit.ours };

  // The forwarder: batched calls vs one PutMetricData per counter change.
  const frows: string[][] = [];
  for (const [id, all] of Object.entries(streams)) {
    // One call per change costs a request per record: a thousand records say enough.
    const records = all.slice(0, 1000);
    const rules = forwarderRules(caseById(id).catalog);
    let calls = 0;
    let perChangeCalls = 0;
    const text = JSON.stringify(dynamoDBStreamEvent(records));
    const r = await compare(
      [
        { name: "ours", units: records.length, run: async () => (calls = (await forwardBatch((JSON.parse(text) as { Records: DynamoDBRecord[] }).Records, { rules, cloudwatch: clients.cloudwatch, log: memoryLogger(), now: () => NOW })).calls) },
        { name: "perChange", units: records.length, run: async () => (perChangeCalls = await putPerChange((JSON.parse(text) as { Records: DynamoDBRecord[] }).Records, { rules, client: clients.cloudwatch, nowMs: NOW })) },
      ],
      { rounds: 5, minCpuMs: 100 },
    );
    frows.push([caseById(id).label, fmt.int(records.length), `${fmt.int(calls)} / ${fmt.spread(r.perUnit.ours, 1)}`, `${fmt.int(perChangeCalls)} / ${fmt.spread(r.perUnit.perChange, 1)}`, `${fmt.spread(ratio(r.samples, "ours", "perChange"), 1)}×`]);
    out[`forwarder.${id}`] = { records: records.length, calls, micros: r.perUnit.ours, perChangeCalls, perChangeMicros: r.perUnit.perChange };
  }
  say("   forwarder (PutMetricData calls / µs CPU per stream record):");
  say(table(["stream of", "records", "ours (batched)", "one call per change", "less CPU"], frows));
  figures.againstLoopback = out;
  return perStack;
}

/** Counter writes per event at a batch size: one per distinct key of a batch (what section 3 measures in requests). */
const writesPerEvent = (c: TrafficCase, batchSize: number): number => planBatch(c.batch(batchSize), c.rules).updates.length / batchSize;

function costPerMillion(measured: Record<string, RequestFigures>, streams: Record<string, DynamoDBRecord[]>): void {
  say("\n4. Requests and cost per million events, at each stack's batch size with full batches (us-east-1 list prices):");
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};
  for (const id of ["fewKeys", "manyKeys"]) {
    const c = caseById(id);
    // The forwarder merges a batch's changes into calls of up to 1,000 datums: changes per call as measured.
    const rules = forwarderRules(caseById(id).catalog);
    const changesPerCall = streams[id].length / Math.max(1, chunkDatums(streams[id].map((r) => recordDatums(r, rules, NOW))).length);
    for (const stack of STACKS) {
      const perEvent = writesPerEvent(c, stack.analyzer.batchSize);
      const check = measured[`${id}.${stack.name}`];
      if (check !== undefined && Math.abs(check.writesPerEvent - perEvent) > 1e-9) throw new Error(`${id} ${stack.name}: ${check.writesPerEvent} writes per event measured, ${perEvent} planned`);
      const writes = perEvent * 1e6;
      const puts = writes / Math.min(changesPerCall, stack.forwarder.batchSize);
      const invocations = 1e6 / stack.analyzer.batchSize + writes / stack.forwarder.batchSize;
      const usd = (writes * PRICES.writeUnitsPerMillion) / 1e6 + (puts * PRICES.putMetricDataPerThousand) / 1e3 + (invocations * PRICES.lambdaRequestsPerMillion) / 1e6;
      rows.push([c.label, `${stack.name} (batch ${fmt.int(stack.analyzer.batchSize)}, window ${stack.analyzer.batchingWindowSeconds} s)`, fmt.int(writes), fmt.int(puts), fmt.int(invocations), `$${usd.toFixed(4)}`]);
      out[`${id}.${stack.name}`] = { counterWrites: writes, putMetricData: puts, lambdaInvocations: invocations, usd };
    }
  }
  say(table(["case", "stack", "counter writes", "PutMetricData", "invocations", "cost"], rows));
  say("   (a write is one write unit: a counter's part stays under 1 KB. Kinesis, storage and Lambda duration are left out: the design doesn't change them.)");
  figures.perMillionEvents = out;

  // What a batch size buys: fewer writes per event, for the time a batch takes to fill.
  const sizes = [100, 500, 1000, 2000, 5000, 10000];
  say("   Writes per event by events per invocation (a shard at 1,000 records/s fills a batch of N in N/1,000 s, or the window closes first):");
  const trade = CASES.filter((c) => c.id !== "sumsAndDimensions").map((c) => [c.label, ...sizes.map((n) => fmt.fixed(writesPerEvent(c, n), 3))]);
  say(table(["case", ...sizes.map((n) => `${fmt.int(n)} (${n / 1000} s)`)], trade));
  figures.writesPerEventByBatch = Object.fromEntries(CASES.map((c) => [c.id, Object.fromEntries(sizes.map((n) => [n, writesPerEvent(c, n)]))]));
}

/** `GET /api/snapshot?range=1h` as an HTTP API (payload 2.0) hands it over behind its JWT authorizer. */
function snapshotRequest(): APIGatewayProxyEventV2WithJWTAuthorizer {
  const now = new Date();
  const http = { method: "GET", path: SNAPSHOT_PATH, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "bench" };
  return {
    version: "2.0",
    routeKey: `GET ${SNAPSHOT_PATH}`,
    rawPath: SNAPSHOT_PATH,
    rawQueryString: "range=1h",
    headers: {},
    queryStringParameters: { range: "1h" },
    requestContext: {
      accountId: "000000000000",
      apiId: "bench",
      authorizer: { principalId: "", integrationLatency: 0, jwt: { claims: { sub: "bench" }, scopes: [] } },
      domainName: "bench.local",
      domainPrefix: "bench",
      http,
      requestId: "bench",
      routeKey: `GET ${SNAPSHOT_PATH}`,
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

async function coldStartFigures(loopback: LoopbackAws, streams: Record<string, DynamoDBRecord[]>): Promise<void> {
  const runs = 10;
  say(`\n5. Cold start per bundle: require + first call in a fresh process, median (min–max) of ${runs}, against the loopback server:`);
  const batch = caseById("fewKeys").batch(20);
  const kinesisRecords = batch.map((r) => toKinesisLambdaRecord({ SequenceNumber: r.sequenceNumber, Data: Buffer.from(r.data, "base64"), PartitionKey: "p", ApproximateArrivalTimestamp: new Date(r.arrivalMs) }, r.shardId, "arn:aws:kinesis:us-east-1:000000000000:stream/bench"));
  const events: Record<FunctionKind, unknown> = {
    analyzer: kinesisEvent(kinesisRecords),
    forwarder: dynamoDBStreamEvent(streams.fewKeys.slice(0, 20)),
    reconciler: { id: "bench", "detail-type": "Scheduled Event", source: "aws.events", time: new Date().toISOString(), region: LOCAL_AWS.region, resources: [], detail: {} },
    archiver: firehoseEvent(batch, { deliveryStream: "bench", invocationId: "bench" }),
    publisher: dynamoDBStreamEvent(streams.fewKeys.slice(0, 20)),
    snapshot: snapshotRequest(),
  };
  const results = await coldStarts({ catalog: shipped, endpoint: loopback.endpoint, events, runs });
  const rows = Object.entries(results).map(([kind, r]) => [kind, fmt.spread(spread(r.map((x) => x.requireMs)), 0), fmt.spread(spread(r.map((x) => x.firstCallMs)), 0), fmt.spread(spread(r.map((x) => x.requireMs + x.firstCallMs)), 0), fmt.spread(spread(r.map((x) => x.cpuMs)), 0)]);
  say(table(["bundle", "require ms", "first call ms", "total ms", "CPU ms"], rows));
  figures.coldStart = Object.fromEntries(Object.entries(results).map(([kind, r]) => [kind, { requireMs: spread(r.map((x) => x.requireMs)), firstCallMs: spread(r.map((x) => x.firstCallMs)), cpuMs: spread(r.map((x) => x.cpuMs)) }]));
}

async function hotCounter(dynamo: DynamoDBClient): Promise<void> {
  const perSecondAt = Object.fromEntries(STACKS.map((s) => [s.name, invocationsPerSecond(s.analyzer.batchSize, s.analyzer.batchingWindowSeconds)]));
  say(`\n6. One hot counter (this minute's page views), written once per shard per batch; a partition takes ${fmt.int(PARTITION_WRITE_UNITS)} write units a second.`);
  say("   Before: one item with every shard's mark. Ours: a part per shard. Write units a second at one write per shard per second (a shard's full 1,000 records/s, dev's batch):");
  const shardCounts = [1, 10, 40, 80, 100, 200, 400, 1000];
  const rows = model(shardCounts, 1).map((r) => [
    fmt.int(r.shards),
    fmt.int(r.single.bytes),
    fmt.int(r.single.unitsPerWrite),
    `${fmt.int(r.single.unitsPerSecond)}${r.single.unitsPerSecond > PARTITION_WRITE_UNITS ? " THROTTLED" : ""}`,
    fmt.int(r.parts.bytes),
    fmt.int(r.parts.unitsPerWrite),
    `${fmt.int(r.parts.unitsPerSecond)}${r.parts.unitsPerSecond > PARTITION_WRITE_UNITS ? " THROTTLED" : ""}`,
  ]);
  say(table(["shards", "before: bytes", "units/write", "units/s", "ours: bytes", "units/write", "units/s"], rows));
  const throttle = Object.fromEntries(
    STACKS.map((s) => [s.name, { writesPerShardPerSecond: perSecondAt[s.name], before: throttlesAt("single", perSecondAt[s.name]), ours: throttlesAt("parts", perSecondAt[s.name]) }]),
  );
  for (const s of STACKS) {
    const t = throttle[s.name];
    say(`   ${s.name} (batch ${fmt.int(s.analyzer.batchSize)}, window ${s.analyzer.batchingWindowSeconds} s: ${t.writesPerShardPerSecond} write per shard per second): one hot item throttles at ${fmt.int(t.before)} shards before, ${fmt.int(t.ours)} now (${fmt.fixed(t.ours / 200, 1)}× headroom at 200)`);
  }
  const measured: Record<string, unknown>[] = [];
  const mrows: string[][] = [];
  for (const shards of [80, 200]) {
    const row: Record<string, unknown> = { shards };
    for (const layout of ["single", "parts"] as const) {
      const table = `bench-hot-${layout}-${shards}`;
      await createCounterTable(dynamo, table);
      row[layout] = await measuredUnits(dynamo, table, layout, shards);
    }
    const modelled = model([shards], 1)[0];
    mrows.push([fmt.int(shards), `${row.single} (model ${modelled.single.unitsPerWrite})`, `${row.parts} (model ${modelled.parts.unitsPerWrite})`]);
    measured.push(row);
  }
  say("   Confirmed against DynamoDB Local (ConsumedCapacity of a write once every shard has written):");
  say(table(["shards", "before: units/write", "ours: units/write"], mrows));
  figures.hotCounter = { model: model(shardCounts, 1), throttle, measured };
}

function bundles(): void {
  say("\n7. Function bundles (esbuild, minified, AWS SDK v3 clients included):");
  const rows = (Object.keys(FUNCTIONS) as FunctionKind[]).map((kind) => {
    const { code } = bundleFunction(kind, shipped);
    return [kind, `${fmt.int(code.length / 1024)} KiB`, `${fmt.int(gzipSync(code).length / 1024)} KiB zipped`];
  });
  say(table(["bundle", "size", ""], rows));
  figures.bundles = Object.fromEntries(rows.map(([kind, size, zipped]) => [kind, { size, zipped }]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: "string" } } });
  const started = process.hrtime.bigint();
  say(`Benchmark on node ${process.version}, ${process.arch}; CPU time per figure, median (min–max) over interleaved rounds`);
  await analyzerPurePath();
  const dynamoLocal = await startDynamoDBLocal();
  const loopback = await startLoopbackAws();
  try {
    const local = localClients({ dynamo: dynamoLocal.endpoint, kinesis: "http://127.0.0.1:1" });
    const dev = STACKS[0].analyzer.batchSize;
    const streams = { fewKeys: await streamRecords(local, caseById("fewKeys"), 10, dev), manyKeys: await streamRecords(local, caseById("manyKeys"), 1, dev) };
    await forwarderPurePath(streams);
    const perStack = await againstLoopback(loopback, streams);
    costPerMillion(perStack, streams);
    await coldStartFigures(loopback, streams);
    await hotCounter(local.dynamo);
  } finally {
    loopback.stop();
    await dynamoLocal.stop();
  }
  bundles();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  figures.seconds = seconds;
  const file = values.json ?? path.join("out", "bench", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  say(`\nDone in ${seconds.toFixed(0)} s; every figure in ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
