import assert from "node:assert/strict";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { DynamoDBStreamHandler, KinesisStreamHandler } from "aws-lambda";
import { analyzerRules, forwarderRules } from "../catalog";
import { counterKey, ITEM, partKey } from "../catalog/item";
import { createAnalyzerHandler } from "../functions/analyzer/process";
import { createForwarderHandler } from "../functions/forwarder/process";
import { memoryLogger } from "../functions/shared/log";
import { queryCounters } from "../functions/shared/queryCounters";
import {
  createCounterTable,
  createEventStream,
  dynamoDBStreamEvent,
  kinesisEvent,
  readShard,
  readTableStream,
  tableStreamShards,
  toDynamoDBLambdaRecord,
  toKinesisLambdaRecord,
} from "../local/aws";
import { readCounters } from "../local/books";
import { capturedCloudWatch, capturedS3 } from "../local/clients";
import { type ProducedRecord, produce } from "../local/producer";
import { emulators, type Emulators } from "./emulators";
import { lambdaContext } from "./factories";
import { fixtureCatalog } from "./fixtures";
import { near, scanCounters, truth, truthKey } from "./truth";

const catalog = fixtureCatalog("web");

describe("analyzer and forwarder against DynamoDB Local and kinesalite", function () {
  this.timeout(180_000);
  const TABLE = "it-counters";
  const STREAM = "it-events";
  let env: Emulators;
  let analyzer: KinesisStreamHandler;
  let forwarder: DynamoDBStreamHandler;
  let quarantined: Map<string, string>;
  let metricCalls: ReturnType<typeof capturedCloudWatch>["calls"];
  let tableStreamArn: string;
  let produced: ProducedRecord[];
  const lambdaContextFor = () => lambdaContext(`req-${Math.random()}`);

  before(async () => {
    env = await emulators();
    tableStreamArn = (await createCounterTable(env.clients.dynamo, TABLE))!;
    // The factories with this test's clients: DynamoDB Local for the table; S3 and CloudWatch,
    // which have no emulator, answered at the SDK boundary.
    const s3 = capturedS3();
    const cloudwatch = capturedCloudWatch();
    quarantined = s3.objects;
    metricCalls = cloudwatch.calls;
    analyzer = createAnalyzerHandler({
      rules: analyzerRules({ catalog, granularity: "minute" }),
      dynamo: env.clients.dynamo,
      s3: s3.client,
      settings: { tableName: TABLE, quarantineBucket: "it-quarantine", mode: "exactly-once", ttlDays: 7 },
      log: memoryLogger(),
    });
    forwarder = createForwarderHandler({ rules: forwarderRules(catalog), cloudwatch: cloudwatch.client, log: memoryLogger() });
  });

  async function runAnalyzer(batchSize: number): Promise<{ failures: number; invocations: number }> {
    const { arn, shardIds } = streamInfo!;
    let failures = 0;
    let invocations = 0;
    for (const shardId of shardIds) {
      const records = (await readShard(env.clients.kinesis, STREAM, shardId)).map((r) => toKinesisLambdaRecord(r, shardId, arn));
      for (let i = 0; i < records.length; i += batchSize) {
        const result = await analyzer(kinesisEvent(records.slice(i, i + batchSize)), lambdaContextFor(), () => undefined);
        invocations += 1;
        failures += result ? result.batchItemFailures.length : 0;
      }
    }
    return { failures, invocations };
  }

  let streamInfo: { arn: string; shardIds: string[] } | undefined;
  const tableStreamPosition = new Map<string, string | undefined>();

  async function runForwarder(): Promise<number> {
    let records = 0;
    for (const shardId of await tableStreamShards(env.clients.streams, tableStreamArn)) {
      const got = await readTableStream(env.clients.streams, tableStreamArn, shardId, tableStreamPosition.get(shardId));
      if (got.length === 0) continue;
      tableStreamPosition.set(shardId, got[got.length - 1].dynamodb?.SequenceNumber);
      records += got.length;
      for (let i = 0; i < got.length; i += 100) {
        const result = await forwarder(dynamoDBStreamEvent(got.slice(i, i + 100).map((r) => toDynamoDBLambdaRecord(r, tableStreamArn))), lambdaContextFor(), () => undefined);
        assert.deepEqual(result, { batchItemFailures: [] });
      }
    }
    return records;
  }

  it("counts every event put with the real SDK exactly, rejects and keeps the bad ones", async () => {
    // Prepare: 1,200 records over two shards, about 3% bad.
    streamInfo = await createEventStream(env.clients.kinesis, STREAM, 2);
    produced = produce({ catalog, count: 1200, seed: 7, badRatio: 0.03 });
    for (let i = 0; i < produced.length; i += 500) {
      const put = await env.clients.kinesis.send(
        new PutRecordsCommand({ StreamName: STREAM, Records: produced.slice(i, i + 500).map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) }),
      );
      assert.equal(put.FailedRecordCount ?? 0, 0);
    }
    // Act
    const run = await runAnalyzer(250);
    // Assess
    assert.equal(run.failures, 0);
    const expected = truth(produced, catalog);
    const actual = await scanCounters(env.clients.dynamo, TABLE);
    assert.ok(expected.rejected.size >= 3, "the sample should hold several kinds of bad record");
    assert.deepEqual([...actual.counters.keys()].sort(), [...expected.counters.keys()].sort());
    for (const [key, want] of expected.counters) {
      const got = actual.counters.get(key)!;
      assert.equal(got.count, want.count, key);
      assert.ok(near(got.sum, want.sum), `${key}: sum ${got.sum} ≠ ${want.sum}`);
    }
    assert.deepEqual(Object.fromEntries(actual.rejected), Object.fromEntries(expected.rejected));
    // The books balance: received = counted + rejected, from the table's own counters.
    const rejectedTotal = [...actual.rejected.values()].reduce((a, b) => a + b, 0);
    assert.equal(actual.counted + rejectedTotal, produced.length);
    assert.equal(actual.counted, produced.filter((p) => !p.badBecause).length);
    const lines = [...quarantined.values()].flatMap((body) => body.trim().split("\n").map((l) => JSON.parse(l)));
    assert.equal(lines.length, [...expected.rejected.values()].reduce((a, b) => a + b, 0));
    assert.ok(lines.every((l) => l.shardId.startsWith("shardId-") && /^\d+$/.test(l.sequenceNumber) && l.reason && l.data));
  });

  it("keeps each shard's part of a counter in an item of its own, with that shard's mark alone, and reads their sum", async () => {
    // Prepare: the items of the busiest counter, as the table holds them.
    const expected = truth(produced, catalog);
    const [key, want] = [...expected.counters].sort(([, a], [, b]) => b.count - a.count)[0];
    const counter = (await readCounters(env.clients.dynamo, TABLE)).find((c) => truthKey(c.metric, c.dimensions, c.bucket) === key)!;
    const pk = counterKey(counter.metric, Object.keys(counter.dimensions), Object.values(counter.dimensions));
    const items = (await env.clients.dynamo.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: pk } } }))).Items ?? [];
    const parts = items.filter((i) => i.bucket?.S === counter.bucket);
    // Assess: one part per shard, keyed by it, each holding one mark; read back as one counter.
    assert.deepEqual(parts.map((p) => p.sk?.S).sort(), streamInfo!.shardIds.map((shard) => partKey(counter.bucket, shard)).sort());
    for (const part of parts) assert.deepEqual(Object.keys(part).filter((a) => a.startsWith("wm")), [ITEM.mark]);
    assert.equal(parts.reduce((n, p) => n + Number(p.count?.N), 0), want.count);
    const bucketMs = Date.parse(counter.bucket);
    const queried = await queryCounters(env.clients.dynamo, { tableName: TABLE, partitionKey: pk, fromMs: bucketMs, lastMs: bucketMs });
    assert.deepEqual(queried.counters.map((c) => c.count), [want.count]);
  });

  it("forwards the table stream to CloudWatch so the metrics add up to the counters", async () => {
    // Act
    const records = await runForwarder();
    // Assess
    assert.ok(records > 0);
    const sent = new Map<string, number>();
    for (const call of metricCalls) {
      assert.equal(call.input.Namespace, catalog.namespace);
      assert.ok((call.input.MetricData ?? []).length <= 1000);
      for (const d of (call.input.MetricData ?? []) as { MetricName: string; Dimensions?: { Name: string; Value: string }[]; Timestamp: Date; Value: number }[]) {
        const key = truthKey(d.MetricName, Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])), new Date(d.Timestamp).toISOString());
        sent.set(key, (sent.get(key) ?? 0) + d.Value);
      }
    }
    const { counters } = await scanCounters(env.clients.dynamo, TABLE);
    for (const [key, c] of counters) {
      assert.equal(sent.get(key), c.count, key);
      if (key.startsWith("donations")) {
        const sumKey = key.replace(/^donations/, "donationsAmount");
        assert.ok(near(sent.get(sumKey)!, c.sum), sumKey);
      }
    }
    assert.ok(metricCalls.length < records, `${metricCalls.length} calls for ${records} counter changes`);
  });

  it("counts nothing twice when Lambda redelivers every batch, whole or in other sizes", async () => {
    // Prepare
    const before = await scanCounters(env.clients.dynamo, TABLE);
    const callsBefore = metricCalls.length;
    // Act: redeliver everything twice, in batches of other sizes (as a retry or a bisection would).
    await runAnalyzer(1000);
    await runAnalyzer(33);
    const forwarded = await runForwarder();
    // Assess
    const after = await scanCounters(env.clients.dynamo, TABLE);
    assert.deepEqual(Object.fromEntries(after.counters), Object.fromEntries(before.counters));
    assert.deepEqual(Object.fromEntries(after.rejected), Object.fromEntries(before.rejected));
    assert.equal(forwarded, 0, "a redelivery must not even touch the table");
    assert.equal(metricCalls.length, callsBefore);
  });
});
