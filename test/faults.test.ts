import assert from "node:assert/strict";
import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { analyzerRules } from "../catalog";
import { type BatchRecord, planBatch } from "../functions/analyzer/aggregate";
import type { CounterMode } from "../functions/analyzer/counters";
import { processBatch } from "../functions/analyzer/process";
import { memoryLogger } from "../functions/shared/log";
import { capturedS3, LOCAL_AWS } from "../local/clients";
import { createCounterTable } from "../local/aws";
import { deliverShard, newStats } from "../local/esm";
import { produce, seeded } from "../local/producer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { emulators } from "./emulators";
import { fixtureCatalog } from "./fixtures";
import { counterDiff, scanCounters, truth } from "./truth";

const asCounters = (m: Map<string, number>) => new Map([...m].map(([k, count]) => [k, { count, sum: 0 }]));

const RUNS = 50;
const catalog = fixtureCatalog("web");
const rules = analyzerRules({ catalog, granularity: "minute" });

class Crash extends Error {}

/**
 * A DynamoDB client that fails the way production does: random throttling, and a crash
 * (the invocation dies) after k writes, when armed. Writes sent before the crash stay written.
 */
function faultyClient(endpoint: string, random: () => number, throttleRate: number) {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  const state = { writesLeft: Number.POSITIVE_INFINITY, crashed: false, throttles: 0, writes: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      if (state.crashed) throw new Crash("the invocation already died");
      if (random() < throttleRate) {
        state.throttles += 1;
        throw new ProvisionedThroughputExceededException({ message: "injected throttle", $metadata: {} });
      }
      if (state.writesLeft <= 0) {
        state.crashed = true;
        throw new Crash("crashed mid-batch");
      }
      const result = await next(args);
      state.writesLeft -= 1;
      state.writes += 1;
      return result;
    },
    { step: "initialize", name: "injectFaults" },
  );
  return { client, state };
}

interface RunOutcome {
  exact: boolean;
  drift: number;
  crashes: number;
  throttles: number;
  partialFailures: number;
  bisections: number;
}

async function run(mode: CounterMode, seed: number, endpoint: string, admin: DynamoDBClient): Promise<RunOutcome> {
  const random = seeded(seed);
  const table = `faults-${mode}-${seed}`;
  await createCounterTable(admin, table, { stream: false });
  const now = Date.parse("2026-11-21T12:00:00Z");
  const produced = produce({ catalog, count: 40 + Math.floor(random() * 160), seed, now, spanMs: 3 * 60_000, badRatio: 0.05 });
  const records: BatchRecord[] = produced.map((p, i) => ({
    shardId: "shardId-000000000001",
    sequenceNumber: (49_000_000_000_000_000_000n + BigInt(i) * 7n).toString(),
    data: p.data.toString("base64"),
    arrivalMs: now,
  }));
  const expected = truth(produced, catalog);

  const { client, state } = faultyClient(endpoint, random, 0.05);
  const s3 = capturedS3();
  const deps = { rules, dynamo: client, s3: s3.client, settings: { tableName: table, quarantineBucket: "q", mode, ttlDays: 7 }, log: memoryLogger() };
  const stats = newStats();
  let crashes = 0;
  await deliverShard({
    records,
    idOf: (r) => r.sequenceNumber,
    mapping: { batchSize: 10 + Math.floor(random() * 60), maximumRetryAttempts: 10_000, bisectBatchOnFunctionError: true },
    stats,
    invoke: async (batch) => {
      // A third of invocations die after k of their n writes, k anywhere from 0 to n
      // (k = n: every write landed but the invocation timed out before it answered).
      const armed = crashes === 0 || random() < 0.33; // every run crashes at least once
      const writes = planBatch(batch, rules).updates.length;
      Object.assign(state, { crashed: false, writesLeft: armed ? Math.floor(random() * (writes + 1)) : Number.POSITIVE_INFINITY });
      const result = await processBatch(batch, deps);
      if (state.crashed || state.writesLeft <= 0) {
        crashes += 1;
        throw new Crash("invocation crashed");
      }
      return result;
    },
  });
  assert.equal(stats.deadLettered, 0);

  const actual = await scanCounters(admin, table);
  const diffs = counterDiff(expected.counters, actual.counters);
  const rejectedDiffs = counterDiff(asCounters(expected.rejected), asCounters(actual.rejected));
  const drift = [...actual.counters.values()].reduce((n, c) => n + c.count, 0) - [...expected.counters.values()].reduce((n, c) => n + c.count, 0);
  const counted = produced.filter((p) => !p.badBecause).length;
  return { exact: diffs.length + rejectedDiffs.length === 0 && actual.counted === counted, drift, crashes, throttles: state.throttles, partialFailures: stats.partialFailures, bisections: stats.bisections };
}

describe("fault injection: crashes, redelivery, bisection and throttling", function () {
  this.timeout(600_000);
  let endpoint: string;
  let admin: DynamoDBClient;
  const outcomes: Record<CounterMode, RunOutcome[]> = { "exactly-once": [], add: [] };

  before(async () => {
    const env = await emulators();
    endpoint = env.dynamoEndpoint;
    admin = env.clients.dynamo;
    for (const mode of ["exactly-once", "add"] as const) {
      for (let seed = 1; seed <= RUNS; seed++) outcomes[mode].push(await run(mode, seed, endpoint, admin));
    }
    const sum = (mode: CounterMode, k: keyof RunOutcome) => outcomes[mode].reduce((n, o) => n + Number(o[k]), 0);
    for (const mode of ["exactly-once", "add"] as const) {
      console.log(
        `      ${mode}: ${outcomes[mode].filter((o) => o.exact).length}/${RUNS} runs exact; total drift ${sum(mode, "drift")}; ` +
          `${sum(mode, "crashes")} crashes, ${sum(mode, "throttles")} throttles, ${sum(mode, "partialFailures")} partial-failure retries, ${sum(mode, "bisections")} bisections`,
      );
    }
  });

  it(`keeps the counters exact in every one of ${RUNS} seeded runs with the high-water marks`, () => {
    const wrong = outcomes["exactly-once"].map((o, i) => ({ seed: i + 1, ...o })).filter((o) => !o.exact);
    assert.deepEqual(wrong, []);
    // The faults really happened: otherwise this test proves nothing.
    assert.ok(outcomes["exactly-once"].every((o) => o.crashes > 0));
    const all = outcomes["exactly-once"].reduce((t, o) => ({ throttles: t.throttles + o.throttles, partial: t.partial + o.partialFailures, bisections: t.bisections + o.bisections }), { throttles: 0, partial: 0, bisections: 0 });
    assert.ok(all.throttles > 0 && all.partial > 0 && all.bisections > 0, JSON.stringify(all));
  });

  it("shows the reference design (bare ADD) drifting under the same faults", () => {
    const drifted = outcomes.add.filter((o) => !o.exact);
    assert.ok(drifted.length >= RUNS / 2, `only ${drifted.length} of ${RUNS} runs drifted`);
    assert.ok(drifted.every((o) => o.drift > 0), "retries can only over-count");
  });
});

