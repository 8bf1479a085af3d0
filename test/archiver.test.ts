import assert from "node:assert/strict";
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from "aws-lambda";
import { archiveColumns, archiveProblems, namedQueries, RECORD_COLUMNS } from "../catalog/archive";
import { defineCatalog, loadCatalog } from "../catalog";
import { analyzerRules } from "../catalog/rules";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import type { RegistryGate } from "../functions/analyzer/registry";
import { createArchiverHandler, transformRecords } from "../functions/archiver/process";
import { memoryLogger } from "../functions/shared/log";
import { fixtureCatalog } from "./fixtures";
import { firehoseEvent as streamFirehoseEvent } from "../local/aws";
import { b64, event, lambdaContext, record, T0 } from "./factories";

const catalog = loadCatalog("analytics");
const rules = analyzerRules({ catalog, granularity: "minute" });
const columns = archiveColumns(catalog);
const deps = { rules, columns, log: memoryLogger() };

/**
 * A Firehose transformation event over a Kinesis stream, in the shape Firehose sends it, with
 * Firehose's own arrival 5 s after Kinesis's: the archiver must judge by Kinesis's.
 */
function firehoseEvent(records: BatchRecord[]): FirehoseTransformationEvent {
  const event = streamFirehoseEvent(records, { deliveryStream: "dev-analytics-archive", invocationId: "invocation-1" });
  for (const r of event.records) r.approximateArrivalTimestamp += 5_000;
  return event;
}

const rowsOf = async (records: BatchRecord[]) => (await transformRecords(records.map((r, i) => ({ ...r, recordId: String(i) })), deps)).map((t) => ({ row: JSON.parse(t.line) as Record<string, string | null>, day: t.day, line: t.line }));

describe("archiver: one row per record with the analyzer's reading (issue 11)", () => {
  it("keeps a counted donation's line, type, time, bucket, platform and exact amount, under its bucket's day", async () => {
    // Prepare: a late donation, counted (12 days old) and kept under its own day, not the arrival's.
    const late = "2026-11-09T23:59:30.5Z";
    const r = record(event({ event_type: "donation", utc_timestamp: late, platform: "iOS", amount: 1234567890123.45 }));
    // Act
    const [{ row, day, line }] = await rowsOf([r]);
    // Assess
    assert.ok(line.endsWith("}\n"), "one JSON line");
    assert.deepEqual(Object.keys(row), columns.map((c) => c.name));
    assert.equal(day, "2026-11-09");
    assert.deepEqual(
      { ...row, line: undefined },
      {
        ...Object.fromEntries(columns.map((c) => [c.name, null])),
        shard_id: r.shardId,
        sequence_number: r.sequenceNumber,
        arrival_time: new Date(T0).toISOString(),
        arrival_bucket: "2026-11-21T12:34:00.000Z",
        event_type: "donation",
        event_time: "2026-11-09T23:59:30.500Z",
        bucket: "2026-11-09T23:59:00.000Z",
        platform: "iOS",
        amount: "1234567890123.45",
        line: undefined,
      },
    );
    assert.equal(row.line, Buffer.from(r.data, "base64").toString("utf8"));
  });

  it("counts hostile and missing dimension values under (other) and (none), as the counters do", async () => {
    const rows = await rowsOf([
      record(event({ event_type: "donation", platform: "Myspace", amount: 1 })),
      record(event({ event_type: "donation", platform: 7, amount: 1 })),
      record(event({ event_type: "donation", amount: 1 })),
      record(event({ event_type: "donation", platform: "(none)", amount: 1 })),
    ]);
    assert.deepEqual(
      rows.map((r) => r.row.platform),
      ["(other)", "(other)", "(none)", "(other)"],
    );
  });

  it("keeps a rejected record under its arrival's day with its reason, and what it could still read", async () => {
    const rows = await rowsOf([
      record(event({ utc_timestamp: "2026-10-01T00:00:00Z" }), { arrivalMs: Date.parse("2026-11-21T23:59:59.999Z") }),
      record(event({ event_type: "donation", platform: "Web", amount: 12.345 })),
      record({ raw: Buffer.from([0xff, 0xfe]).toString("base64") }),
      record({ raw: "not base64!" }),
      record({ raw: b64("{half") }),
    ]);
    assert.deepEqual(
      rows.map(({ row, day }) => [row.reject_reason, day, row.event_type, row.event_time, row.bucket, row.line === null, row.data_base64 !== null]),
      [
        ["outside_window", "2026-11-21", "page view", "2026-10-01T00:00:00.000Z", null, false, false],
        ["bad_amount", "2026-11-21", "donation", "2026-11-21T12:34:56.000Z", null, false, false],
        ["bad_utf8", "2026-11-21", null, null, null, true, true],
        ["bad_base64", "2026-11-21", null, null, null, true, true],
        ["not_json", "2026-11-21", null, null, null, false, false],
      ],
    );
    assert.match(rows[1].row.reject_detail ?? "", /more than 2 decimal places/);
    assert.equal(rows[1].row.amount, null, "a rejected record's reading stops at the reason");
  });

  it("answers Firehose: every record Ok, its row base64, its day as the partition key, in order", async () => {
    const records = [record(event()), record({ raw: b64("nope") }), record(event({ event_type: "click" }))];
    const handler = createArchiverHandler(deps);
    const result = (await handler(firehoseEvent(records), lambdaContext("req-1"), () => undefined)) as FirehoseTransformationResult;
    assert.deepEqual(
      result.records.map((r) => [r.recordId, r.result, r.metadata?.partitionKeys.day]),
      records.map((r) => [`${r.shardId}-${r.sequenceNumber}`, "Ok", "2026-11-21"]),
    );
    const rows = result.records.map((r) => JSON.parse(Buffer.from(r.data!, "base64").toString("utf8")) as Record<string, string>);
    assert.deepEqual(
      rows.map((r) => [r.sequence_number, r.event_type, r.reject_reason]),
      records.map((r, i) => [r.sequenceNumber, ["page view", null, "click"][i], [null, "not_json", null][i]]),
    );
    // The arrival is Kinesis's (in the metadata), not Firehose's: the analyzer judges by the same instant.
    assert.equal(rows[0].arrival_time, new Date(T0).toISOString());
  });

  it("keeps its answer inside Lambda's response limit: rows past it go to Firehose's error output, none dropped", async () => {
    // Prepare: 9,000 two-byte records, whose rows (about 600 bytes each, base64) outgrow 5.5 MB.
    const records = Array.from({ length: 9000 }, () => record({ raw: b64("{}") }));
    const log = memoryLogger();
    // Act
    const result = (await createArchiverHandler({ ...deps, log })(firehoseEvent(records), lambdaContext("req-3"), () => undefined)) as FirehoseTransformationResult;
    // Assess
    const ok = result.records.filter((r) => r.result === "Ok");
    const failed = result.records.filter((r) => r.result === "ProcessingFailed");
    assert.equal(ok.length + failed.length, records.length);
    assert.ok(ok.length > 1000 && failed.length > 0, `${ok.length} ok, ${failed.length} failed`);
    assert.ok(JSON.stringify(result).length < 6_000_000 && JSON.stringify(result).length > 4_000_000, `${JSON.stringify(result).length} bytes`);
    assert.deepEqual(failed.map((r) => r.data), records.slice(ok.length).map((r) => r.data), "the failed ones keep their data as it came, in order");
    assert.equal(log.entries.find((e) => e.level === "WARN")?.failed, failed.length);
  });

  it("refuses records that don't come from a Kinesis stream", async () => {
    const e = firehoseEvent([record(event())]);
    delete e.records[0].kinesisRecordMetadata;
    await assert.rejects(async () => createArchiverHandler(deps)(e, lambdaContext("req-2"), () => undefined), /kinesisRecordMetadata/);
  });

  it("asks the registry about capped values it hasn't decided, and fails the batch when it can't (Firehose retries it)", async () => {
    const shop = fixtureCatalog("shop");
    const shopDeps = { rules: analyzerRules({ catalog: shop, granularity: "minute" }), columns: archiveColumns(shop), log: memoryLogger() };
    const order = (country: string) => ({ ...record(event({ event_type: "order placed", occurred_at: "2026-11-21T12:34:00Z", country, channel: "channel-1", total: 3 })), recordId: country });
    const asked: string[] = [];
    const kept = new Set(["country-1"]);
    const gate: RegistryGate = {
      admitted: (_m, field, value) => (field !== "country" ? true : kept.has(value) ? true : asked.length > 0 ? false : undefined),
      decide: async (undecided) => {
        asked.push(...undecided.map((u) => u.value));
        return undecided.length;
      },
    };
    const rows = await transformRecords([order("country-1"), order("country-2")], { ...shopDeps, gate });
    assert.deepEqual(asked, ["country-2"]);
    assert.deepEqual(
      rows.map((r) => (JSON.parse(r.line) as Record<string, string>).country),
      ["country-1", "(other)"],
    );
    const failing: RegistryGate = { admitted: () => undefined, decide: () => Promise.reject(Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" })) };
    await assert.rejects(transformRecords([order("country-3")], { ...shopDeps, gate: failing }), /throttled/);
  });

  it("keeps catalog text out of the SQL: a label's line break can't end the comment, its ? can't add a parameter", () => {
    const odd = defineCatalog({ namespace: "Odd", events: { typeField: "type", timeField: "at" }, metrics: { m: { event: "it's\nodd?", label: "Label?\r\nDROP TABLE events; --" } } });
    const [query] = namedQueries(odd);
    const lines = query.sql.split("\n");
    assert.ok(lines[0].startsWith("-- Label ") && !lines[0].includes("?"), lines[0]);
    assert.ok(lines[1].startsWith("-- Parameters"));
    assert.equal(lines[2], "WITH e AS (");
    assert.ok(query.sql.includes(`"event_type" = 'it''s\nodd?'`), "the event type itself is an escaped literal");
  });

  it("the archive's columns: the record's own, then each dimension and summed field once, named for SQL", () => {
    assert.deepEqual(
      archiveColumns(fixtureCatalog("shop")).slice(RECORD_COLUMNS.length).map((c) => `${c.name} ${c.type}`),
      ["country string", "channel string", "total decimal(38,2)", "cause string"],
    );
    const clash = defineCatalog({
      namespace: "Clash",
      events: { typeField: "type", timeField: "at" },
      metrics: {
        a: { event: "x", label: "A", dimensions: { Bucket: { maxValues: 3 } } },
        b: { event: "y", label: "B", sum: "Plat-form" },
        c: { event: "y", label: "C", dimensions: { plat_form: { values: ["p"] } } },
        d: { event: "z", label: "D", dimensions: { k: { values: ["1"] } } },
        e: { event: "z", label: "E", dimensions: { k: { values: ["2"] } } },
      },
    });
    const problems = archiveProblems(clash);
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems[0], /metric "a" field "Bucket": its archive column "bucket" is also the archive's own column/);
    assert.match(problems[1], /metric "c" field "plat_form": its archive column "plat_form" is also field "Plat-form"'s/);
    assert.match(problems[2], /metric "e" field "k": metric "d" counts the same event by "k" with other bounds/);
  });
});
