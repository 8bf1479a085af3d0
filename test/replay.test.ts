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

/** A client whose writes to the counters named in `failing` fail (throttled, or a broken item); the set may change between attempts. */
function failingOn(endpoint: string, failing: Set<string>): DynamoDBClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } }; UpdateExpression?: string };
      if (input.UpdateExpression !== undefined && failing.has(input.Key?.pk?.S ?? "")) throw Object.assign(new Error("injected: this item refuses writes"), { name: "ThrottlingException" });
      return next(args);
    },
    { step: "initialize", name: "failSomeItems" },
  );
  return client;
}

/** Tables on DynamoDB Local, 120 events on one shard, and the analyzer's dependencies over them. */
async function scenario(seed: number) {
  const env = await emulators();
  const admin = env.clients.dynamo;
  const table = `replay-${seed}-${Date.now()}`;
  const state = `${table}-state`;
  await createCounterTable(admin, table, { stream: false });
  await createStateTable(admin, state);
  const now = Date.parse("2026-11-21T12:00:00Z");
  const produced = produce({ catalog, count: 120, seed, now, spanMs: 60_000, badRatio: 0.05 });
  const records: BatchRecord[] = produced.map((p, i) => ({ shardId: SHARD, sequenceNumber: String(1000 + i * 3), data: p.data.toString("base64"), arrivalMs: now }));
  const settings = { tableName: table, quarantineBucket: "q", mode: "exactly-once" as const, ttlDays: 16, stateTable: state };
  const failing = new Set<string>();
  const deps = (dynamo: DynamoDBClient) => ({
    rules,
    dynamo,
    s3: capturedS3().client,
    settings,
    log: memoryLogger(),
    gate: registryGate({ client: admin, tableName: state }),
    ledger: stateLedger({ client: admin, tableName: state }),
  });
  const expected = truth(produced, catalog);
  const exact = async () => {
    const got = await scanCounters(admin, table);
    return counterDiff(expected.counters, got.counters).length === 0 && got.counted === produced.filter((p) => !p.badBecause).length;
  };
  return { admin, records, failing, healthy: deps(admin), broken: deps(failingOn(env.dynamoEndpoint, failing)), settings, exact, table };
}

/** Delivers a batch as Lambda does until it gives up: retries from the reported record; returns the last attempt's batch. */
async function untilDeadLettered(batch: BatchRecord[], deps: Parameters<typeof processBatch>[1], attempts: number, between?: (attempt: number) => void): Promise<BatchRecord[]> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    between?.(attempt);
    const from = (await processBatch(batch, deps)).batchItemFailures[0]?.itemIdentifier;
    assert.ok(from !== undefined, "the batch must keep failing");
    if (attempt < attempts - 1) batch = batch.slice(batch.findIndex((r) => r.sequenceNumber === from));
  }
  return batch;
}

const letterFor = (batch: BatchRecord[], invocations = 3) => ({
  shardId: SHARD,
  startSequenceNumber: batch[0].sequenceNumber,
  endSequenceNumber: batch[batch.length - 1].sequenceNumber,
  batchSize: batch.length,
  invocations,
});

describe("dead letters replayed exactly once (issue 8, item 9)", function () {
  this.timeout(120_000);

  it("applies only what the failed batch left unapplied, after later batches moved the marks, and a second replay adds nothing", async () => {
    // Prepare: a batch whose per-platform donation counter fails on every retry, so Lambda gives
    // up on it and moves on; a later batch then moves every item's high-water mark past it.
    const s = await scenario(9);
    s.failing.add("donations#platform=Web");
    const batch = await untilDeadLettered(s.records.slice(0, 60), s.broken, 3);
    assert.deepEqual((await processBatch(s.records.slice(60), s.healthy)).batchItemFailures, []);
    assert.equal(await s.exact(), false, "the dead letter must have left counters short");
    // Act: replay, twice.
    const once = await replayDeadLetter(letterFor(batch), batch, s.healthy);
    const exactOnce = await s.exact();
    const twice = await replayDeadLetter(letterFor(batch), batch, s.healthy);
    // Assess: exact after one replay, unchanged by the second.
    assert.equal(once.ledger, "found");
    assert.ok(once.applied >= 1 && once.failed === 0, JSON.stringify(once));
    assert.ok(exactOnce);
    assert.equal(twice.applied, 0);
    assert.ok(await s.exact());
  });

  it("finds the shard's entry still unfiled when no later batch came, and an entry whose range only overlaps the letter's", async () => {
    // Prepare: the first attempt fails on the donations total and files its entry from the
    // batch's first record; the retry dies before it writes anything, and Lambda gives up on
    // the retried range, which starts later than the entry.
    const s = await scenario(10);
    s.failing.add("donations");
    const first = s.records.slice(0, 60);
    const from = (await processBatch(first, s.broken)).batchItemFailures[0].itemIdentifier;
    const retried = first.slice(first.findIndex((r) => r.sequenceNumber === from));
    assert.notEqual(retried[0].sequenceNumber, first[0].sequenceNumber);
    // Act: replayed before any later batch has filed the entry.
    const report = await replayDeadLetter(letterFor(retried), retried, s.healthy);
    // Assess
    assert.equal(report.ledger, "found");
    assert.equal(report.failed, 0, JSON.stringify(report));
    assert.deepEqual((await processBatch(s.records.slice(60), s.healthy)).batchItemFailures, []);
    assert.ok(await s.exact());
  });

  it("doesn't add again what an earlier attempt applied when a later attempt's first write to it fails", async () => {
    // Prepare: attempt 1 applies the page-view counters and fails on donations; attempt 2 is
    // throttled on a page-view counter it already holds. Its ledger must not list those records.
    const s = await scenario(12);
    s.failing.add("donations");
    const batch = await untilDeadLettered(s.records.slice(0, 60), s.broken, 2, (attempt) => attempt === 1 && s.failing.add("pageViews"));
    s.failing.clear();
    assert.deepEqual((await processBatch(s.records.slice(60), s.healthy)).batchItemFailures, []);
    // Act
    const report = await replayDeadLetter(letterFor(batch), batch, s.healthy);
    // Assess
    assert.equal(report.failed, 0, JSON.stringify(report));
    assert.ok(await s.exact());
  });

  it("refuses a letter for a batch that ran when the ledger has no entry, and applies one that never ran", async () => {
    const s = await scenario(13);
    const batch = s.records.slice(0, 60);
    const ran = await replayDeadLetter(letterFor(batch, 2), batch, s.healthy);
    assert.deepEqual([ran.ledger, ran.applied], ["missing", 0]);
    assert.ok(ran.failed > 0);
    const neverRan = await replayDeadLetter(letterFor(batch, 0), batch, s.healthy);
    assert.deepEqual([neverRan.ledger, neverRan.failed], ["never-ran", 0]);
    assert.deepEqual((await processBatch(s.records.slice(60), s.healthy)).batchItemFailures, []);
    assert.ok(await s.exact());
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
      invocations: 11,
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

describe("capped dimensions decided alike by every container (issue 8, item 7)", function () {
  this.timeout(60_000);

  it("keeps the first values up to the cap across two containers, and both decide every value the same way", async () => {
    // Prepare: two containers' gates over one state table; shop's refunds.cause keeps 5 values.
    const env = await emulators();
    const state = `registry-${Date.now()}`;
    await createStateTable(env.clients.dynamo, state);
    const one = registryGate({ client: env.clients.dynamo, tableName: state });
    const two = registryGate({ client: env.clients.dynamo, tableName: state });
    const ask = (values: string[]) => values.map((value) => ({ metric: "refunds", field: "cause", value, maxValues: 5 }));
    // Act: each container sees new values in its own order.
    await one.decide(ask(["a", "b", "c"]));
    await two.decide(ask(["d", "a", "e", "f", "g"]));
    await one.decide(ask(["h", "e"]));
    // Assess: the first five distinct values are kept, whichever container saw them first.
    const decisions = (gate: typeof one) => ["a", "b", "c", "d", "e", "f", "g", "h"].map((v) => gate.admitted("refunds", "cause", v, 5));
    assert.deepEqual(decisions(one), [true, true, true, true, true, false, false, false]);
    assert.deepEqual(decisions(two), decisions(one));
  });
});
