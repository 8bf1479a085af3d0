import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AlarmSpec } from "../dashboards";
import { cloudWatchNumber, evaluateAlarm } from "../local/alarms";
import { MetricStore } from "../local/metricStore";
import { badRecords, eventShapes } from "../local/producer";
import { OUTPUTS } from "../local/report";
import { readStack, ROOT, StackError, stackConfig, stacks } from "../local/stackConfig";

const TSX = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX, path.join(ROOT, "local", script), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
const start = (...args: string[]) => runScript("run.ts", args);

/** A run that stopped on its options: exit 2, a message, and nothing started. */
function refusedEarly(run: Run, message: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, message);
  assert.doesNotMatch(run.stderr, /starting DynamoDB Local/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "a stack trace instead of a message");
}

const LIMIT = 1_048_576;
const oversizeLine = (type = "page view") => JSON.stringify({ event_type: type, utc_timestamp: new Date().toISOString(), note: "x".repeat(LIMIT) });

describe("npm start's door: everything checked before anything starts", function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "door-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses a file of only oversize lines, naming each line, its size and the limit, and sends nothing", async () => {
    // Prepare
    const file = path.join(dir, "oversize.jsonl");
    fs.writeFileSync(file, `${oversizeLine()}\n\n${"y".repeat(LIMIT)}\n`);
    // Act
    const run = await start("--events", file, "--out", path.join(dir, "out-oversize"));
    // Assess
    refusedEarly(run, /nothing to send, all 2 records are over Kinesis's 1 MiB record limit/);
    assert.match(run.stderr, /oversize\.jsonl line 1 is 1,048,\d{3} bytes \(data 1,048,\d{3} \+ partition key 4\), over Kinesis's limit of 1,048,576 bytes/);
    assert.match(run.stderr, /oversize\.jsonl line 3 is 1,048,580 bytes \(data 1,048,576 \+ partition key 4\)/);
    assert.equal(fs.existsSync(path.join(dir, "out-oversize")), false, "--out was made for a run that never started");
  });

  it("refuses an empty events file and one of blank lines with a message saying so", async () => {
    // Prepare
    const empty = path.join(dir, "empty.jsonl");
    const blank = path.join(dir, "blank.jsonl");
    fs.writeFileSync(empty, "");
    fs.writeFileSync(blank, "\n\r\n\n");
    // Act
    const runs = await Promise.all([start("--events", empty), start("--events", blank)]);
    // Assess
    refusedEarly(runs[0], /--events .*empty\.jsonl: no events in it \(the file is empty\)/);
    refusedEarly(runs[1], /--events .*blank\.jsonl: no events in it \(3 blank lines only\)/);
  });

  it("refuses an --out it can't write to, naming the flag and the reason, with exit code 2", async () => {
    // Prepare
    const file = path.join(dir, "a-file");
    fs.writeFileSync(file, "not a directory");
    // Act
    const [under, onto] = await Promise.all([start("--count", "10", "--out", path.join(file, "out")), start("--count", "10", "--out", file)]);
    // Assess
    refusedEarly(under, /--out .*a-file\/out: can't write there \(ENOTDIR: part of the path is a file, not a directory\)\. Fix: /);
    refusedEarly(onto, /--out .*a-file: can't write there \(EEXIST: it is a file, not a directory\)\. Fix: /);
    assert.equal(fs.readFileSync(file, "utf8"), "not a directory");
  });

  it("refuses an unknown --stack, listing the stacks there are", async () => {
    // Act
    const run = await start("--stack", "nosuchstack", "--count", "10");
    // Assess
    refusedEarly(run, /--stack nosuchstack: there is no stack "nosuchstack" \(no Pulumi\.nosuchstack\.yaml at the project root\); the stacks are dev, prod\./);
  });

  it("lists every file a run writes in --help, each with what it holds", async () => {
    // Act
    const run = await start("--help");
    // Assess
    assert.equal(run.code, 0, run.stderr);
    for (const output of OUTPUTS) {
      const shown = output.includes(".") ? output : `${output}/`;
      const line = run.stdout.split("\n").find((l) => l.trim().startsWith(`${shown} `));
      assert.ok(line !== undefined, `--help doesn't list ${shown}`);
      assert.match(line.slice(line.indexOf(shown) + shown.length), /\w{3,}.*\w{3,}/, `--help lists ${shown} without saying what it holds`);
    }
  });
});

describe("stacks: only those with a config file", () => {
  it("lists the stacks by their Pulumi.<stack>.yaml files", () => {
    // Prepare
    const files = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
    // Act
    const names = stacks();
    // Assess
    assert.deepEqual(names, files.map((f) => f.slice("Pulumi.".length, -".yaml".length)).sort());
    assert.ok(names.includes("dev") && names.includes("prod"));
  });

  it("refuses a stack without a file, and a name that would reach outside the project, instead of running on the defaults", () => {
    for (const stack of ["nosuchstack", "../main/Pulumi", ""]) {
      assert.throws(
        () => stackConfig(stack),
        (error: unknown) => error instanceof StackError && error.stackName === stack && /the stacks are dev, prod/.test(error.message),
        stack,
      );
    }
    assert.throws(() => readStack("nosuchstack"), StackError);
    assert.equal(readStack("dev").pipelines.length > 0, true);
  });
});

describe("alarm state reasons, worded as CloudWatch words them", () => {
  const T0 = Date.UTC(2026, 10, 22, 10, 29);
  const spec = (over: Partial<AlarmSpec>): AlarmSpec => ({
    name: "dev-analytics-pageViews-low",
    kind: "catalog",
    subject: "pageViews",
    description: "",
    namespace: "NS",
    metricName: "pageViewsCount",
    dimensions: {},
    statistic: "Sum",
    period: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    threshold: 5,
    comparison: "LessThanThreshold",
    treatMissingData: "breaching",
    ...over,
  });
  const storeWith = (points: [minute: number, value: number][]) => {
    const store = new MetricStore();
    for (const [minute, value] of points) store.put({ namespace: "NS", metricName: "pageViewsCount", dimensions: {}, timestamp: T0 + minute * 60_000, value });
    return store;
  };

  it("names the datapoint that was not breaching when an alarm recovers, and keeps the ALARM wording", () => {
    // Prepare
    const store = storeWith([[2, 462]]);
    // Act
    const alarm = evaluateAlarm(spec({}), store, { from: T0, to: T0 + 3 * 60_000 });
    // Assess
    assert.deepEqual(
      alarm.history.map((h) => [h.from, h.to, h.reason]),
      [
        [
          "INSUFFICIENT_DATA",
          "ALARM",
          "Threshold Crossed: 3 out of the last 3 datapoints [missing, missing, missing] were < the threshold (5) (minimum 3 datapoint(s) for OK -> ALARM transition; missing data treated as breaching).",
        ],
        ["ALARM", "OK", "Threshold Crossed: 1 datapoint [462.0 (22/11/26 10:31:00)] was not less than the threshold (5.0)."],
      ],
    );
  });

  it("lists several clear datapoints most recent first, and says so when only missing data decided it", () => {
    // Prepare
    const above = spec({ comparison: "GreaterThanThreshold", threshold: 100, evaluationPeriods: 2, datapointsToAlarm: 1, treatMissingData: "notBreaching" });
    // Act
    const recovered = evaluateAlarm(above, storeWith([[0, 200], [1, 5], [2, 7.5]]), { from: T0, to: T0 + 3 * 60_000 });
    const quiet = evaluateAlarm(above, storeWith([]), { from: T0, to: T0 + 60_000 });
    // Assess
    assert.deepEqual(
      recovered.history.filter((h) => h.to === "OK").map((h) => h.reason),
      ["Threshold Crossed: 2 datapoints [7.5 (22/11/26 10:31:00), 5.0 (22/11/26 10:30:00)] were not greater than the threshold (100.0)."],
    );
    assert.equal(quiet.history[0].reason, "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [NonBreaching].");
  });

  it("prints numbers as CloudWatch does", () => {
    assert.deepEqual([0, 462, 9.72, -3, 15075595059.2, 0.0005].map(cloudWatchNumber), ["0.0", "462.0", "9.72", "-3.0", "1.50755950592E10", "5.0E-4"]);
  });
});

describe("npm run sample, then npm start on it: a real local run", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "door-sample-"));
  const events = path.join(dir, "events.jsonl");
  const out = path.join(dir, "out");
  let sample: Run;
  let run: Run;

  before(async () => {
    sample = await runScript("sample.ts", ["--out", events, "--count", "40"]);
    if (sample.code === 0) run = await start("--events", events, "--out", out);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes good and hostile lines, the oversize one last", () => {
    assert.equal(sample.code, 0, sample.stderr);
    const catalog = readStack("dev").pipelines[0].catalog;
    const lines = fs.readFileSync(events).toString("binary").split("\n").slice(0, -1);
    const withoutDimension = eventShapes(catalog).some((s) => s.dimensions.length > 0) ? 1 : 0;
    assert.equal(lines.length, 40 + badRecords(catalog, Date.now()).length + withoutDimension + 1);
    assert.ok(lines.at(-1)!.length > LIMIT);
    assert.ok(lines.slice(0, -1).every((l) => l.length < 1000));
  });

  it("refuses the oversize line before sending, runs the rest, and exits 0 with the results on stdout", () => {
    const catalog = readStack("dev").pipelines[0].catalog;
    const rejects = badRecords(catalog, Date.now()).length;
    // The sample adds an event without its dimension, counted, when the catalog splits one.
    const counted = 40 + (eventShapes(catalog).some((s) => s.dimensions.length > 0) ? 1 : 0);
    const lastLine = counted + rejects + 1;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`events\\.jsonl line ${lastLine} is 1,048,\\d{3} bytes .* over Kinesis's limit of 1,048,576 bytes \\(1 MiB\\) per record; it is not sent`));
    assert.match(run.stdout, new RegExp(`^received ${counted + rejects}, counted ${counted}, rejected ${rejects} \\(.*\\): the books balance$`, "m"));
    assert.match(run.stdout, /^refused at the door 1 \(oversize 1\): never sent/m);
    assert.match(run.stdout, /dashboard\.html/);
    assert.doesNotMatch(run.stdout, /starting DynamoDB Local|refused at the door:|Subject: ALARM/, "progress or diagnostics on stdout");
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    assert.deepEqual(summary.refusedAtDoor, { total: 1, byReason: { oversize: 1 } });
    assert.equal(summary.received, summary.counted + summary.rejected.total);
    assert.deepEqual(Object.keys(summary).slice(0, 5), ["pipeline", "received", "counted", "rejected", "refusedAtDoor"]);
  });
});
