import assert from "node:assert/strict";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { Context, DynamoDBStreamHandler, KinesisStreamHandler } from "aws-lambda";
import { captureAtBoundary } from "../local/clients";
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
import { type ProducedRecord, produce } from "../local/producer";
import { emulators, type Emulators } from "./emulators";
import { near, scanCounters, truth } from "./truth";


describe("analyzer and forwarder against DynamoDB Local and kinesalite", function () {
  this.timeout(180_000);
  const TABLE = "it-counters";
  const STREAM = "it-events";
  let env: Emulators;
  let analyzer: KinesisStreamHandler;
  let forwarder: DynamoDBStreamHandler;
  const quarantined = new Map<string, string>();
  const metricCalls: { Namespace?: string; MetricData?: { MetricName: string; Dimensions?: { Name: string; Value: string }[]; Timestamp: Date; Value: number }[] }[] = [];
  let tableStreamArn: string;
  let produced: ProducedRecord[];
  const lambdaContext = {} as Context;

  before(async () => {
    env = await emulators();
    tableStreamArn = (await createCounterTable(env.clients.dynamo, TABLE))!;
    Object.assign(process.env, {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_ENDPOINT_URL_DYNAMODB: env.dynamoEndpoint,
      COUNTER_TABLE: TABLE,
      QUARANTINE_BUCKET: "it-quarantine",
      COUNTER_MODE: "exactly-once",
      BUCKET: "minute",
      COUNTER_TTL_DAYS: "7",
      AWS_LAMBDA_LOG_LEVEL: "ERROR",
    });
    const a = require("../functions/analyzer/handler");
    const f = require("../functions/forwarder/handler");
    analyzer = a.handler;
    forwarder = f.handler;
    // S3 and CloudWatch have no emulator: their calls are answered at the SDK boundary.
    captureAtBoundary<{ Key: string; Body: string }>(a.clients.s3, (input) => {
      quarantined.set(input.Key, input.Body);
      return {};
    });
    captureAtBoundary<(typeof metricCalls)[number]>(f.clients.cloudwatch, (input) => {
      metricCalls.push(input);
      return {};
    });
  });

  async function runAnalyzer(batchSize: number): Promise<{ failures: number; invocations: number }> {
    const { arn, shardIds } = streamInfo!;
    let failures = 0;
    let invocations = 0;
    for (const shardId of shardIds) {
      const records = (await readShard(env.clients.kinesis, STREAM, shardId)).map((r) => toKinesisLambdaRecord(r, shardId, arn));
      for (let i = 0; i < records.length; i += batchSize) {
        const result = await analyzer(kinesisEvent(records.slice(i, i + batchSize)), lambdaContext, () => undefined);
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
        const result = await forwarder(dynamoDBStreamEvent(got.slice(i, i + 100).map((r) => toDynamoDBLambdaRecord(r, tableStreamArn))), lambdaContext, () => undefined);
        assert.deepEqual(result, { batchItemFailures: [] });
      }
    }
    return records;
  }

  it("counts every event put with the real SDK exactly, rejects and keeps the bad ones", async () => {
    // Prepare: 1,200 records over two shards, about 3% bad.
    streamInfo = await createEventStream(env.clients.kinesis, STREAM, 2);
    produced = produce({ count: 1200, seed: 7, badRatio: 0.03 });
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
    const expected = truth(produced);
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

  it("forwards the table stream to CloudWatch so the metrics add up to the counters", async () => {
    // Act
    const records = await runForwarder();
    // Assess
    assert.ok(records > 0);
    const sent = new Map<string, number>();
    for (const call of metricCalls) {
      assert.equal(call.Namespace, "RealtimeAnalytics");
      assert.ok((call.MetricData ?? []).length <= 1000);
      for (const d of call.MetricData ?? []) {
        const key = [d.MetricName, ...(d.Dimensions ?? []).map((x) => `${x.Name}=${x.Value}`), new Date(d.Timestamp).toISOString()].join("|");
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
