import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AthenaClient } from "@aws-sdk/client-athena";
import { type DynamoDBClient, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { archiveColumns, type NamedQuery, namedQueries } from "../catalog/archive";
import { type Counter, counterKey } from "../catalog/item";
import { loadCatalog } from "../catalog/load";
import { analyzerRules } from "../catalog/rules";
import { type Catalog, COUNTED_METRIC, OVERFLOW_METRIC, PIPELINE_METRICS, REJECTED_METRIC } from "../catalog/schema";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { processBatch } from "../functions/analyzer/process";
import { registryGate } from "../functions/analyzer/registry";
import { transformRecords } from "../functions/archiver/process";
import { memoryLogger } from "../functions/shared/log";
import { openArchive, runQuery, writeDelivery } from "../local/archive";
import { compareWithArchive, counterSeries, queryParameters, type QueryRows } from "../local/archiveQueries";
import { createCounterTable, createStateTable } from "../local/aws";
import { readCounters } from "../local/books";
import { capturedS3, LOCAL_AWS } from "../local/clients";
import { emulators } from "./emulators";
import { keptValues, reconcileDeployed, reconcileLocal, reportLines } from "../local/reconcileArchive";
import { type AthenaStub, startAthenaStub } from "./awsStub";
import { b64, event, record, T0 } from "./factories";
import { fixtureCatalog } from "./fixtures";

const ROOT = path.resolve(__dirname, "..");
const web = fixtureCatalog("web");
const queries = namedQueries(web);
const byId = (id: string): NamedQuery => queries.find((q) => q.id === id)!;
const DAY = 86_400_000;
const ms = (iso: string) => Date.parse(iso);

describe("archive queries: parameters per range", () => {
  it("reads the days of the range for event buckets, and arrival days for rejects", () => {
    const from = ms("2026-11-21T00:00:00Z");
    const to = ms("2026-11-23T00:00:00Z");
    assert.deepEqual(queryParameters(byId("donations-per-bucket-by-platform"), from, to), ["2026-11-21", "2026-11-22", "2026-11-21T00:00:00.000Z", "2026-11-23T00:00:00.000Z"]);
    assert.deepEqual(queryParameters(byId(`${REJECTED_METRIC}-per-bucket`), from, to).slice(0, 2), ["2026-11-21", "2026-11-22"]);
    assert.deepEqual(queryParameters(byId(`${OVERFLOW_METRIC}-per-bucket`), from, to).slice(0, 2), ["2026-11-21", "2026-11-22"]);
  });

  it("widens CountedRecords' days by the window an event may be counted in around its arrival", () => {
    const [first, last, fromBucket, toBucket] = queryParameters(byId(`${COUNTED_METRIC}-per-bucket`), ms("2026-11-21T12:00:00Z"), ms("2026-11-21T13:00:00Z"));
    // 13 days back and 1 h 50 min ahead of arrival, a day of margin each side.
    assert.equal(first, "2026-11-07");
    assert.equal(last, "2026-11-22");
    assert.deepEqual([fromBucket, toBucket], ["2026-11-21T12:00:00.000Z", "2026-11-21T13:00:00.000Z"]);
  });
});

describe("archive vs counters: the comparison", () => {
  const bucket = "2026-11-21T12:34:00.000Z";
  const from = ms("2026-11-21T00:00:00Z");
  const to = from + DAY;
  const rows = (id: string, columns: string[], values: (string | null)[][]): QueryRows => ({ query: byId(id), columns, rows: values });
  const results = (): QueryRows[] => [
    rows("pageViews-per-bucket", ["bucket", "count"], [[bucket, "3"]]),
    rows("donations-per-bucket", ["bucket", "count", "sum"], [[bucket, "2", "12.50"]]),
    rows("donations-per-bucket-by-platform", ["bucket", "platform", "count", "sum"], [
      [bucket, "Web", "1", "10.00"],
      [bucket, "(none)", "1", "2.50"],
    ]),
  ];
  const counters = (): Counter[] => [
    { metric: "pageViews", dimensions: {}, bucket, count: 3 },
    { metric: "donations", dimensions: {}, bucket, count: 2, sum: 12.5, sumText: "12.5" },
    { metric: "donations", dimensions: { platform: "Web" }, bucket, count: 1, sum: 10, sumText: "10" },
    { metric: "donations", dimensions: { platform: "(none)" }, bucket, count: 1, sum: 2.5, sumText: "2.5" },
  ];
  const compare = (r: QueryRows[], c: Counter[]) => compareWithArchive({ results: r, counters: c, fromMs: from, toMs: to });

  it("finds no difference when the counters equal the rows, sums compared as exact decimals", () => {
    assert.deepEqual(compare(results(), counters()), []);
  });

  it("finds a counter the archive lacks", () => {
    const c = [...counters(), { metric: "clicks", dimensions: {}, bucket, count: 4 }];
    const found = compare(results(), c);
    assert.deepEqual(
      found.map((d) => [d.kind, d.metric, d.bucket]),
      [["missing-from-archive", "clicks", bucket]],
    );
    assert.match(found[0].line, /^clicks @ 2026-11-21T12:34:00\.000Z: the counters hold count 4, the archive has no row$/);
  });

  it("finds a row the counters lack", () => {
    const c = counters().filter((x) => x.dimensions.platform !== "(none)");
    const found = compare(results(), c);
    assert.deepEqual(
      found.map((d) => [d.kind, d.metric, d.dimensions]),
      [["missing-from-counters", "donations", { platform: "(none)" }]],
    );
    assert.match(found[0].line, /donations \{platform="\(none\)"\} @ .*: no counter, the archive has count 1, sum 2\.50/);
  });

  it("finds a count that differs", () => {
    const c = counters().map((x) => (x.metric === "pageViews" ? { ...x, count: 4 } : x));
    const found = compare(results(), c);
    assert.deepEqual(
      found.map((d) => d.kind),
      ["count"],
    );
    assert.match(found[0].line, /^pageViews @ 2026-11-21T12:34:00\.000Z: count 4 in the counters vs 3 in the archive$/);
  });

  it("finds a sum that differs in the last decimal place, and no other", () => {
    const c = counters().map((x) => (x.dimensions.platform === "Web" ? { ...x, sum: 10.01, sumText: "10.01" } : x));
    const found = compare(results(), c);
    assert.deepEqual(
      found.map((d) => [d.kind, d.counters?.sum, d.archive?.sum]),
      [["sum", "10.01", "10.00"]],
    );
    assert.match(found[0].line, /donations \{platform="Web"\} @ .*: sum 10\.01 in the counters vs 10\.00 in the archive/);
  });

  it("leaves out counters outside the range and the families of failed queries", () => {
    const c = [...counters(), { metric: "clicks", dimensions: {}, bucket: "2026-11-22T00:00:00.000Z", count: 1 }];
    assert.deepEqual(compare(results(), c), []);
    const failed = byId("pageViews-per-bucket");
    assert.deepEqual(
      compareWithArchive({ results: results().filter((r) => r.query !== failed), counters: counters(), fromMs: from, toMs: to, failed: [failed] }),
      [],
    );
    // Without saying it failed, its counters have nothing to equal.
    assert.equal(compare(results().filter((r) => r.query !== failed), counters())[0].kind, "missing-from-archive");
  });

  it("enumerates the keys to Query: allowed values, (none), (other), every reason, and what the rows hold", () => {
    const series = counterSeries(web, queries, results());
    const keys = new Set(series.map((s) => counterKey(s.metric, s.names, s.values)));
    for (const key of ["pageViews", "donations", "donations#platform=Facebook", "donations#platform=(other)", "donations#platform=(none)", `${REJECTED_METRIC}#reason=not_json`, `${OVERFLOW_METRIC}#dimension=donations.platform`]) {
      assert.ok(keys.has(key), key);
    }
    const shop = fixtureCatalog("shop");
    const shopQuery = namedQueries(shop).find((q) => q.id === "orders-per-bucket-by-country-channel")!;
    const seen = counterSeries(shop, [shopQuery], [{ query: shopQuery, columns: ["bucket", "country", "channel", "count", "sum"], rows: [["b", "NL", "channel-2", "1", "1"]] }]);
    // country: NL, (none), (other); channel: 4 allowed, (none), (other).
    assert.equal(seen.length, 3 * 6);
    assert.ok(seen.some((s) => s.values.join() === "NL,channel-4"));
    // A kept value no archived row holds is looked up too: the registry lists every one.
    const withKept = counterSeries(shop, [shopQuery], [{ query: shopQuery, columns: ["bucket", "country", "channel", "count", "sum"], rows: [] }], new Map([["orders.country", ["NL", "BE"]]]));
    assert.equal(withKept.length, 4 * 6);
    assert.ok(withKept.some((s) => s.values.join() === "BE,channel-1"));
  });
});

/** A small stream: page views, donations of every kind of platform, a late event, rejects, a record Firehose delivered twice. */
function sampleRecords(): BatchRecord[] {
  const donation = (platform: unknown, amount: number) => event({ event_type: "donation", platform, amount });
  return [
    record(event()),
    record(event({ utc_timestamp: "2026-11-21T12:33:10" })),
    record(event({ event_type: "click" })),
    record(donation("Web", 10.5)),
    record(donation("Web", 0.1)),
    record(donation("Web", 0.2)),
    record(donation("Facebook", 7)),
    record(donation("Myspace", 1.25)),
    record(donation(undefined, 2)),
    // Counted in a bucket two days before its arrival: CountedRecords must still find it.
    record(event({ utc_timestamp: "2026-11-19T08:00:00" })),
    record({ raw: b64("{not json") }),
    record(event({ event_type: "purchase" })),
    record(event(), { arrivalMs: T0 + 90_000 }),
  ];
}

async function writeArchive(dir: string, catalog: Catalog, records: readonly BatchRecord[]): Promise<void> {
  const rules = analyzerRules({ catalog, granularity: "minute" });
  const rows = await transformRecords(
    records.map((r, i) => ({ ...r, recordId: String(i) })),
    { rules, columns: archiveColumns(catalog), log: memoryLogger() },
  );
  writeDelivery(dir, { deliveryStream: "test-archive", deliveredAtMs: T0, id: "a", rows });
  // Firehose delivers at least once: the first rows again, in another object.
  writeDelivery(dir, { deliveryStream: "test-archive", deliveredAtMs: T0 + 60_000, id: "b", rows: rows.slice(0, 4) });
}

/** The counters the analyzer itself writes for the records, in a fresh table of DynamoDB Local. */
async function countInto(dynamo: DynamoDBClient, tableName: string, catalog: Catalog, records: readonly BatchRecord[]): Promise<Counter[]> {
  await createCounterTable(dynamo, tableName, { stream: false });
  const rules = analyzerRules({ catalog, granularity: "minute" });
  const settings = { tableName, quarantineBucket: "quarantine", mode: "exactly-once" as const, ttlDays: 30 };
  const result = await processBatch(records, { rules, dynamo, s3: capturedS3().client, settings, log: memoryLogger() });
  assert.deepEqual(result.batchItemFailures, []);
  return readCounters(dynamo, tableName);
}

describe("npm run sql and npm run reconcile over a local archive", function () {
  this.timeout(300_000);
  let dynamo: DynamoDBClient;
  let tmp: string;
  // The shipped catalog, because the CLI loads the pipeline's catalog by name as npm start does.
  const shipped = loadCatalog("analytics");

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sql-"));
    // The run's shared DynamoDB Local: every table here has a name no other test uses.
    dynamo = (await emulators()).clients.dynamo;
  });
  after(async () => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const cli = (script: string, args: string[], input?: string) =>
    spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(ROOT, "local", script), ...args], { cwd: ROOT, encoding: "utf8", input, timeout: 120_000 });

  it("prints an aligned table, NULL for nulls, and the row count", async () => {
    const out = path.join(tmp, "table");
    await writeArchive(path.join(out, "archive"), shipped, sampleRecords());
    fs.writeFileSync(path.join(out, "summary.json"), JSON.stringify({ pipeline: "analytics" }));
    const run = cli("sql.ts", ["--out", out, "select event_type, count(*) as n from events group by 1 order by 2 desc, 1 nulls first"]);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^event_type +\| +n$/);
    assert.match(lines[1], /^-+-\+--+$/);
    // Every row is as wide as the header: the counts right-aligned under "n".
    const width = lines[0].length;
    for (const line of lines.slice(2, -1)) assert.equal(line.length, width, line);
    assert.ok(lines.some((l) => /^NULL +\| +1$/.test(l)), "the not-JSON record has no event type");
    assert.equal(lines.at(-1), `${lines.length - 3} rows`);
  });

  it("fails with DuckDB's message on bad SQL, the fix when there is no archive, the usage on a bad option", () => {
    const out = path.join(tmp, "table");
    const bad = cli("sql.ts", ["--out", out, "selec 1"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /syntax error/i);
    const none = cli("sql.ts", ["--out", path.join(tmp, "none"), "select 1"]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no archive under .*none.archive: run npm start -- --out .*none first/);
    const option = cli("sql.ts", ["--out", out, "--bogus"]);
    assert.equal(option.status, 2);
    assert.match(option.stderr, /usage: npm run sql/);
  });

  it("runs statements piped to it and the dot commands", () => {
    const run = cli("sql.ts", ["--out", path.join(tmp, "table")], "select 41 + 1 as answer;\n.schema\nselect count(*) as c\n  from events;\n");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /answer\n------\n {4}42\n1 row/);
    assert.match(run.stdout, /^amount +decimal\(38,2\) /m);
    // 13 records, 4 of them delivered twice: the view holds every row as delivered.
    assert.match(run.stdout, /^ *c\n-+\n *17\n1 row/m);
  });

  it("reconcile: exit 0 when the analyzer's counters equal the archive, 1 with a line per difference", async () => {
    const out = path.join(tmp, "reconcile");
    const records = sampleRecords();
    await writeArchive(path.join(out, "archive"), shipped, records);
    const counters = await countInto(dynamo, `sql-shipped-${process.pid}-counters`, shipped, records);
    fs.writeFileSync(path.join(out, "summary.json"), JSON.stringify({ pipeline: "analytics" }));
    const write = (list: Counter[]) => {
      fs.writeFileSync(path.join(out, "counters.json"), JSON.stringify(list.filter((c) => !PIPELINE_METRICS.includes(c.metric))));
      fs.writeFileSync(path.join(out, "pipeline-counters.json"), JSON.stringify(list.filter((c) => PIPELINE_METRICS.includes(c.metric))));
    };
    write(counters);
    const equal = cli("reconcileArchive.ts", ["--out", out]);
    assert.equal(equal.status, 0, equal.stdout + equal.stderr);
    assert.match(equal.stdout, /^analytics: no differences: the counters equal the archive \(\d+ counters/m);

    write(counters.map((c) => (c.metric === COUNTED_METRIC && c.bucket === "2026-11-21T12:34:00.000Z" ? { ...c, count: c.count + 1 } : c)));
    const differ = cli("reconcileArchive.ts", ["--out", out]);
    assert.equal(differ.status, 1, differ.stderr);
    assert.match(differ.stdout, /^analytics: CountedRecords @ 2026-11-21T12:34:00\.000Z: count 11 in the counters vs 10 in the archive$/m);
    assert.match(differ.stdout, /^analytics: 1 difference \(1 count\)/m);
  });
});

describe("reconcile against Athena (a local stub) and the counter table", function () {
  this.timeout(300_000);
  let dynamo: DynamoDBClient;
  let stub: AthenaStub | undefined;
  let athena: AthenaClient;
  let tmp: string;
  let archiveDir: string;
  /** Queries the stub fails as over the workgroup's scan cap. */
  const overCap = new Set<string>();
  const tableName = `sql-web-${process.pid}-counters`;
  const from = ms("2026-11-21T00:00:00Z");
  const to = from + DAY;
  const backoff = { firstMs: 5, maxMs: 20 };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "athena-"));
    archiveDir = path.join(tmp, "archive");
    const records = sampleRecords();
    await writeArchive(archiveDir, web, records);
    // The run's shared DynamoDB Local: every table here has a name no other test uses.
    dynamo = (await emulators()).clients.dynamo;
    await countInto(dynamo, tableName, web, records);
    const db = await openArchive(archiveDir, web);
    const archiveBytes = fs.readdirSync(archiveDir, { recursive: true, encoding: "utf8" }).reduce((n, f) => n + (f.endsWith(".gz") ? fs.statSync(path.join(archiveDir, f)).size : 0), 0);
    stub = await startAthenaStub({
      execute: (sql, parameters) => runQuery(db, sql, parameters),
      bytesScanned: (sql) => (queries.some((q) => q.sql === sql && overCap.has(q.id)) ? 10 * archiveBytes : archiveBytes),
      scanCapBytes: 5 * archiveBytes,
      pageSize: 3,
    });
    athena = new AthenaClient({ ...LOCAL_AWS, endpoint: stub.endpoint });
  });
  after(async () => {
    athena?.destroy();
    await stub?.stop();
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const reconcile = (say: string[] = []) =>
    reconcileDeployed({ pipeline: "web", catalog: web, athena, dynamo, target: { database: "web_archive", workgroup: "web-archive" }, tableName, fromMs: from, toMs: to, say: (l) => say.push(l), backoff });

  it("finds the counter table equal to every named query's rows, read page by page", async () => {
    const progress: string[] = [];
    const r = await reconcile(progress);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.differences, []);
    assert.ok(r.rows > 3 && r.counters === r.rows, `${r.counters} counters, ${r.rows} rows`);
    // Every query's parameters went as quoted literals, in the named database and workgroup.
    const started = stub!.started.slice(-queries.length);
    assert.deepEqual(started[0].executionParameters, ["'2026-11-21'", "'2026-11-21'", "'2026-11-21T00:00:00.000Z'", "'2026-11-22T00:00:00.000Z'"]);
    assert.ok(started.every((s) => s.database === "web_archive" && s.workgroup === "web-archive"));
    assert.ok(stub!.calls.filter((c) => c === "GetQueryResults").length > queries.length, "some results took more than one page");
    assert.match(progress.join("\n"), new RegExp(`query 1 of ${queries.length} \\(pageViews-per-bucket\\): 2 rows, [\\d,]+ bytes scanned`));
    // The same named queries over the same archive with DuckDB say the same.
    const local = await reconcileLocal({ pipeline: "web", catalog: web, archiveDir, counters: await readCounters(dynamo, tableName), fromMs: from, toMs: to });
    assert.deepEqual(local.differences, []);
    assert.equal(local.rows, r.rows);
  });

  it("reports a counter that drifted from the archive", async () => {
    // The counter's one part (one shard counted into it).
    const parts = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :bucket)",
        ExpressionAttributeValues: { ":pk": { S: counterKey("donations", ["platform"], ["(other)"]) }, ":bucket": { S: "2026-11-21T12:34:00.000Z#" } },
      }),
    );
    assert.equal(parts.Items?.length, 1);
    const key = { pk: parts.Items![0].pk, sk: parts.Items![0].sk };
    await dynamo.send(new UpdateItemCommand({ TableName: tableName, Key: key, UpdateExpression: "ADD #c :one", ExpressionAttributeNames: { "#c": "count" }, ExpressionAttributeValues: { ":one": { N: "1" } } }));
    try {
      const r = await reconcile();
      assert.deepEqual(
        r.differences.map((d) => d.line),
        ['donations {platform="(other)"} @ 2026-11-21T12:34:00.000Z: count 2 in the counters vs 1 in the archive'],
      );
      assert.match(reportLines(r).at(-1)!, /^web: 1 difference \(1 count\)/);
    } finally {
      await dynamo.send(new UpdateItemCommand({ TableName: tableName, Key: key, UpdateExpression: "ADD #c :minus", ExpressionAttributeNames: { "#c": "count" }, ExpressionAttributeValues: { ":minus": { N: "-1" } } }));
    }
  });

  it("reports a query the scan cap failed, with its reason and bytes scanned, and compares the rest", async () => {
    overCap.add("donations-per-bucket-by-platform");
    try {
      const r = await reconcile();
      assert.deepEqual(
        r.failures.map((f) => f.query.id),
        ["donations-per-bucket-by-platform"],
      );
      assert.match(r.failures[0].message, /FAILED: Query exhausted the workgroup's per-query data limit .*\([\d,]+ bytes scanned\)/);
      assert.deepEqual(r.differences, [], "the failed query's counters are not reported as missing from the archive");
      const lines = reportLines(r);
      assert.match(lines[0], /^web: donations-per-bucket-by-platform FAILED, not compared: /);
      assert.match(lines.at(-1)!, /^web: 0 differences \(1 failed query\)/);
    } finally {
      overCap.clear();
    }
  });
});

describe("reconcile's keys for capped dimensions, from the registry", () => {
  it("reads each capped dimension's kept values from the state table, as the analyzer kept them", async () => {
    // Prepare: the shop catalog's registry after the analyzer kept two countries and one cause.
    const { clients } = await emulators();
    const stateTable = `sql-state-${process.pid}`;
    await createStateTable(clients.dynamo, stateTable);
    const gate = registryGate({ client: clients.dynamo, tableName: stateTable });
    await gate.decide([
      { metric: "orders", field: "country", value: "NL", maxValues: 20 },
      { metric: "orders", field: "country", value: "BE", maxValues: 20 },
      { metric: "refunds", field: "cause", value: "damaged", maxValues: 5 },
    ]);
    // Act
    const kept = await keptValues(clients.dynamo, stateTable, fixtureCatalog("shop"));
    // Assess: capped dimensions only (channel has allowed values), each with what was kept.
    assert.deepEqual(Object.fromEntries([...kept].map(([k, v]) => [k, [...v].sort()])), { "orders.country": ["BE", "NL"], "refunds.cause": ["damaged"] });
  });
});
