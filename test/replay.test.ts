import assert from "node:assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { analyzerRules, type Counter } from "../catalog";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { stateLedger } from "../functions/analyzer/ledger";
import { processBatch } from "../functions/analyzer/process";
import { registryGate } from "../functions/analyzer/registry";
import { replayDeadLetter } from "../functions/analyzer/replay";
import { memoryLogger } from "../functions/shared/log";
import { keepBooks } from "../local/books";
import { letterOf } from "../local/replay";
import { capturedS3, LOCAL_AWS } from "../local/clients";
import { createCounterTable, createStateTable } from "../local/aws";
import { produce } from "../local/producer";
import { emulators } from "./emulators";
import { fixtureCatalog } from "./fixtures";
import { counterDiff, scanCounters, truth } from "./truth";

const catalog = fixtureCatalog("web");
const rules = analyzerRules({ catalog, granularity: "minute" });
const SHARD = "shardId-000000000003";

/** A client whose writes to one counter always fail, as a hot or broken item would. */
function failingOn(endpoint: string, pk: string): DynamoDBClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } }; UpdateExpression?: string };
      if (input.UpdateExpression !== undefined && input.Key?.pk?.S === pk) throw Object.assign(new Error("injected: this item refuses writes"), { name: "InternalServerError" });
      return next(args);
    },
    { step: "initialize", name: "failOneItem" },
  );
  return client;
}

describe("dead letters replayed exactly once (issue 8, item 9)", function () {
  this.timeout(120_000);

  it("applies only what the failed batch left unapplied, after later batches moved the marks, and a second replay adds nothing", async () => {
    // Prepare: a batch whose per-platform donation counter fails on every retry, so Lambda gives
    // up on it and moves on; a later batch then moves every item's high-water mark past it.
    const env = await emulators();
    const admin = env.clients.dynamo;
    const table = `replay-${Date.now()}`;
    const state = `${table}-state`;
    await createCounterTable(admin, table, { stream: false });
    await createStateTable(admin, state);
    const now = Date.parse("2026-11-21T12:00:00Z");
    const produced = produce({ catalog, count: 120, seed: 9, now, spanMs: 60_000, badRatio: 0.05 });
    const records: BatchRecord[] = produced.map((p, i) => ({ shardId: SHARD, sequenceNumber: String(1000 + i * 3), data: p.data.toString("base64"), arrivalMs: now }));
    const settings = { tableName: table, quarantineBucket: "q", mode: "exactly-once" as const, ttlDays: 16, stateTable: state };
    const deps = (dynamo: DynamoDBClient) => ({
      rules,
      dynamo,
      s3: capturedS3().client,
      settings,
      log: memoryLogger(),
      gate: registryGate({ client: admin, tableName: state }),
      ledger: stateLedger({ client: admin, tableName: state }),
    });
    const broken = deps(failingOn(env.dynamoEndpoint, "donations#platform=Web"));
    const first = records.slice(0, 60);
    const later = records.slice(60);
    // Act: the first delivery, then retries from the reported record until Lambda gives up.
    let batch = first;
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await processBatch(batch, broken);
      const from = result.batchItemFailures[0]?.itemIdentifier;
      assert.ok(from !== undefined, "the batch must keep failing");
      batch = batch.slice(batch.findIndex((r) => r.sequenceNumber === from));
    }
    const letter = { shardId: SHARD, startSequenceNumber: batch[0].sequenceNumber, endSequenceNumber: batch[batch.length - 1].sequenceNumber, batchSize: batch.length };
    assert.deepEqual((await processBatch(later, deps(admin))).batchItemFailures, []);
    const before = await scanCounters(admin, table);
    const expected = truth(produced, catalog);
    assert.ok(counterDiff(expected.counters, before.counters).length > 0, "the dead letter must have left counters short");
    // Act: replay, twice.
    const replay = await replayDeadLetter(letter, batch, { ...deps(admin), settings });
    const afterOnce = await scanCounters(admin, table);
    const again = await replayDeadLetter(letter, batch, { ...deps(admin), settings });
    const afterTwice = await scanCounters(admin, table);
    // Assess: exact after one replay, unchanged by the second.
    assert.equal(replay.ledger, "found");
    assert.ok(replay.applied >= 1 && replay.failed === 0, JSON.stringify(replay));
    assert.deepEqual(counterDiff(expected.counters, afterOnce.counters), []);
    assert.equal(afterOnce.counted, produced.filter((p) => !p.badBecause).length);
    assert.equal(again.applied, 0);
    assert.deepEqual(counterDiff(afterOnce.counters, afterTwice.counters), []);
  });
});

describe("npm run replay reads Lambda's on-failure messages", () => {
  it("takes the shard and range from a Kinesis mapping's KinesisBatchInfo", () => {
    // The shape Lambda sends to an SQS on-failure destination for a Kinesis event source mapping.
    const body = JSON.stringify({
      requestContext: { requestId: "c9b8fa9f-5a7f-4c1e-9c2d-3c5a1f0e1a11", functionArn: "arn:aws:lambda:eu-west-1:123456789012:function:analytics-analyzer", condition: "RetryAttemptsExhausted", approximateInvokeCount: 11 },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: null },
      version: "1.0",
      timestamp: "2026-11-21T12:34:56.789Z",
      KinesisBatchInfo: {
        shardId: "shardId-000000000001",
        startSequenceNumber: "49545115243490985018280067714973144582180062593244200961",
        endSequenceNumber: "49545115243490985018280067714973144582180062593244200999",
        approximateArrivalOfFirstRecord: "2026-11-21T12:30:00.000Z",
        approximateArrivalOfLastRecord: "2026-11-21T12:30:01.000Z",
        batchSize: 500,
        streamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events",
      },
    });
    assert.deepEqual(letterOf(body), {
      shardId: "shardId-000000000001",
      startSequenceNumber: "49545115243490985018280067714973144582180062593244200961",
      endSequenceNumber: "49545115243490985018280067714973144582180062593244200999",
      batchSize: 500,
    });
    assert.throws(() => letterOf(JSON.stringify({ DDBStreamBatchInfo: {} })), /no KinesisBatchInfo; is this the analyzer's dead-letter queue\?/);
  });
});

describe("books that check the table, not the plan (issue 8, item 12)", () => {
  it("fails when CountedRecords got in but a catalog counter didn't", () => {
    // Prepare: 5 donations counted in CountedRecords, but only 2 in the donations counters.
    const bucket = "2026-11-21T12:00:00.000Z";
    const counters: Counter[] = [
      { metric: "CountedRecords", dimensions: {}, bucket, count: 5 },
      { metric: "donations", dimensions: {}, bucket, count: 2, sum: 20 },
      { metric: "donations", dimensions: { platform: "Web" }, bucket, count: 2, sum: 20 },
    ];
    // Act
    const books = keepBooks({ catalog, received: 5, counters, datums: [] });
    // Assess
    assert.ok(books.booksProblems.some((p) => /the catalog's counters hold 2 records, CountedRecords says 5/.test(p)), books.booksProblems.join("\n"));
  });

  it("fails when a metric's split doesn't add up to its total", () => {
    const bucket = "2026-11-21T12:00:00.000Z";
    const counters: Counter[] = [
      { metric: "CountedRecords", dimensions: {}, bucket, count: 3 },
      { metric: "donations", dimensions: {}, bucket, count: 3, sum: 30 },
      { metric: "donations", dimensions: { platform: "Web" }, bucket, count: 1, sum: 10 },
    ];
    const books = keepBooks({ catalog, received: 3, counters, datums: [] });
    assert.ok(books.booksProblems.some((p) => /donations 2026-11-21T12:00:00.000Z: its split adds up to 1, its total is 3/.test(p)), books.booksProblems.join("\n"));
  });
});
