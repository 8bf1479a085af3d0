import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium } from "playwright-core";
import { countMetricName, metricEntries, sumMetricName } from "../catalog";
import { eventShapes, produce, type ProducedRecord, unknownEventType } from "../local/producer";
import { readStack, ROOT } from "../local/stackConfig";
import { truth, truthKey } from "./truth";

// What `npm start` runs: local/run.ts from its cached bundle.
const START = path.join(ROOT, "local", "start.cjs");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [START, path.join(ROOT, "local", "run.ts"), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// npm start runs the dev stack's first pipeline: whatever its catalog holds, this test follows.
const pipeline = readStack("dev").pipelines[0];
const catalog = pipeline.catalog;
const { typeField, timeField } = catalog.events;
const shapes = eventShapes(catalog);
const summed = shapes.find((shape) => shape.sums.length > 0);

/** Bad lines written by hand for the catalog's fields, each with the reason the analyzer must give. */
const BAD_LINES: [string, string][] = [
  ["{not json", "not_json"],
  ['"just a string"', "not_object"],
  [JSON.stringify({ [timeField]: "2026-11-21T00:00:00" }), "missing_field"],
  [JSON.stringify({ [typeField]: shapes[0].type, [timeField]: "tomorrow" }), "bad_timestamp"],
  [JSON.stringify({ [typeField]: unknownEventType(catalog), [timeField]: "NOW" }), "unknown_event"],
  summed === undefined
    ? [JSON.stringify({ [typeField]: 7, [timeField]: "NOW" }), "wrong_type"]
    : [JSON.stringify({ [typeField]: summed.type, [timeField]: "NOW", ...Object.fromEntries(summed.dimensions.map((d) => [d, summed.values[d][0]])), [summed.sums[0]]: "ten" }), "wrong_type"],
];

describe("npm start: the local pipeline end to end", function () {
  this.timeout(300_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "local-run-"));
  const eventsFile = path.join(out, "events.jsonl");
  let produced: ProducedRecord[];
  let run: { code: number | null; stdout: string; stderr: string };
  const read = (name: string) => JSON.parse(fs.readFileSync(path.join(out, name), "utf8"));

  before(async () => {
    // The fixed event file: seed-fixed events over the last few minutes plus hand-written bad lines.
    const now = Date.now();
    const nowIso = new Date(now - 30_000).toISOString().slice(0, 19);
    produced = produce({ catalog, count: 3000, seed: 11, now, spanMs: 4 * 60_000, badRatio: 0 });
    const lines = produced.map((p) => p.data.toString("utf8"));
    for (const [line] of BAD_LINES) lines.splice(Math.floor(lines.length / 2), 0, line.replace("NOW", nowIso));
    fs.writeFileSync(eventsFile, `${lines.join("\n")}\n`);
    run = await runCli(["--events", eventsFile, "--out", out]);
  });

  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it("exits 0 and says the books balance", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /received 3006, counted 3000, rejected 6 .*: the books balance/);
  });

  it("writes summary.json: received, counted and rejected by reason", () => {
    const expectedReasons: Record<string, number> = {};
    for (const [, reason] of BAD_LINES) expectedReasons[reason] = (expectedReasons[reason] ?? 0) + 1;
    assert.deepEqual(read("summary.json"), {
      pipeline: pipeline.name,
      received: 3006,
      counted: 3000,
      rejected: { total: 6, byReason: expectedReasons },
      deadLettered: 0,
      replayed: 0,
      balanced: true,
      metricsMatchCounters: true,
    });
  });

  it("writes counters.json equal to the ground truth", () => {
    const counters = read("counters.json") as { metric: string; dimensions: Record<string, string>; bucket: string; count: number; sum?: number }[];
    const expected = truth(produced, catalog, pipeline.settings.granularity).counters;
    const actual = new Map(counters.map((c) => [truthKey(c.metric, c.dimensions, c.bucket), c]));
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [key, want] of expected) {
      const got = actual.get(key)!;
      assert.equal(got.count, want.count, key);
      assert.match(got.bucket, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
      if (catalog.metrics[got.metric].sum !== undefined) assert.ok(Math.abs((got.sum ?? Number.NaN) - want.sum) < 1e-6, key);
      else assert.equal(got.sum, undefined);
    }
  });

  it("writes metrics.json: every datum sent, adding up to the counters", () => {
    const metrics = read("metrics.json") as { namespace: string; metricName: string; dimensions: Record<string, string>; timestamp: string; value: number }[];
    const counters = read("counters.json") as { metric: string; dimensions: Record<string, string>; bucket: string; count: number; sum?: number }[];
    assert.ok(metrics.every((m) => m.namespace === catalog.namespace));
    const sent = (name: string, dims: Record<string, string>, bucket: string) =>
      metrics.filter((m) => m.metricName === name && m.timestamp === bucket && JSON.stringify(m.dimensions) === JSON.stringify(dims)).reduce((n, m) => n + m.value, 0);
    for (const c of counters) {
      const metric = catalog.metrics[c.metric];
      assert.equal(sent(countMetricName(c.metric), c.dimensions, c.bucket), c.count);
      if (c.sum !== undefined) assert.ok(Math.abs(sent(sumMetricName(c.metric, metric), c.dimensions, c.bucket) - c.sum) < 1e-6);
    }
    assert.equal(metrics.filter((m) => m.metricName === "RejectedRecords" && Object.keys(m.dimensions).length === 0).reduce((n, m) => n + m.value, 0), 6);
  });

  it("writes alarms.json: every catalog and health alarm evaluated, the rejects alarm firing with an email", () => {
    const alarms = read("alarms.json") as { name: string; state: string; stateChangedAt: string | null; history: { to: string }[] }[];
    const names = alarms.map((a) => a.name).sort();
    const prefix = `dev-${pipeline.name}`;
    const catalogAlarms = metricEntries(catalog).flatMap(([id, m]) => Object.keys(m.alarms ?? {}).map((a) => `${prefix}-${id}-${a}`));
    assert.equal(names.length, catalogAlarms.length + 15);
    for (const name of [...catalogAlarms, `${prefix}-forwarder-dlq-depth`, `${prefix}-stream-write-throughput-exceeded`, `${prefix}-archive-archiver-errors`]) assert.ok(names.includes(name), name);
    const byName = Object.fromEntries(alarms.map((a) => [a.name, a]));
    assert.equal(byName[`${prefix}-analyzer-rejected-records`].state, "ALARM");
    assert.equal(byName[`${prefix}-analyzer-errors`].state, "OK");
    assert.equal(byName[`${prefix}-analyzer-dlq-depth`].state, "OK");
    assert.ok(alarms.every((a) => ["OK", "ALARM", "INSUFFICIENT_DATA"].includes(a.state)));
    assert.match(run.stderr, new RegExp(`Subject: ALARM: "${prefix}-analyzer-rejected-records" in eu-west-1`));
  });

  it("keeps every rejected line in the quarantine, as JSON lines with its reason", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else files.push(path.join(dir, e.name));
      }
    };
    walk(path.join(out, "quarantine"));
    const lines = files.flatMap((f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l)));
    assert.deepEqual(lines.map((l) => l.reason).sort(), BAD_LINES.map(([, r]) => r).sort());
  });

  it("renders every catalog metric as a chart with data in headless Chromium", async function () {
    assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 1200 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`file://${path.join(out, "dashboard.html")}`);
      await page.waitForSelector("body[data-rendered=true]", { timeout: 30_000 });
      assert.deepEqual(errors, []);
      const widgets = await page.$$eval("section.widget.metric", (els) =>
        els.map((el) => ({
          title: el.getAttribute("data-title"),
          metrics: (el.getAttribute("data-metrics") ?? "").split(","),
          points: Number(el.getAttribute("data-points")),
          datasets: ((el as unknown as { chart?: { data: { datasets: { data: unknown[] }[] } } }).chart?.data.datasets ?? []).map((d) => d.data.length),
          canvas: el.querySelector("canvas") !== null,
        })),
      );
      for (const [id, metric] of metricEntries(catalog)) {
        for (const name of [countMetricName(id), ...(metric.sum ? [sumMetricName(id, metric)] : [])]) {
          const charts = widgets.filter((w) => w.metrics.includes(name));
          assert.ok(charts.length > 0, `no widget for ${name}`);
          for (const chart of charts) {
            assert.ok(chart.canvas && chart.points > 0 && chart.datasets.some((n) => n > 0), `${chart.title} has no rendered data`);
          }
        }
      }
      await page.screenshot({ path: path.join(ROOT, "out", "dashboard.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it("refuses a missing events file with a clear message", async () => {
    const r = await runCli(["--events", path.join(out, "nope.jsonl")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--events .*nope.jsonl: no such file/);
  });

  it("says how to install Java when DynamoDB Local can't start, and exits non-zero", async () => {
    const r = await runCli(["--count", "10", "--out", path.join(out, "nojava")], { ...process.env, PATH: path.dirname(process.execPath).replace(/.*/, "/nonexistent") });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DynamoDB Local needs Java 17 or newer .* apt-get install openjdk-17-jdk-headless/);
  });
});
