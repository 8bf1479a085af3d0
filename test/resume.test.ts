import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MISSING_VALUE, OVERFLOW_VALUE } from "../catalog";
import { produce, type ProducedRecord } from "../local/producer";
import { readStack, ROOT } from "../local/stackConfig";
import { truth, truthKey } from "./truth";

// What `npm start` runs: local/run.ts from its cached bundle.
const START = path.join(ROOT, "local", "start.cjs");
const pipeline = readStack("dev").pipelines[0];
const { catalog } = pipeline;
const { typeField, timeField } = catalog.events;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `npm start` in a child process; `killWhen` is polled, and the run is interrupted (Ctrl-C) once it holds. */
function start(args: string[], killWhen?: () => boolean): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [START, path.join(ROOT, "local", "run.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    // One Ctrl-C, as a user presses it once.
    const timer =
      killWhen === undefined
        ? undefined
        : setInterval(() => {
            if (!killWhen()) return;
            clearInterval(timer);
            child.kill("SIGINT");
          }, 50);
    child.on("close", (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

type Counter = { metric: string; dimensions: Record<string, string>; bucket: string; count: number; sum?: number; sumText?: string };
const countersOf = (out: string) => new Map((JSON.parse(fs.readFileSync(path.join(out, "counters.json"), "utf8")) as Counter[]).map((c) => [truthKey(c.metric, c.dimensions, c.bucket), c]));

/** counters.json against the ground truth: every key, every count, every sum to its last written digit. */
function assertExact(out: string, produced: readonly ProducedRecord[]): void {
  const expected = truth(produced, catalog, pipeline.settings.granularity).counters;
  const actual = countersOf(out);
  const shown = [...expected.keys()].filter((k) => !k.startsWith("DimensionOverflow"));
  assert.deepEqual([...actual.keys()].sort(), shown.sort());
  for (const key of shown) {
    const want = expected.get(key)!;
    const got = actual.get(key)!;
    assert.equal(got.count, want.count, key);
    // The table's decimal, as written: every summed counter has one, compared as text.
    if (catalog.metrics[got.metric]?.sum !== undefined) assert.equal(got.sumText, String(want.sum), key);
    else assert.equal(got.sumText, undefined, key);
  }
}

describe("npm start killed mid-way, then resumed (issue 8)", function () {
  this.timeout(300_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "resume-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it("ends with exact counters and balanced books", async () => {
    // Prepare: enough events that the analyzer is still at work when the first batch checkpoints.
    const produced = produce({ catalog, count: 20_000, seed: 11 });
    const events = path.join(out, "events.jsonl");
    fs.writeFileSync(events, `${produced.map((p) => p.data.toString("binary")).join("\n")}\n`, "binary");
    const progress = path.join(out, "run", "state", "progress.json");
    const checkpointed = () => fs.existsSync(progress) && Object.keys((JSON.parse(fs.readFileSync(progress, "utf8")) as { analyzer: object }).analyzer).length > 0;
    // Act: Ctrl-C once the analyzer's poller has checkpointed a batch, then resume.
    // At dev's deployed batch size: many batches, so the interruption falls between checkpoints.
    const first = await start(["--events", events, "--out", path.join(out, "run"), "--batch-size", "1000"], checkpointed);
    const resumed = await start(["--resume", "--out", path.join(out, "run")]);
    // Assess
    assert.notEqual(first.code, 0, `the first run should have been interrupted:\n${first.stdout}`);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming: [\d,]+ of 20,000 records were on the stream already/);
    assert.match(resumed.stdout, /received 20000, counted \d+, rejected \d+ .*: the books balance/);
    const summary = JSON.parse(fs.readFileSync(path.join(out, "run", "summary.json"), "utf8")) as { balanced: boolean; metricsMatchCounters: boolean; received: number };
    assert.deepEqual([summary.received, summary.balanced, summary.metricsMatchCounters], [20_000, true, true]);
    assertExact(path.join(out, "run"), produced);
  });

  it("refuses --resume where no run was interrupted", async () => {
    const r = await start(["--resume", "--out", path.join(out, "nothing-here")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--resume: .* holds no interrupted run to resume/);
  });
});

describe("npm start on hostile lines (issue 8)", function () {
  this.timeout(300_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it("exits 0 with the books balanced, rejections by reason, and sums exact to the last written digit", async () => {
    // Prepare: donations with decimal amounts, huge and tiny amounts, NUL and lone surrogates in
    // the platform, hundreds of random platforms, no platform at all, and one line over 1 MiB.
    const at = new Date().toISOString().slice(0, 19);
    const good: ProducedRecord[] = [];
    const add = (event: Record<string, unknown>, text = JSON.stringify(event)) => good.push({ data: Buffer.from(text), partitionKey: "", event });
    const donation = (platform: unknown, amount: number) => ({ [typeField]: "donation", [timeField]: at, ...(platform === undefined ? {} : { platform }), amount });
    for (let i = 0; i < 300; i++) add(donation(`random-${i}-${(i * 7919) % 104729}`, 0.1));
    for (let i = 0; i < 50; i++) add(donation("Web", [0.1, 0.2, 19.99, 1234.5, 0.01][i % 5]));
    for (let i = 0; i < 20; i++) add(donation(undefined, 0.2));
    add(donation("Web\u0000x", 3.3));
    add(donation("", 1));
    add(donation(null, 2));
    add(donation("x", 5), `{"${typeField}":"donation","${timeField}":"${at}","platform":"\\ud800","amount":7.77}`);
    good[good.length - 1] = { ...good[good.length - 1], event: { ...donation("\ud800", 7.77) } };
    const bad: ProducedRecord[] = [1e130, 1e-40, 12.345].map((amount) => ({ data: Buffer.from(JSON.stringify(donation("Web", amount))), partitionKey: "", badBecause: "bad_amount" }));
    const lines = [...good, ...bad].map((r) => r.data.toString("binary"));
    lines.push(JSON.stringify({ [typeField]: "donation", [timeField]: at, platform: "Web", amount: 1, pad: "x".repeat(1_100_000) }));
    const events = path.join(out, "hostile.jsonl");
    fs.writeFileSync(events, `${lines.join("\n")}\n`, "binary");
    // Act
    const run = await start(["--events", events, "--out", path.join(out, "run")]);
    // Assess
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /refused at the door: .*hostile.jsonl line 378 is/);
    const summary = JSON.parse(fs.readFileSync(path.join(out, "run", "summary.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(summary.rejected, { total: 3, byReason: { bad_amount: 3 } });
    assert.deepEqual(summary.refusedAtDoor, { total: 1, byReason: { oversize: 1 } });
    assert.equal(summary.balanced, true);
    assert.equal(summary.metricsMatchCounters, true);
    assertExact(path.join(out, "run"), [...good, ...bad]);
    const counters = countersOf(path.join(out, "run"));
    const platforms = new Set([...counters.values()].filter((c) => c.metric === "donations").map((c) => c.dimensions.platform ?? "total"));
    assert.deepEqual([...platforms].sort(), [MISSING_VALUE, OVERFLOW_VALUE, "Web", "total"].sort());
  });
});
