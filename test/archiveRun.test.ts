import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ARCHIVE_PARTITION, ARCHIVE_PREFIX, namedQueries } from "../catalog/archive";
import type { Counter } from "../catalog/item";
import { COUNTED_METRIC } from "../catalog/schema";
import { ARCHIVE_DIR, openArchive, runQuery } from "../local/archive";
import { seriesKey } from "../local/books";
import { runLocal } from "../local/pipeline";
import { reconcileLocal } from "../local/reconcileArchive";
import { produce } from "../local/producer";
import { readStack } from "../local/stackConfig";
import { fixtureCatalog } from "./fixtures";

const dev = readStack("dev").pipelines[0];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A decimal string without trailing zeros, so "12.50" and "12.5" compare equal. */
const exact = (text: string | undefined | null) => (text == null ? undefined : text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text);

/**
 * Every named query over the whole archive, as counters: the queries' rows under the counters' keys.
 * A query over every day and every bucket: the day range holds every partition, '' and '~' every ISO time.
 */
async function countersFromArchive(out: string, catalog: Parameters<typeof namedQueries>[0]): Promise<Map<string, { count: string; sum?: string }>> {
  const db = await openArchive(path.join(out, ARCHIVE_DIR), catalog);
  try {
    const found = new Map<string, { count: string; sum?: string }>();
    for (const query of namedQueries(catalog)) {
      const result = await runQuery(db, query.sql, ["0000-01-01", "9999-12-31", "", "~"]);
      for (const row of result.rows) {
        const value = (name: string) => row[result.columns.indexOf(name)];
        const dimensions = Object.fromEntries(query.dimensions.map((d) => [d, value(d) ?? "NULL"]));
        const key = seriesKey(query.metric, value("bucket") ?? "NULL", dimensions);
        assert.ok(!found.has(key), `${query.id} gives ${key} twice`);
        found.set(key, { count: value("count") ?? "NULL", ...(query.hasSum ? { sum: exact(value("sum")) } : {}) });
      }
    }
    return found;
  } finally {
    db.close();
  }
}

function countersFromRun(out: string): Map<string, { count: string; sum?: string }> {
  const read = (name: string) => JSON.parse(fs.readFileSync(path.join(out, name), "utf8")) as Counter[];
  return new Map([...read("counters.json"), ...read("pipeline-counters.json")].map((c) => [seriesKey(c.metric, c.bucket, c.dimensions), { count: String(c.count), ...(c.sumText === undefined ? {} : { sum: exact(c.sumText) }) }]));
}

function assertSame(actual: Map<string, unknown>, expected: Map<string, unknown>): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }, { missing: [], extra: [] });
  for (const [key, want] of expected) assert.deepEqual(actual.get(key), want, key);
}

describe("the raw archive: every named query over a local run's archive gives the counters back (issue 11)", function () {
  this.timeout(300_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "archive-run-"));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("the shipped catalog: late events over several days, hostile dimension values, exact decimal sums and every kind of reject", async () => {
    // Prepare: the dev pipeline's events over the last 5 minutes, plus late ones 3 and 12 days
    // back (three day partitions), donations with hostile platforms and decimal amounts, and bad lines.
    const { typeField, timeField } = dev.catalog.events;
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const lines: string[] = [
      ...produce({ catalog: dev.catalog, count: 1500, seed: 5, now, badRatio: 0.05 }).map((r) => r.data.toString("utf8")),
      ...produce({ catalog: dev.catalog, count: 200, seed: 6, now: now - 3 * DAY, spanMs: 2 * HOUR, badRatio: 0 }).map((r) => r.data.toString("utf8")),
      ...produce({ catalog: dev.catalog, count: 50, seed: 7, now: now - 12 * DAY, spanMs: HOUR, badRatio: 0 }).map((r) => r.data.toString("utf8")),
    ];
    const at = iso(now - 60_000);
    const donation = (fields: Record<string, unknown>) => JSON.stringify({ [typeField]: "donation", [timeField]: at, ...fields });
    for (const platform of ["Web", "", null, "(other)", "(none)", "x".repeat(2000), 42, "Web\u0000x", "Myspace"]) lines.push(donation({ platform, amount: 0.1 }));
    lines.push(donation({ amount: 19.99 }), donation({ platform: "iOS", amount: 1234567890123.45 }), donation({ platform: "iOS", amount: -0.07 }));
    lines.push(`{"${typeField}":"donation","${timeField}":"${at}","platform":"\\ud800","amount":7.77}`);
    lines.push(donation({ platform: "Web", amount: 12.345 }), donation({ platform: "Web", amount: "ten" }), donation({ platform: "Web", amount: 1e130 }));
    lines.push(JSON.stringify({ [typeField]: "page view", [timeField]: iso(now - 20 * DAY) }), JSON.stringify({ [typeField]: "page view", [timeField]: iso(now + 5 * HOUR) }));
    lines.push("{not json", "[1,2]", JSON.stringify({ [typeField]: "mystery", [timeField]: at }), JSON.stringify({ [timeField]: at }));
    // Half an emoji in what a row keeps: a parser's message cut inside it, an escaped lone surrogate, a type cut at 200 characters.
    lines.push("\u{1F600} not json", `{"${typeField}":"\\ud800x","${timeField}":"${at}"}`, JSON.stringify({ [typeField]: `${"x".repeat(199)}\u{1F600}`, [timeField]: at }));
    const records = [...lines.map((l) => Buffer.from(l, "utf8")), Buffer.from([0xff, 0xfe, 0x7b])];
    const out = path.join(root, "dev");
    // Act
    const summary = await runLocal({ records, outDir: out, stack: "dev", pipeline: dev, region: "eu-west-1" });
    // Assess: every counter of the table, catalog and pipeline, and nothing else, from SQL.
    assert.equal(summary.balanced, true);
    const days = fs.readdirSync(path.join(out, ARCHIVE_DIR, ARCHIVE_PREFIX)).sort();
    const partition = (ms: number) => `${ARCHIVE_PARTITION}=${iso(ms).slice(0, 10)}`;
    for (const ms of [now - 12 * DAY, now - 3 * DAY, now]) assert.ok(days.includes(partition(ms)), `${partition(ms)} not in ${days.join(", ")}`);
    const expected = countersFromRun(out);
    assert.ok([...expected.keys()].some((k) => k.startsWith("DimensionOverflow")) && [...expected.keys()].some((k) => k.startsWith("RejectedRecords")));
    assertSame(await countersFromArchive(out, dev.catalog), expected);

    // Over a range of the last five days (the 12-day-old partition outside it), each query reads
    // only the days it needs, and CountedRecords still finds the late events counted by arrival in range.
    const read = (name: string) => JSON.parse(fs.readFileSync(path.join(out, name), "utf8")) as Counter[];
    const lastDays = await reconcileLocal({
      pipeline: dev.name,
      catalog: dev.catalog,
      archiveDir: path.join(out, ARCHIVE_DIR),
      counters: [...read("counters.json"), ...read("pipeline-counters.json")],
      fromMs: Math.floor((now - 5 * DAY) / DAY) * DAY,
      toMs: Math.ceil((now + HOUR) / DAY) * DAY,
    });
    assert.deepEqual(lastDays.differences, []);
    assert.ok(lastDays.counters > 0 && lastDays.counters === lastDays.rows, `${lastDays.counters} counters, ${lastDays.rows} rows`);

        // Firehose delivers at least once: the same object twice changes no answer.
    const day = path.join(out, ARCHIVE_DIR, ARCHIVE_PREFIX, days[days.length - 1]);
    const object = fs.readdirSync(day)[0];
    fs.copyFileSync(path.join(day, object), path.join(day, `redelivered-${object}`));
    assertSame(await countersFromArchive(out, dev.catalog), expected);

    // And the raw rows are there to ask new questions: every record once, by type, with its line.
    const db = await openArchive(path.join(out, ARCHIVE_DIR), dev.catalog);
    try {
      const all = await runQuery(db, 'SELECT count(DISTINCT "shard_id" || \'/\' || "sequence_number") AS n, count(*) AS rows FROM "events"');
      assert.equal(all.rows[0][0], String(summary.received));
      const raw = Buffer.from([0xff, 0xfe, 0x7b]).toString("base64");
      const rejects = await runQuery(db, `SELECT DISTINCT "reject_reason", "line", "data_base64" FROM "events" WHERE "line" = '{not json' OR "data_base64" = ? ORDER BY 1`, [raw]);
      assert.deepEqual(rejects.rows, [
        ["bad_utf8", null, raw],
        ["not_json", "{not json", null],
      ]);
    } finally {
      db.close();
    }
  });

  it("a catalog with capped and allowed-value dimensions: the registry's decisions are the archive's", async () => {
    // Prepare: 30 countries where the first 20 are kept, so 10 go to (other), on two channels and one not allowed.
    const catalog = fixtureCatalog("shop");
    const pipeline = { ...dev, name: "shop", catalog };
    const { typeField, timeField } = catalog.events;
    const at = new Date(Date.now() - 90_000).toISOString();
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      lines.push(JSON.stringify({ [typeField]: "order placed", [timeField]: at, country: `country-${i % 30}`, channel: ["channel-1", "channel-2", "web"][i % 3], total: (i % 7) + 0.25 }));
    }
    for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ [typeField]: "refund", [timeField]: at, cause: `cause-${i % 8}` }));
    const out = path.join(root, "shop");
    // Act
    await runLocal({ records: lines.map((l) => Buffer.from(l)), outDir: out, stack: "dev", pipeline, region: "eu-west-1" });
    // Assess
    const expected = countersFromRun(out);
    assert.ok([...expected.keys()].some((k) => k.includes('"country":"(other)"')));
    assertSame(await countersFromArchive(out, catalog), expected);
    assert.ok(namedQueries(catalog).some((q) => q.metric === COUNTED_METRIC));
  });
});
