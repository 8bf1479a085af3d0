import assert from "node:assert/strict";
import { forwarderRules } from "../catalog";
import { chunkDatums, type Datum, datumBytes, recordDatums, type RecordDatums } from "../functions/forwarder/deltas";
import type { ForwardMarks } from "../functions/forwarder/marks";
import { createForwarderHandler, forwardBatch } from "../functions/forwarder/process";
import { memoryLogger } from "../functions/shared/log";
import { capturedCloudWatch } from "../local/clients";
import { counterChange, lambdaContext, T0 } from "./factories";
import { fixtureCatalog } from "./fixtures";

const rules = forwarderRules(fixtureCatalog("web"));
const BUCKET = "2026-11-21T12:34:00.000Z";

/** Marks in memory, as the state table keeps them, with every write seen. */
function memoryMarks(): ForwardMarks & { writes: [string, string][] } {
  const marks = new Map<string, string>();
  const writes: [string, string][] = [];
  return {
    writes,
    read: async (id) => marks.get(id),
    write: async (id, through) => {
      writes.push([id, through]);
      marks.set(id, through);
    },
  };
}

describe("forwarder: a redelivered batch is not sent twice (issue 8, item 6)", () => {
  const batch = () => Array.from({ length: 5 }, (_, i) => counterChange({ metric: "pageViews", bucket: BUCKET, count: i + 2, oldCount: i + 1 }));

  it("skips what a crashed delivery already sent, and sends the rest", async () => {
    // Prepare: the first delivery sends the first two records, then its container dies before
    // Lambda hears back, so Lambda delivers the batch again from the same first record.
    const records = batch();
    const marks = memoryMarks();
    const small = { ...rules };
    // Act
    await forwardBatch(records.slice(0, 2), { rules: small, cloudwatch: capturedCloudWatch().client, log: memoryLogger(), marks, now: () => T0 });
    const firstId = records[0].eventID!;
    assert.deepEqual(marks.writes, [[firstId, records[1].dynamodb!.SequenceNumber]]);
    const redelivered = await forwardBatch(records, { rules: small, cloudwatch: capturedCloudWatch().client, log: memoryLogger(), marks, now: () => T0 });
    // Assess: the two records already sent are skipped, the three others go out.
    assert.equal(redelivered.skipped, 2);
    assert.equal(redelivered.datums, 1);
  });

  it("sends nothing when the mapping replays a batch it already checkpointed", async () => {
    const records = batch();
    const marks = memoryMarks();
    const cw = capturedCloudWatch();
    await forwardBatch(records, { rules, cloudwatch: cw.client, log: memoryLogger(), marks, now: () => T0 });
    await forwardBatch(records, { rules, cloudwatch: cw.client, log: memoryLogger(), marks, now: () => T0 });
    assert.equal(cw.calls.length, 1);
    assert.equal(cw.calls[0].input.MetricData?.[0].Value, 5);
  });

  it("stops before the invocation times out and reports where the retry starts, so Lambda never splits a half-sent batch", async () => {
    const records = batch();
    const cw = capturedCloudWatch();
    const result = await forwardBatch(records, { rules, cloudwatch: cw.client, log: memoryLogger(), marks: memoryMarks(), now: () => T0, remainingMs: () => 1_000 });
    assert.equal(cw.calls.length, 0);
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: records[0].dynamodb!.SequenceNumber }]);
  });

  it("subtracts decimal sums exactly (0.3 − 0.1 is 0.2, not 0.19999999999999998)", () => {
    const r = recordDatums(counterChange({ metric: "donations", bucket: BUCKET, count: 2, oldCount: 1, sum: 0.3, oldSum: 0.1 }), rules, T0);
    assert.equal(r.datums.find((d) => d.MetricName === "donationsAmount")?.Value, 0.2);
  });
});

describe("forwarder: counter changes to increments", () => {
  it("sends new − old on MODIFY (5 → 9 puts 4) and the whole count on INSERT", () => {
    const modify = recordDatums(counterChange({ metric: "pageViews", bucket: BUCKET, count: 9, oldCount: 5 }), rules, T0);
    assert.deepEqual(modify.datums.map((d) => [d.MetricName, d.Value, d.Unit, d.Timestamp.toISOString()]), [["pageViews", 4, "Count", BUCKET]]);
    const insert = recordDatums(counterChange({ metric: "pageViews", bucket: BUCKET, count: 3 }), rules, T0);
    assert.deepEqual(insert.datums.map((d) => d.Value), [3]);
  });

  it("sends count and sum increments with the dimensions of the counter", () => {
    const r = recordDatums(counterChange({ metric: "donations", bucket: BUCKET, dims: { platform: "Web" }, count: 3, oldCount: 1, sum: 30, oldSum: 10 }), rules, T0);
    assert.deepEqual(
      r.datums.map((d) => [d.MetricName, d.Value, d.Dimensions]),
      [
        ["donations", 2, [{ Name: "platform", Value: "Web" }]],
        ["donationsAmount", 20, [{ Name: "platform", Value: "Web" }]],
      ],
    );
  });

  it("sends nothing for REMOVE (TTL expiry) or an unchanged count", () => {
    assert.deepEqual(recordDatums(counterChange({ metric: "pageViews", bucket: BUCKET, count: 0, oldCount: 9, eventName: "REMOVE" }), rules, T0).datums, []);
    assert.deepEqual(recordDatums(counterChange({ metric: "pageViews", bucket: BUCKET, count: 9, oldCount: 9 }), rules, T0).datums, []);
  });

  it("never sends a negative count delta and reports it as an anomaly", () => {
    const r = recordDatums(counterChange({ metric: "pageViews", bucket: BUCKET, count: 2, oldCount: 5 }), rules, T0);
    assert.deepEqual(r.datums, []);
    assert.equal(r.anomalies[0].kind, "negative_delta");
  });

  it("drops, and reports, an increment CloudWatch would refuse, and a metric the catalog lacks", () => {
    const old = recordDatums(counterChange({ metric: "pageViews", bucket: "2026-10-01T00:00:00.000Z", count: 1 }), rules, T0);
    assert.deepEqual(old.datums, []);
    assert.equal(old.anomalies[0].kind, "invalid_datum");
    const unparseable = recordDatums(counterChange({ metric: "pageViews", bucket: "not a bucket", count: 1 }), rules, T0);
    assert.deepEqual(unparseable.datums, []);
    assert.equal(unparseable.anomalies[0].kind, "invalid_datum");
    const unknown = recordDatums(counterChange({ metric: "purchases", bucket: BUCKET, count: 1 }), rules, T0);
    assert.equal(unknown.anomalies[0].kind, "unknown_metric");
  });

  it("forwards rejected-record counters per reason", () => {
    const r = recordDatums(counterChange({ metric: "RejectedRecords", bucket: BUCKET, dims: { reason: "not_json" }, count: 2 }), rules, T0);
    assert.deepEqual(r.datums.map((d) => [d.MetricName, d.Value, d.Dimensions[0].Value]), [["RejectedRecords", 2, "not_json"]]);
  });
});

describe("forwarder: batching PutMetricData", () => {
  const datum = (name: string, value: number, bucket = BUCKET, dims: Datum["Dimensions"] = []): Datum => ({ MetricName: name, Dimensions: dims, Timestamp: new Date(bucket), Value: value, Unit: "Count" });
  const rec = (seq: string, ...datums: Datum[]): RecordDatums => ({ sequenceNumber: seq, datums, anomalies: [] });

  it("aggregates per (metric, dimensions, timestamp)", () => {
    const chunks = chunkDatums([rec("1", datum("a", 1)), rec("2", datum("a", 2)), rec("3", datum("a", 4, "2026-11-21T12:35:00Z")), rec("4", datum("a", 8, BUCKET, [{ Name: "p", Value: "x" }]))]);
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0].datums.map((d) => d.Value), [3, 4, 8]);
  });

  it("keeps every call within 1000 datums, in record order, each starting at its first record", () => {
    const records = Array.from({ length: 2500 }, (_, i) => rec(String(i).padStart(6, "0"), datum(`m${i}`, 1)));
    const chunks = chunkDatums(records);
    assert.deepEqual(chunks.map((c) => c.datums.length), [1000, 1000, 500]);
    assert.deepEqual(chunks.map((c) => c.firstSequence), ["000000", "001000", "002000"]);
  });

  it("keeps every call within 1 MB", () => {
    const long = "x".repeat(250);
    const records = Array.from({ length: 900 }, (_, i) => rec(String(i), datum(`${long}${i}`, 1, BUCKET, Array.from({ length: 5 }, (_, d) => ({ Name: `${long}${d}`, Value: long })))));
    const chunks = chunkDatums(records);
    assert.ok(chunks.length > 1);
    for (const c of chunks) assert.ok(c.bytes <= 1_000_000 && c.datums.reduce((n, d) => n + datumBytes(d), 0) === c.bytes);
    assert.equal(chunks.reduce((n, c) => n + c.datums.length, 0), 900);
  });

  it("never splits one record's increments across two calls", () => {
    const records = [rec("1", ...Array.from({ length: 999 }, (_, i) => datum(`a${i}`, 1))), rec("2", datum("b", 1), datum("c", 1))];
    const chunks = chunkDatums(records);
    assert.deepEqual(chunks.map((c) => [c.firstSequence, c.datums.length]), [["1", 999], ["2", 2]]);
  });

  it("sends each call and, when one fails, reports the first record it covered", async () => {
    // Prepare: 1,500 distinct counters make two calls; the second fails.
    const { client, calls } = capturedCloudWatch();
    let n = 0;
    client.middlewareStack.add((next) => async (args) => {
      n += 1;
      if (n === 2) throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $retryable: {} });
      return next(args);
    }, { step: "initialize", name: "failSecond", priority: "high" });
    const records = Array.from({ length: 1500 }, (_, i) => counterChange({ metric: "donations", bucket: BUCKET, dims: { platform: `p${i}` }, count: 1, sum: 5 }));
    const log = memoryLogger();
    // Act
    const result = await forwardBatch(records, { rules, cloudwatch: client, log, now: () => T0 });
    // Assess: 1,500 records × 2 series = 3,000 datums; the first call carried 1,000 (500 records).
    assert.equal(calls.length, 1);
    assert.equal(calls[0].input.MetricData?.length, 1000);
    assert.equal(calls[0].input.Namespace, "WebFixture");
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: records[500].dynamodb!.SequenceNumber }]);
    assert.ok(log.entries.some((e) => e.message === "PutMetricData failed" && e.transient === true));
  });
});

describe("forwarder: the handler its factory builds", () => {
  it("forwards the stream event's increments and logs with the invocation's request id", async () => {
    // Prepare
    const { client, calls } = capturedCloudWatch();
    const log = memoryLogger();
    const handler = createForwarderHandler({ rules, cloudwatch: client, log, now: () => T0 });
    const records = [counterChange({ metric: "pageViews", bucket: BUCKET, count: 9, oldCount: 5 }), counterChange({ metric: "nope", bucket: BUCKET, count: 1 })];
    // Act
    const result = await handler({ Records: records }, lambdaContext("req-7"), () => undefined);
    // Assess
    assert.deepEqual(result, { batchItemFailures: [] });
    assert.deepEqual(calls.map((c) => c.input.MetricData?.map((d) => (d as Datum).Value)), [[4]]);
    assert.ok(log.entries.some((e) => e.message === "counter change not forwarded" && e.kind === "unknown_metric"));
    assert.ok(log.entries.every((e) => e.requestId === "req-7"));
  });
});
