/**
 * `npm start`: the whole pipeline on this machine, no AWS account needed.
 *
 *   npm start                                  synthetic events (5,000, a few bad ones)
 *   npm start -- --events FILE [--out DIR]     one raw event per line, sent as-is
 *   npm start -- --count 20000 --seed 7        a bigger, different synthetic run
 *   npm start -- --pipeline fundraising        another pipeline of the stack
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CatalogError } from "../catalog/limits";
import { ConfigError } from "../config/stack";
import { EmulatorError } from "./emulators";
import { BooksError, runLocal } from "./pipeline";
import { produce } from "./producer";
import { OUTPUTS } from "./report";
import { LOCAL_AWS } from "./clients";
import { readStack } from "./stackConfig";

const USAGE = `usage: npm start -- [--events FILE] [--out DIR] [--count N] [--seed N] [--stack NAME] [--pipeline NAME] [--verbose]

  --events FILE   JSON lines, one raw event per line, sent to the stream as-is (bad lines too)
  --out DIR       where summary.json, counters.json, metrics.json, alarms.json and
                  dashboard.html go (default: out)
  --count N       synthetic events when no --events is given (default: 5000)
  --seed N        seed of the synthetic producer (default: 42)
  --stack NAME    whose Pulumi.<stack>.yaml config to run with (default: dev)
  --pipeline NAME which of the stack's pipelines to run (default: its first)
  --verbose       show the functions' own JSON logs`;

function fail(message: string, code = 2): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        events: { type: "string" },
        out: { type: "string", default: "out" },
        count: { type: "string", default: "5000" },
        seed: { type: "string", default: "42" },
        stack: { type: "string", default: "dev" },
        pipeline: { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const stack = args.stack ?? "dev";
  const { pipelines, region = LOCAL_AWS.region } = readStack(stack);
  const pipeline = args.pipeline === undefined ? pipelines[0] : pipelines.find((p) => p.name === args.pipeline);
  if (pipeline === undefined) fail(`--pipeline ${args.pipeline}: stack ${stack} has no such pipeline (it has ${pipelines.map((p) => p.name).join(", ")})`);
  let records: Buffer[];
  if (args.events !== undefined) {
    if (!fs.existsSync(args.events)) fail(`--events ${args.events}: no such file`);
    const lines = fs.readFileSync(args.events).toString("binary").split(/\r?\n/);
    // Each line's bytes exactly as written; only empty lines are skipped (a record can't be empty).
    records = lines.filter((l) => l.length > 0).map((l) => Buffer.from(l, "binary"));
    say(`read ${records.length.toLocaleString("en-US")} records from ${args.events} (${lines.length - records.length} empty lines skipped)`);
  } else {
    const count = Number(args.count);
    const seed = Number(args.seed);
    if (!Number.isInteger(count) || count < 1) fail(`--count must be a whole number ≥ 1, not ${args.count}`);
    if (!Number.isInteger(seed)) fail(`--seed must be a whole number, not ${args.seed}`);
    records = produce({ catalog: pipeline.catalog, count, seed }).map((r) => r.data);
    say(`synthetic producer: ${count.toLocaleString("en-US")} events (seed ${seed}), about 2% of them bad on purpose`);
  }
  const outDir = path.resolve(args.out ?? "out");
  // Clear only what a previous run wrote: --out may name a folder that holds other files.
  for (const name of OUTPUTS) fs.rmSync(path.join(outDir, name), { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const startedAt = Date.now();
  const summary = await runLocal({ records, outDir, stack, pipeline, region, say, verbose: args.verbose });
  const reasons = Object.entries(summary.rejected.byReason).map(([r, n]) => `${r} ${n}`).join(", ");
  say(`\nreceived ${summary.received}, counted ${summary.counted}, rejected ${summary.rejected.total}${reasons ? ` (${reasons})` : ""}: the books balance`);
  say(`metrics sent to CloudWatch add up to the counters; ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  say(`open ${path.join(path.relative(process.cwd(), outDir) || ".", "dashboard.html")} for the dashboard; alarms are in alarms.json`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof EmulatorError || error instanceof BooksError || error instanceof ConfigError || error instanceof CatalogError) fail(error.message, 1);
    fail((error as Error)?.stack ?? String(error), 1);
  },
);
