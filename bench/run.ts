/**
 * `npm run bench`: prints figures, never fails on a slow machine.
 *  1. analyzer throughput on 10,000-record batches vs a bare base64 + JSON.parse loop;
 *  2. DynamoDB writes and CloudWatch calls per 100,000 events for three designs, measured
 *     against DynamoDB Local, and events/s end to end through both emulators;
 *  3. the size of each function's bundle.
 */
import { gzipSync } from "node:zlib";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { analyzerRules, forwarderRules, loadCatalog } from "../catalog";
import { bundleFunction, FUNCTIONS, type FunctionKind } from "../components/bundle";
import { type BatchRecord, planBatch } from "../functions/analyzer/aggregate";
import type { CounterMode } from "../functions/analyzer/counters";
import { processBatch } from "../functions/analyzer/process";
import { forwardBatch } from "../functions/forwarder/process";
import { memoryLogger } from "../functions/shared/log";
import { capturedCloudWatch, capturedS3, localClients } from "../local/clients";
import { createCounterTable, createEventStream, readShard, readTableStream, tableStreamShards, toDynamoDBLambdaRecord } from "../local/aws";
import { startDynamoDBLocal, startKinesalite } from "../local/emulators";
import { produce } from "../local/producer";

// The shipped catalog, at minute granularity (the default, and both shipped stacks').
const catalog = loadCatalog("analytics");
const rules = analyzerRules({ catalog, granularity: "minute" });
const NOW = Date.now();

function toBatch(count: number, seed: number, badRatio = 0.01): BatchRecord[] {
  return produce({ catalog, count, seed, now: NOW, spanMs: 5 * 60_000, badRatio }).map((p, i) => ({
    shardId: "shardId-000000000000",
    sequenceNumber: (49_000_000_000_000_000_000n + BigInt(seed) * 1_000_000n + BigInt(i)).toString(),
    data: p.data.toString("base64"),
    arrivalMs: NOW,
  }));
}

function timeIt(rounds: number, fn: () => void): number {
  fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function throughput(): void {
  const batch = toBatch(10_000, 1, 0); // all well-formed, so both loops parse every record
  const rounds = 30;
  let sink = 0;
  const bare = timeIt(rounds, () => {
    for (const r of batch) sink += (JSON.parse(Buffer.from(r.data, "base64").toString("utf8")) as object) ? 1 : 0;
  });
  const ours = timeIt(rounds, () => {
    sink += planBatch(batch, rules).updates.length;
  });
  const perSec = (seconds: number) => (rounds * batch.length) / seconds;
  console.log("\n1. Analyzer, in process, 10,000-record batches (one core):");
  console.log(`   bare base64 + JSON.parse      ${fmt(perSec(bare))} records/s   (the limit)`);
  console.log(`   decode + validate + aggregate ${fmt(perSec(ours))} records/s   = ${(perSec(ours) / perSec(bare)).toFixed(2)}× the limit`);
  if (sink < 0) console.log(sink);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(11);

async function requestsPer100k(endpoint: string): Promise<void> {
  const events = 100_000;
  const batchSize = 10_000;
  const batches = Array.from({ length: events / batchSize }, (_, b) => toBatch(batchSize, 100 + b));
  // One update per record and catalog counter: the aggregate-table design writes every contribution.
  let perRecordWrites = 0;
  for (const batch of batches) for (const u of planBatch(batch, rules).updates) if (catalog.metrics[u.metric] !== undefined) perRecordWrites += u.count;

  const { dynamo, streams } = localClients({ dynamo: endpoint, kinesis: "http://127.0.0.1:1" });
  const measured: Record<CounterMode, { writes: number; changes: number; calls: number }> = {
    add: { writes: 0, changes: 0, calls: 0 },
    "exactly-once": { writes: 0, changes: 0, calls: 0 },
  };
  for (const mode of ["add", "exactly-once"] as const) {
    const table = `bench-${mode}`;
    const streamArn = (await createCounterTable(dynamo, table))!;
    const deps = { rules, dynamo, s3: capturedS3().client, settings: { tableName: table, quarantineBucket: "q", mode, ttlDays: 7 }, log: memoryLogger() };
    for (const batch of batches) measured[mode].writes += (await processBatch(batch, deps)).writeRequests;
    const cw = capturedCloudWatch();
    for (const shard of await tableStreamShards(streams, streamArn)) {
      const records = await readTableStream(streams, streamArn, shard);
      measured[mode].changes += records.length;
      for (let i = 0; i < records.length; i += 1000) {
        await forwardBatch(records.slice(i, i + 1000).map((r) => toDynamoDBLambdaRecord(r, streamArn)), { rules: forwarderRules(catalog), cloudwatch: cw.client, log: memoryLogger() });
      }
    }
    measured[mode].calls = cw.calls.length;
  }
  const ours = measured["exactly-once"];
  console.log(`\n2. Requests per ${events.toLocaleString("en-US")} events (batches of ${batchSize.toLocaleString("en-US")}, DynamoDB Local):`);
  console.log("                                          DynamoDB writes   CloudWatch calls");
  console.log(`   one update per record (aggregate table)  ${fmt(perRecordWrites)}    ${fmt(perRecordWrites)}  (one call per counter change)`);
  console.log(`   one ADD per key per batch (reference)    ${fmt(measured.add.writes)}    ${fmt(measured.add.changes)}  (one call per counter change)`);
  console.log(`   ours (marks + batched PutMetricData)     ${fmt(ours.writes)}    ${fmt(ours.calls)}`);
  console.log(`   ours vs reference writes: ${(ours.writes / measured.add.writes).toFixed(2)}×; CloudWatch calls: ${Math.round(ours.changes / ours.calls)}× fewer than one per counter change`);
}

async function endToEnd(dynamoEndpoint: string, kinesisEndpoint: string): Promise<void> {
  const events = 20_000;
  const { dynamo, streams, kinesis } = localClients({ dynamo: dynamoEndpoint, kinesis: kinesisEndpoint });
  const table = "bench-e2e";
  const streamArn = (await createCounterTable(dynamo, table))!;
  const stream = await createEventStream(kinesis, "bench-events", 2);
  const produced = produce({ catalog, count: events, seed: 9, now: NOW, badRatio: 0.01 });
  const start = process.hrtime.bigint();
  for (let i = 0; i < produced.length; i += 500) {
    await kinesis.send(new PutRecordsCommand({ StreamName: "bench-events", Records: produced.slice(i, i + 500).map((p) => ({ Data: p.data, PartitionKey: p.partitionKey })) }));
  }
  const deps = { rules, dynamo, s3: capturedS3().client, settings: { tableName: table, quarantineBucket: "q", mode: "exactly-once" as const, ttlDays: 7 }, log: memoryLogger() };
  for (const shardId of stream.shardIds) {
    const records = await readShard(kinesis, "bench-events", shardId);
    const batch = records.map((r) => ({ shardId, sequenceNumber: r.SequenceNumber ?? "", data: Buffer.from(r.Data ?? []).toString("base64"), arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? NOW }));
    for (let i = 0; i < batch.length; i += 1000) await processBatch(batch.slice(i, i + 1000), deps);
  }
  const cw = capturedCloudWatch();
  for (const shard of await tableStreamShards(streams, streamArn)) {
    const records = await readTableStream(streams, streamArn, shard);
    for (let i = 0; i < records.length; i += 1000) {
      await forwardBatch(records.slice(i, i + 1000).map((r) => toDynamoDBLambdaRecord(r, streamArn)), { rules: forwarderRules(catalog), cloudwatch: cw.client, log: memoryLogger() });
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`\n   end to end through kinesalite and DynamoDB Local: ${events.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s = ${fmt(events / seconds).trim()} events/s`);
  console.log("   (put, read back, analyze, write counters, read the table stream, forward; bound by the emulators)");
}

function bundles(): void {
  console.log("\n3. Function bundles (esbuild, minified, AWS SDK v3 clients included):");
  for (const kind of Object.keys(FUNCTIONS) as FunctionKind[]) {
    const { code } = bundleFunction(kind, catalog);
    console.log(`   ${kind.padEnd(32)} ${(code.length / 1024).toFixed(0).padStart(5)} KiB  (${(gzipSync(code).length / 1024).toFixed(0)} KiB zipped)`);
  }
}

async function main(): Promise<void> {
  console.log(`Benchmark on node ${process.version}, ${process.arch}`);
  throughput();
  const dynamo = await startDynamoDBLocal();
  const kinesis = await startKinesalite();
  try {
    await requestsPer100k(dynamo.endpoint);
    await endToEnd(dynamo.endpoint, kinesis.endpoint);
  } finally {
    await Promise.all([dynamo.stop(), kinesis.stop()]);
  }
  bundles();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
