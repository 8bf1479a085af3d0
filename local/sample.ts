/**
 * `npm run sample`: writes a fresh events file for `npm start -- --events`, for the stack's
 * pipeline's catalog: good events from the synthetic producer, timestamped over the last few
 * minutes, plus hostile lines, one of each kind the analyzer rejects, an event without its
 * dimension, and one line over Kinesis's 1 MiB record limit that the run refuses at the door.
 *
 * Generated rather than shipped: the analyzer counts only events from the last 13 days (what
 * can still reach CloudWatch), so a file of fixed timestamps would go stale.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { MISSING_VALUE, WINDOWS } from "../catalog";
import { badRecords, eventShapes, produce } from "./producer";
import { readStack, StackError } from "./stackConfig";

const USAGE = `usage: npm run sample -- [--out FILE] [--count N] [--seed N] [--stack NAME] [--pipeline NAME]

  --out FILE      where to write the events, one per line (default: samples/events.jsonl)
  --count N       good events, timestamped over the last 5 minutes (default: 1000)
  --seed N        seed of the synthetic producer (default: 42)
  --stack NAME    whose Pulumi.<stack>.yaml config names the pipelines (default: dev)
  --pipeline NAME whose catalog the events follow (default: the stack's first pipeline)

Then: npm start -- --events samples/events.jsonl (with the same --stack and --pipeline).`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

function main(): void {
  let args;
  try {
    args = parseArgs({
      options: {
        out: { type: "string", default: path.join("samples", "events.jsonl") },
        count: { type: "string", default: "1000" },
        seed: { type: "string", default: "42" },
        stack: { type: "string", default: "dev" },
        pipeline: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const count = Number(args.count);
  const seed = Number(args.seed);
  if (!Number.isInteger(count) || count < 1) fail(`--count must be a whole number ≥ 1, not ${args.count}`);
  if (!Number.isInteger(seed)) fail(`--seed must be a whole number, not ${args.seed}`);
  const stack = args.stack ?? "dev";
  let pipelines;
  try {
    pipelines = readStack(stack).pipelines;
  } catch (error) {
    if (error instanceof StackError) fail(`--stack ${stack}: ${error.message}. Fix: pass one of them`);
    throw error;
  }
  const pipeline = args.pipeline === undefined ? pipelines[0] : pipelines.find((p) => p.name === args.pipeline);
  if (pipeline === undefined) fail(`--pipeline ${args.pipeline}: stack ${stack} has no such pipeline (it has ${pipelines.map((p) => p.name).join(", ")})`);
  const { catalog } = pipeline;
  const { typeField, timeField } = catalog.events;

  const now = Date.now();
  const lines = produce({ catalog, count, seed, now, spanMs: 5 * 60_000, badRatio: 0 }).map((r) => r.data);
  const rejected = badRecords(catalog, now);
  // Spread through the file, as bad records arrive among good ones.
  rejected.forEach(([, data], i) => lines.splice(Math.floor(((i + 1) * lines.length) / (rejected.length + 1)), 0, data));
  const at = new Date(now - 60_000).toISOString().slice(0, 19);
  const split = eventShapes(catalog).find((shape) => shape.dimensions.length > 0);
  const notes: string[] = [];
  if (split !== undefined) {
    // Counted, not rejected: an event without a dimension's value is counted under MISSING_VALUE.
    const event: Record<string, unknown> = { [typeField]: split.type, [timeField]: at };
    for (const field of split.dimensions.slice(1)) event[field] = split.values[field][0];
    for (const field of split.sums) event[field] = 5;
    lines.splice(Math.floor(lines.length / 2), 0, Buffer.from(JSON.stringify(event)));
    notes.push(`1 "${split.type}" without ${split.dimensions[0]}, counted under "${MISSING_VALUE}"`);
  }
  // Last, so the rest of the file still reads in an editor.
  const shape = eventShapes(catalog)[0];
  lines.push(Buffer.from(JSON.stringify({ [typeField]: shape?.type ?? "event", [timeField]: at, note: "x".repeat(1_048_576) })));
  notes.push("1 over Kinesis's 1 MiB record limit, refused at the door");

  const out = args.out ?? path.join("samples", "events.jsonl");
  try {
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    fs.writeFileSync(out, Buffer.concat(lines.flatMap((line) => [line, Buffer.from("\n")])));
  } catch (error) {
    fail(`--out ${out}: can't write it (${(error as Error).message}). Fix: pass --out a file in a directory you can write to`);
  }
  const freshDays = Math.floor(WINDOWS.countMaxAgeMs / 86_400_000);
  process.stderr.write(
    `${pipeline.name} (${catalog.namespace}): ${count.toLocaleString("en-US")} good events from the last 5 minutes; ` +
      `${rejected.length} the analyzer rejects (${rejected.map(([reason]) => reason).join(", ")}); ${notes.join("; ")}.\n` +
      `The timestamps stay inside the window the analyzer counts for about ${freshDays} days; run npm run sample again after that.\n`,
  );
  process.stdout.write(`wrote ${out}; run it with: npm start -- --events ${out}${stack === "dev" ? "" : ` --stack ${stack}`}${args.pipeline === undefined ? "" : ` --pipeline ${args.pipeline}`}\n`);
}

main();
