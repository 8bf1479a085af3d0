import assert from "node:assert/strict";
import { analyzerRules, forwarderRules, GRANULARITY_SECONDS } from "../catalog";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { processBatch } from "../functions/analyzer/process";
import { stateMarks } from "../functions/forwarder/marks";
import { forwardBatch } from "../functions/forwarder/process";
import { reconcileOnce } from "../functions/reconciler/process";
import { reconcilerRules } from "../functions/reconciler/reconcile";
import { memoryLogger } from "../functions/shared/log";
import { keepBooks, readCounters } from "../local/books";
import { capturedCloudWatch, capturedS3, storeDatums } from "../local/clients";
import { createCounterTable, createStateTable, readTableStream, tableStreamShards, toDynamoDBLambdaRecord } from "../local/aws";
import { deliverShard, newStats } from "../local/esm";
import { MetricStore } from "../local/metricStore";
import { produce, seeded } from "../local/producer";
import { emulators, type Emulators } from "./emulators";
import { fixtureCatalog } from "./fixtures";

const RUNS = 12;
const catalog = fixtureCatalog("web");
const granularity = "minute" as const;

class Crash extends Error {}

interface Outcome {
  /** Count datums CloudWatch got beyond the counters, as a share of the counters. */
  overcount: number;
  crashes: number;
  resends: number;
  replays: number;
  exactAfterReconcile: boolean;
  reconcilerRequests: number;
  series: number;
}

/**
 * One run: events counted (without faults) into a table with a stream, then the table's stream
 * forwarded under faults: the SDK resending a call CloudWatch had accepted, the invocation dying
 * after k of its calls, and the mapping delivering an already-checkpointed batch again. Then the
 * reconciler, once.
 */
async function run(env: Emulators, seed: number, withMarks: boolean): Promise<Outcome> {
  const random = seeded(seed);
  const admin = env.clients.dynamo;
  const table = `fwd-${withMarks ? "marks" : "bare"}-${seed}-${Date.now()}`;
  const state = `${table}-state`;
  const streamArn = (await createCounterTable(admin, table))!;
  await createStateTable(admin, state);
  const now = Date.now();
  const produced = produce({ catalog, count: 60 + Math.floor(random() * 140), seed, now, spanMs: 4 * 60_000, badRatio: 0.05 });
  const records: BatchRecord[] = produced.map((p, i) => ({ shardId: "shardId-000000000001", sequenceNumber: String(10_000 + i), data: p.data.toString("base64"), arrivalMs: now }));
  const rules = analyzerRules({ catalog, granularity });
  for (let i = 0; i < records.length; i += 25) {
    const r = await processBatch(records.slice(i, i + 25), {
      rules,
      dynamo: admin,
      s3: capturedS3().client,
      settings: { tableName: table, quarantineBucket: "q", mode: "exactly-once", ttlDays: 16 },
      log: memoryLogger(),
    });
    assert.deepEqual(r.batchItemFailures, []);
  }

  const store = new MetricStore();
  const faults = { on: true, resends: 0, crashes: 0, replays: 0, putsLeft: Number.POSITIVE_INFINITY, crashed: false };
  const cloudwatch = capturedCloudWatch(
    (input) => {
      if (!faults.on) return storeDatums(store, input);
      if (faults.putsLeft <= 0) {
        faults.crashed = true;
        throw new Crash("the invocation died before CloudWatch answered");
      }
      storeDatums(store, input);
      faults.putsLeft -= 1;
      // CloudWatch accepted it, the answer was lost, and the SDK sent it again.
      if (random() < 0.15) {
        faults.resends += 1;
        storeDatums(store, input);
      }
    },
    { store },
  ).client;
  const forwarder = { rules: forwarderRules(catalog), cloudwatch, log: memoryLogger(), now: () => now, ...(withMarks ? { marks: stateMarks({ client: admin, tableName: state }) } : {}) };
  for (const shardId of await tableStreamShards(env.clients.streams, streamArn)) {
    const changes = (await readTableStream(env.clients.streams, streamArn, shardId)).map((r) => toDynamoDBLambdaRecord(r, streamArn));
    await deliverShard({
      records: changes,
      idOf: (r) => r.dynamodb?.SequenceNumber ?? "",
      mapping: { batchSize: 5 + Math.floor(random() * 40), maximumRetryAttempts: 10_000, bisectBatchOnFunctionError: true },
      stats: newStats(),
      invoke: async (batch) => {
        // A quarter of invocations die after k of their calls (k = 0 dies before sending anything).
        Object.assign(faults, { crashed: false, putsLeft: random() < 0.25 ? Math.floor(random() * 3) : Number.POSITIVE_INFINITY });
        const result = await forwardBatch(batch, forwarder);
        if (faults.crashed) {
          faults.crashes += 1;
          throw new Crash("invocation crashed");
        }
        // The mapping loses its checkpoint and hands the same batch over again.
        if (result.batchItemFailures.length === 0 && random() < 0.15) {
          faults.replays += 1;
          Object.assign(faults, { putsLeft: Number.POSITIVE_INFINITY });
          await forwardBatch(batch, forwarder);
        }
        return result;
      },
    });
  }

  const counters = await readCounters(admin, table);
  const countTotal = counters.reduce((n, c) => n + c.count, 0);
  const sentCounts = store.datums
    .filter((d) => d.namespace === catalog.namespace && (catalog.metrics[d.metricName] !== undefined || d.metricName === "CountedRecords" || d.metricName === "RejectedRecords" || d.metricName === "DimensionOverflow"))
    .reduce((n, d) => n + d.value, 0);
  const overcount = (sentCounts - countTotal) / countTotal;

  // The reconciler, once every bucket has closed and settled (its own calls go through unharmed here;
  // a resend of a correction is the next run's to correct).
  faults.on = false;
  const bucketMs = GRANULARITY_SECONDS[granularity] * 1000;
  let at = now;
  for (const c of counters) at = Math.max(at, Date.parse(c.bucket) + bucketMs, (c.updatedAtMs ?? 0) + 1000);
  const settleMinutes = 10;
  const report = await reconcileOnce({
    rules: reconcilerRules(rules, forwarderRules(catalog)),
    dynamo: admin,
    cloudwatch,
    settings: { tableName: table, lookbackHours: 3, settleMinutes },
    log: memoryLogger(),
    now: () => at + settleMinutes * 60_000,
  });
  const books = keepBooks({ catalog, received: records.length, counters, datums: store.datums });
  const requests = Object.values(report.requests).reduce((n, r) => n + r, 0);
  return {
    overcount,
    crashes: faults.crashes,
    resends: faults.resends,
    replays: faults.replays,
    exactAfterReconcile: books.metricProblems.length === 0 && books.booksProblems.length === 0,
    reconcilerRequests: requests,
    series: report.series,
  };
}

describe("fault injection on the forwarder: resends, crashes after sending, checkpoint replays, then the reconciler (issue 8, item 6)", function () {
  this.timeout(600_000);
  const outcomes: Record<"marks" | "bare", Outcome[]> = { marks: [], bare: [] };

  before(async () => {
    const env = await emulators();
    for (let seed = 1; seed <= RUNS; seed++) {
      outcomes.marks.push(await run(env, seed, true));
      outcomes.bare.push(await run(env, seed, false));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [name, list] of Object.entries(outcomes)) {
      const pct = list.map((o) => o.overcount * 100);
      console.log(
        `      forwarder ${name === "marks" ? "with marks" : "without marks"}: ${list.length} runs, ${list.reduce((n, o) => n + o.crashes, 0)} crashes, ` +
          `${list.reduce((n, o) => n + o.resends, 0)} resends, ${list.reduce((n, o) => n + o.replays, 0)} replays; CloudWatch over the counters before reconciling: ` +
          `median ${median(pct).toFixed(1)}%, max ${Math.max(...pct).toFixed(1)}%; reconciler requests per 1,000 series: ` +
          `${Math.round((list.reduce((n, o) => n + o.reconcilerRequests, 0) / list.reduce((n, o) => n + o.series, 0)) * 1000)}`,
      );
    }
  });

  it("makes CloudWatch's Sum per series per bucket equal the counters in every run, after the reconciler", () => {
    for (const [name, list] of Object.entries(outcomes)) {
      list.forEach((o, i) => assert.ok(o.exactAfterReconcile, `${name} run ${i + 1} not exact after reconciling`));
    }
  });

  it("injected every kind of fault", () => {
    for (const list of Object.values(outcomes)) {
      assert.ok(list.reduce((n, o) => n + o.crashes, 0) > 0);
      assert.ok(list.reduce((n, o) => n + o.resends, 0) > 0);
      assert.ok(list.reduce((n, o) => n + o.replays, 0) > 0);
    }
  });

  it("overcounts less with the forwarder's marks than without them", () => {
    const total = (list: Outcome[]) => list.reduce((n, o) => n + o.overcount, 0);
    assert.ok(total(outcomes.marks) < total(outcomes.bare), `${total(outcomes.marks)} vs ${total(outcomes.bare)}`);
  });
});
