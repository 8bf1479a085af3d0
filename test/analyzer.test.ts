import assert from "node:assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { analyzerRules, counterKey, defineCatalog, formatUnits, toMark, valuesKey } from "../catalog";
import { planBatch, toBatchRecords } from "../functions/analyzer/aggregate";
import { bucketStart, decodeRecord, memoryGate, parseTimestamp, REJECT_REASONS, type RejectReason } from "../functions/analyzer/decode";
import { createAnalyzerHandler, processBatch } from "../functions/analyzer/process";
import { quarantineBody, quarantineKey } from "../functions/analyzer/quarantine";
import { memoryLogger } from "../functions/shared/log";
import { captureAtBoundary, capturedS3, LOCAL_AWS } from "../local/clients";
import { b64, event, kinesisLambdaEvent, lambdaContext, record, T0 } from "./factories";
import { fixtureCatalog } from "./fixtures";

const rules = analyzerRules({ catalog: fixtureCatalog("web"), granularity: "minute" });
const decode = (data: Record<string, unknown> | { raw: string }, arrivalMs = T0) => decodeRecord(record(data).data, rules, arrivalMs, memoryGate());

describe("analyzer: decoding and validation", () => {
  it("decodes base64 before parsing and counts a page view in its minute", () => {
    // Prepare
    const data = b64(JSON.stringify({ event_type: "page view", utc_timestamp: "2015-10-31T12:34:56" }));
    // Act
    const decoded = decodeRecord(data, rules, Date.parse("2015-10-31T12:40:00Z"), memoryGate());
    // Assess
    assert.ok(decoded.ok);
    assert.equal(decoded.contributions.length, 1);
    assert.equal(decoded.contributions[0].rule.metric, "pageViews");
    assert.equal(new Date(decoded.contributions[0].bucketMs).toISOString(), "2015-10-31T12:34:00.000Z");
  });

  const rejections: [RejectReason, Record<string, unknown> | { raw: string }][] = [
    ["bad_base64", { raw: "not base64!!" }],
    ["bad_utf8", { raw: Buffer.from([0xff, 0xfe, 0x7b]).toString("base64") }],
    ["not_json", { raw: b64("{event_type: page view}") }],
    ["not_object", { raw: b64("[1,2,3]") }],
    ["missing_field", { utc_timestamp: "2026-11-21T12:00:00" }],
    ["wrong_type", event({ event_type: 42 })],
    ["bad_timestamp", event({ utc_timestamp: "2026-02-30T10:00:00" })],
    ["outside_window", event({ utc_timestamp: "2026-10-01T00:00:00" })],
    ["unknown_event", event({ event_type: "purchase" })],
    ["not_finite", { raw: b64('{"event_type":"donation","utc_timestamp":"2026-11-21T12:00:00","platform":"Web","amount":1e400}') }],
    ["bad_amount", event({ event_type: "donation", platform: "Web", amount: 1e130 })],
  ];
  it("covers every rejection reason", () => {
    assert.deepEqual(rejections.map(([reason]) => reason).sort(), [...REJECT_REASONS].sort());
  });
  for (const [reason, data] of rejections) {
    it(`rejects ${reason}`, () => {
      const decoded = decode(data);
      assert.equal(decoded.ok, false);
      assert.equal(!decoded.ok && decoded.reason, reason);
    });
  }

  it("rejects a donation with a string amount, or a timestamp of the wrong type", () => {
    const donation = { event_type: "donation", utc_timestamp: "2026-11-21T12:00:00", platform: "Facebook", amount: 10 };
    assert.equal((decode({ ...donation, amount: "10" }) as { reason: string }).reason, "wrong_type");
    assert.equal((decode({ ...donation, utc_timestamp: true }) as { reason: string }).reason, "wrong_type");
    assert.equal((decode({ ...donation, utc_timestamp: undefined }) as { reason: string }).reason, "missing_field");
    assert.equal((decode({ ...donation, utc_timestamp: "yesterday" }) as { reason: string }).reason, "bad_timestamp");
  });

  it("counts only what can still reach CloudWatch: 13 days back to 1 h 50 min ahead of arrival (issue 8, item 4)", () => {
    const at = (ms: number) => decode(event({ utc_timestamp: ms }));
    assert.ok(at(T0 - 13 * 86_400_000).ok);
    assert.equal(at(T0 - 13 * 86_400_000 - 1).ok, false);
    // Just inside CloudWatch's own 14 days at arrival, but not once forwarding has taken its time.
    assert.equal(at(T0 - 14 * 86_400_000 + 3_600_000).ok, false);
    assert.ok(at(T0 + 110 * 60_000).ok);
    assert.equal(at(T0 + 110 * 60_000 + 1).ok, false);
  });
});

describe("analyzer: timestamps and buckets", () => {
  const minute = (ts: unknown) => new Date(bucketStart(parseTimestamp(ts), 60)).toISOString();
  const hour = (ts: unknown) => new Date(bucketStart(parseTimestamp(ts), 3600)).toISOString();

  it("puts xx:59.999 and xx:00.000 in different minutes", () => {
    assert.equal(minute("2026-11-21T12:34:59.999"), "2026-11-21T12:34:00.000Z");
    assert.equal(minute("2026-11-21T12:35:00.000"), "2026-11-21T12:35:00.000Z");
  });
  it("rolls over the hour and the day", () => {
    assert.equal(hour("2026-11-21T12:59:59.999Z"), "2026-11-21T12:00:00.000Z");
    assert.equal(hour("2026-11-21T13:00:00Z"), "2026-11-21T13:00:00.000Z");
    assert.equal(minute("2026-12-31T23:59:59.999"), "2026-12-31T23:59:00.000Z");
    assert.equal(minute("2027-01-01T00:00:00"), "2027-01-01T00:00:00.000Z");
  });
  it("reads no zone as UTC and applies offsets", () => {
    assert.equal(parseTimestamp("2015-10-31T12:34:56"), Date.parse("2015-10-31T12:34:56Z"));
    assert.equal(parseTimestamp("2015-10-31T14:34:56+02:00"), Date.parse("2015-10-31T12:34:56Z"));
    assert.equal(parseTimestamp("2015-10-31T07:04:56-0530"), Date.parse("2015-10-31T12:34:56Z"));
    assert.equal(parseTimestamp("2015-10-31 12:34:56z"), Date.parse("2015-10-31T12:34:56Z"));
    assert.equal(hour("2015-11-01T00:30:00+01:00"), "2015-10-31T23:00:00.000Z");
  });
  it("reads numbers as epoch milliseconds", () => {
    assert.equal(parseTimestamp(1446294896000), Date.parse("2015-10-31T12:34:56Z"));
  });
  it("refuses impossible dates and times", () => {
    for (const bad of ["2015-13-01T00:00:00", "2015-02-29T00:00:00", "2015-10-31T24:00:00", "2015-10-31T12:60:00", "2015-10-31", "2015-10-31T12:00:00+19:00", Number.NaN, null, {}]) {
      assert.ok(Number.isNaN(parseTimestamp(bad)), String(bad));
    }
    assert.ok(!Number.isNaN(parseTimestamp("2016-02-29T00:00:00")));
  });
});

describe("analyzer: rolling a batch up", () => {
  it("makes one update per distinct counter key, with per-platform and total donations", () => {
    // Prepare
    const records = [
      record(event()),
      record(event({ utc_timestamp: "2026-11-21T12:34:01" })),
      record(event({ utc_timestamp: "2026-11-21T12:35:00" })),
      record({ event_type: "donation", utc_timestamp: "2026-11-21T12:34:10", platform: "Facebook", amount: 10 }),
      record({ event_type: "donation", utc_timestamp: "2026-11-21T12:34:20", platform: "Web", amount: 2.5 }),
      record({ event_type: "donation", utc_timestamp: "2026-11-21T12:34:30", platform: "Facebook", amount: 5 }),
      record({ raw: "!!" }),
      record(event({ event_type: "purchase" })),
    ];
    // Act
    const plan = planBatch(records, rules);
    // Assess
    assert.equal(plan.received, 8);
    assert.equal(plan.counted, 6);
    assert.equal(plan.rejections.length, 2);
    assert.equal(plan.received, plan.counted + plan.rejections.length);
    assert.deepEqual(plan.rejectedByReason, { bad_base64: 1, unknown_event: 1 });
    // Each update goes to its shard's part of the counter.
    for (const u of plan.updates) assert.equal(u.sk, `${u.bucket}#${records[0].shardId}`);
    const view = Object.fromEntries(plan.updates.map((u) => [`${u.pk} ${u.bucket}`, [u.count, u.hasSum ? u.sum : undefined]]));
    assert.deepEqual(view, {
      "pageViews 2026-11-21T12:34:00.000Z": [2, undefined],
      "pageViews 2026-11-21T12:35:00.000Z": [1, undefined],
      "donations 2026-11-21T12:34:00.000Z": [3, 1750n],
      "donations#platform=Facebook 2026-11-21T12:34:00.000Z": [2, 1500n],
      "donations#platform=Web 2026-11-21T12:34:00.000Z": [1, 250n],
      "CountedRecords 2026-11-21T12:34:00.000Z": [6, undefined],
      "RejectedRecords 2026-11-21T12:34:00.000Z": [2, undefined],
      "RejectedRecords#reason=bad_base64 2026-11-21T12:34:00.000Z": [1, undefined],
      "RejectedRecords#reason=unknown_event 2026-11-21T12:34:00.000Z": [1, undefined],
    });
    const fb = plan.updates.find((u) => u.pk === "donations#platform=Facebook")!;
    assert.deepEqual(fb.dimensions, { platform: "Facebook" });
    assert.deepEqual(fb.seqs, [records[3].sequenceNumber, records[5].sequenceNumber]);
  });

  it("sums amounts as exact decimals, as written, never as binary floats (issue 8, item 2)", () => {
    // Prepare: 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
    const amounts = [0.1, 0.2];
    const records = amounts.map((amount, i) => record({ event_type: "donation", utc_timestamp: `2026-11-21T12:34:${10 + i}`, platform: "Web", amount }));
    // Act
    const total = planBatch(records, rules).updates.find((u) => u.pk === "donations")!;
    // Assess
    assert.equal(formatUnits(total.sum, total.sumDecimals), "0.3");
    assert.notEqual(String(amounts.reduce((a, b) => a + b, 0)), "0.3");
  });

  it("rejects an amount a counter could not keep adding up, with a reason of its own (issue 8, item 1)", () => {
    for (const amount of [1e130, 1e-40, 0.001, 1e24]) {
      const decoded = decode(event({ event_type: "donation", platform: "Web", amount }));
      assert.equal(!decoded.ok && decoded.reason, "bad_amount", String(amount));
    }
    const largest = decode(event({ event_type: "donation", platform: "Web", amount: 9.99e23 }));
    assert.ok(largest.ok && largest.contributions[0].sum === 999n * 10n ** 23n);
  });

  it("counts a value outside a dimension's allowed list under (other), and in DimensionOverflow (issue 8, item 7)", () => {
    // Prepare: hundreds of random platforms.
    const records = Array.from({ length: 300 }, (_, i) =>
      record({ event_type: "donation", utc_timestamp: "2026-11-21T12:34:10", platform: `random-${i}-${Math.random()}`, amount: 1 }),
    );
    // Act
    const plan = planBatch(records, rules);
    // Assess: one series for all of them, and the overflow counted by dimension.
    const keys = plan.updates.map((u) => u.pk).sort();
    assert.deepEqual(keys, ["CountedRecords", "DimensionOverflow", "DimensionOverflow#dimension=donations.platform", "donations", "donations#platform=(other)"]);
    assert.ok(plan.updates.every((u) => u.count === 300));
  });

  it("counts a donation without a platform in the total and under (none) (issue 8, item 8)", () => {
    const plan = planBatch([record({ event_type: "donation", utc_timestamp: "2026-11-21T12:34:10", amount: 5 }), record({ event_type: "donation", utc_timestamp: "2026-11-21T12:34:11", platform: "", amount: 1 })], rules);
    assert.equal(plan.counted, 2);
    const view = Object.fromEntries(plan.updates.map((u) => [u.pk, [u.count, u.sum]]));
    assert.deepEqual(view.donations, [2, 600n]);
    assert.deepEqual(view["donations#platform=(none)"], [2, 600n]);
  });

  it("keeps a capped dimension's first values and counts later ones under (other)", () => {
    const shop = analyzerRules({ catalog: fixtureCatalog("shop"), granularity: "minute" });
    const refund = (cause: unknown) => record({ event_type: "refund", occurred_at: "2026-11-21T12:34:56", cause });
    // Act: the cap is 5; a lone surrogate and a number are never kept.
    const plan = planBatch(["a", "b", "c", "a", "\ud800", 7, "d", "e", "f", "g"].map(refund), shop);
    // Assess
    const causes = Object.fromEntries(plan.updates.filter((u) => u.metric === "refunds" && u.pk !== "refunds").map((u) => [u.dimensions.cause, u.count]));
    assert.deepEqual(causes, { a: 2, b: 1, c: 1, d: 1, e: 1, "(other)": 4 });
  });

  it("pads sequence numbers so string order is numeric order", () => {
    assert.ok(toMark("9") < toMark("10"));
    assert.equal(toMark("49590338271490256608559692538361571095921575989136588898").length, 129);
  });

  it("encodes dimension values so no two counters share a key, whatever the strings hold", () => {
    const lists = [["x&b=y", "z"], ["x", "y&b=z"], ["a\u0000b", "c"], ["a", "b\u0000c"], ["%26", ""], ["&", ""], ["%", "#"], ["%25", "%23"], ["\ud800", "x"]];
    const keys = lists.map((values) => counterKey("m", ["a", "b"], values));
    assert.equal(new Set(keys).size, lists.length, keys.join(" | "));
    assert.equal(new Set(lists.map(valuesKey)).size, lists.length);
    assert.equal(counterKey("donations", ["platform"], ["Web"]), "donations#platform=Web");
  });

  it("keeps two dimension-value lists that differ only where a naive join would blur them apart in one batch", () => {
    // Prepare: ("a\0b", "c") and ("a", "b\0c") joined on U+0000 would be one counter.
    const twoDims = analyzerRules({
      catalog: defineCatalog({
        namespace: "TwoDims",
        events: { typeField: "event_type", timeField: "occurred_at" },
        metrics: { orders: { event: "order placed", label: "Orders", dimensions: { country: { maxValues: 10 }, channel: { maxValues: 10 } } } },
      }),
      granularity: "minute",
    });
    const order = (country: string, channel: string) => record({ event_type: "order placed", occurred_at: "2026-11-21T12:34:56", country, channel });
    // Act
    const plan = planBatch([order("a\u0000b", "c"), order("a", "b\u0000c")], twoDims);
    // Assess
    const split = plan.updates.filter((u) => u.metric === "orders" && Object.keys(u.dimensions).length === 2);
    assert.deepEqual(split.map((u) => [u.dimensions, u.count]), [[{ country: "a\u0000b", channel: "c" }, 1], [{ country: "a", channel: "b\u0000c" }, 1]]);
  });

  it("reads the Lambda event's shard, sequence number and arrival time", () => {
    const r = record(event(), { shardId: "shardId-000000000007", arrivalMs: T0 + 123 });
    assert.deepEqual(toBatchRecords(kinesisLambdaEvent([r])), [r]);
  });

  it("keeps rejects as JSON lines under a key fixed by the batch, so a retry overwrites its own object", () => {
    const plan = planBatch([record({ raw: "%%%%" }), record(event({ event_type: 7 }))], rules);
    const key = quarantineKey(plan.rejections);
    assert.match(key, /^rejected\/2026\/11\/21\/shardId-000000000000\/\d+-\d+\.jsonl$/);
    const lines = quarantineBody(plan.rejections).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.reason), ["bad_base64", "wrong_type"]);
    assert.equal(lines[0].data, "%%%%");
    assert.equal(lines[1].sequenceNumber, plan.rejections[1].sequenceNumber);
  });
});

const SETTINGS = { tableName: "t", quarantineBucket: "q", mode: "exactly-once", ttlDays: 7 } as const;

describe("analyzer: the handler its factory builds", () => {
  it("answers the Lambda event with batchItemFailures and logs with the invocation's request id", async () => {
    // Prepare: DynamoDB answered at the SDK boundary; one record is bad.
    const dynamo = new DynamoDBClient({ ...LOCAL_AWS });
    const writes: string[] = [];
    captureAtBoundary<{ Key: { pk: { S: string } } }>(dynamo, (input) => {
      writes.push(input.Key.pk.S);
      return {};
    });
    const s3 = capturedS3();
    const log = memoryLogger();
    const handler = createAnalyzerHandler({ rules, dynamo, s3: s3.client, settings: SETTINGS, log });
    // Act
    const result = await handler(kinesisLambdaEvent([record(event()), record({ raw: "%%%%" })]), lambdaContext("req-1"), () => undefined);
    // Assess
    assert.deepEqual(result, { batchItemFailures: [] });
    assert.deepEqual(writes.sort(), ["CountedRecords", "RejectedRecords", "RejectedRecords#reason=bad_base64", "pageViews"]);
    assert.equal(s3.objects.size, 1);
    assert.ok(log.entries.length >= 2);
    assert.ok(log.entries.every((e) => e.requestId === "req-1"), JSON.stringify(log.entries));
  });
});

describe("analyzer: a failed write", () => {
  it("reports the first record the failed counter had not applied, and only that", async () => {
    // Prepare: the clicks counter is throttled; page views write fine.
    const dynamo = new DynamoDBClient({ ...LOCAL_AWS, maxAttempts: 1 });
    captureAtBoundary<{ Key: { pk: { S: string } } }>(dynamo, (input) => {
      if (input.Key.pk.S === "clicks") throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), { name: "ThrottlingException" });
      return {};
    });
    const records = [record(event()), record(event({ event_type: "click" })), record(event()), record(event({ event_type: "click" }))];
    const log = memoryLogger();
    // Act
    const result = await processBatch(records, { rules, dynamo, s3: capturedS3().client, settings: SETTINGS, log });
    // Assess
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: records[1].sequenceNumber }]);
    const failed = log.entries.find((e) => e.message === "counter update failed");
    assert.equal(failed?.transient, true);
    const done = log.entries.find((e) => e.message === "batch done");
    assert.equal(done?.balanced, true);
    assert.equal(done?.retryFrom, records[1].sequenceNumber);
  });
});
