/**
 * `npm start`: the whole pipeline on this machine, no AWS account needed.
 *
 *   npm start                                  synthetic events (5,000, a few bad ones)
 *   npm start -- --events FILE [--out DIR]     one raw event per line, sent as-is
 *   npm start -- --count 20000 --seed 7        a bigger, different synthetic run
 *   npm start -- --pipeline fundraising        another pipeline of the stack
 *   npm start -- --serve                       keep the live app and the pipeline going until Ctrl-C
 *
 * The results (the books and where the outputs are) go to stdout; progress, refusals and
 * errors to stderr, so `npm start > results.txt` keeps only the answer.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CatalogError } from "../catalog/limits";
import { ConfigError } from "../config/stack";
import { EmulatorError } from "./emulators";
import { BooksError, type LiveAddresses, type LocalEmulators, runLocal, startEmulators } from "./pipeline";
import { produce } from "./producer";
import { RunState } from "./progress";
import { OUTPUTS, type Summary } from "./report";
import { LOCAL_AWS } from "./clients";
import { readStack, StackError } from "./stackConfig";

/** Kinesis refuses a record whose data plus partition key is over 1 MiB. */
const RECORD_LIMIT_BYTES = 1_048_576;

/** What each of OUTPUTS holds, for --help. */
const OUTPUT_NOTES: Record<string, string> = {
  "summary.json": "the books: received, counted, rejected by reason, refused at the door",
  "counters.json": "every counter in the table: metric, dimensions, bucket, count, sum",
  "pipeline-counters.json": "the pipeline's own counters: CountedRecords, RejectedRecords, DimensionOverflow",
  "metrics.json": "every datum the forwarder sent to (captured) CloudWatch",
  "alarms.json": "every catalog and health alarm as CloudWatch would evaluate it",
  "emails.txt": "the mail the alarm topic would send for each alarm that fired",
  "dead-letters.jsonl": "the batches the pollers gave up on (only when there are some)",
  "dashboard.html": "the deployed dashboards drawn with the local data; opens offline",
  quarantine: "the rejected records with their reasons, a JSON-lines file per batch",
  archive: "every record on the stream with the analyzer's reading, as Firehose archives it; npm run sql",
  state: "the emulators' data and the pollers' checkpoints, for --resume",
};

const shownName = (output: string) => (output.includes(".") ? output : `${output}/`);

/** Lambda takes at most this many records per invocation from a Kinesis mapping. */
const MAX_BATCH_SIZE = 10_000;

/** Where the live app is served unless --port says otherwise (another free port when it is taken). */
const DEFAULT_PORT = 8420;

const USAGE = `usage: npm start -- [--events FILE] [--out DIR] [--count N] [--seed N] [--stack NAME] [--pipeline NAME] [--batch-size N] [--serve] [--port N] [--resume] [--verbose]

  --events FILE   JSON lines, one raw event per line, sent to the stream as-is (bad lines too;
                  a line over Kinesis's 1 MiB record limit is refused before anything is sent).
                  npm run sample writes one: samples/events.jsonl
  --out DIR       where the outputs go (default: out); a run replaces only these:
${OUTPUTS.map((o) => `      ${shownName(o).padEnd(24)}${OUTPUT_NOTES[o] ?? ""}`).join("\n")}
  --count N       synthetic events when no --events is given (default: 5000)
  --seed N        seed of the synthetic producer (default: 42)
  --stack NAME    whose Pulumi.<stack>.yaml config to run with (default: dev)
  --pipeline NAME which of the stack's pipelines to run (default: its first)
  --batch-size N  records per analyzer invocation at most (default: ${MAX_BATCH_SIZE.toLocaleString("en-US")}, Lambda's maximum,
                  so a big run takes seconds); pass the stack's analyzerBatchSize to run it as deployed
  --serve         after the books, keep the pipeline running and the live app served until Ctrl-C
                  (or until standard input closes, when it is a pipe);
                  put more events on the stream it names and watch them arrive
  --port N        the live app's port on 127.0.0.1, which must be free (default: ${DEFAULT_PORT}, or any free
                  one when that is taken; 0 for any free one). The app is served while the run goes, --serve or not
  --resume        finish the run that was interrupted (Ctrl-C, a crash) in --out: the same records,
                  the stream and tables as it left them, each poller from its last checkpoint
  --verbose       show the functions' own JSON logs

The results go to stdout, progress and diagnostics to stderr. Exit code 0 when the books
balance, 1 when the run fails or they don't, 2 when an option is wrong.`;

function fail(message: string, code = 2): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

const say = (line: string) => process.stderr.write(`${line}\n`);
const print = (line: string) => process.stdout.write(`${line}\n`);
const n = (value: number) => value.toLocaleString("en-US");

/** Why a filesystem call failed, in words, from its error code. */
function why(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOTDIR: "part of the path is a file, not a directory",
    EEXIST: "it is a file, not a directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
    EISDIR: "it is a directory, not a file",
    ENOENT: "no such file",
  };
  return code !== undefined && words[code] !== undefined ? `${code}: ${words[code]}` : (error as Error).message;
}

/**
 * Makes --out and proves it takes a file, then clears what a previous run wrote there (only
 * that: --out may name a folder that holds other files). Done before the emulators start, so
 * a bad --out costs nothing and doesn't leave half a run behind.
 */
function prepareOut(out: string, keep: readonly string[] = []): string {
  const dir = path.resolve(out);
  const fix = "Fix: pass --out a directory you can write to (default: out)";
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    fs.writeFileSync(probe, "");
    fs.rmSync(probe);
  } catch (error) {
    fail(`--out ${out}: can't write there (${why(error)}). ${fix}`);
  }
  try {
    for (const name of OUTPUTS) if (!keep.includes(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  } catch (error) {
    fail(`--out ${out}: can't replace the previous run's outputs there (${why(error)}). ${fix}, or remove them`);
  }
  return dir;
}

interface Candidate {
  /** Where the record came from, for a refusal: "events.jsonl line 3". */
  readonly where: string;
  readonly data: Buffer;
}

interface Refused {
  readonly total: number;
  readonly byReason: Record<string, number>;
}

/**
 * The door: every record is checked against Kinesis's record limit before anything starts.
 * PutRecords would refuse an oversize record anyway (kinesalite refuses the whole request),
 * which would stop the run halfway; refused here, it is named, counted and never sent, so the
 * books still cover exactly what the stream took.
 */
function door(candidates: readonly Candidate[]): { records: Buffer[]; refused: Refused } {
  const records: Buffer[] = [];
  const shown = 20;
  let oversize = 0;
  for (const candidate of candidates) {
    // The partition key the producer gives the next record it sends (putAll in pipeline.ts: pk-<index>).
    const keyBytes = Buffer.byteLength(`pk-${records.length}`);
    const size = candidate.data.length + keyBytes;
    if (size <= RECORD_LIMIT_BYTES) {
      records.push(candidate.data);
      continue;
    }
    oversize++;
    if (oversize <= shown) {
      say(
        `refused at the door: ${candidate.where} is ${n(size)} bytes (data ${n(candidate.data.length)} + partition key ${keyBytes}), ` +
          `over Kinesis's limit of ${n(RECORD_LIMIT_BYTES)} bytes (1 MiB) per record; it is not sent`,
      );
    }
  }
  if (oversize > shown) say(`refused at the door: ... and ${n(oversize - shown)} more records over the limit`);
  return { records, refused: { total: oversize, byReason: oversize > 0 ? { oversize } : {} } };
}

/** The lines of an events file, each as its exact bytes, numbered as an editor numbers them. */
function readEvents(file: string): Candidate[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    fail((error as NodeJS.ErrnoException).code === "ENOENT" ? `--events ${file}: no such file` : `--events ${file}: can't read it (${why(error)})`);
  }
  if (!stat.isFile()) fail(`--events ${file}: not a file. Fix: pass a JSON-lines file, one raw event per line`);
  let lines: string[];
  try {
    // "binary" keeps every byte as it is, so a line that isn't UTF-8 is sent exactly as written.
    lines = fs.readFileSync(file).toString("binary").split(/\r?\n/);
  } catch (error) {
    fail(`--events ${file}: can't read it (${why(error)})`);
  }
  if (lines.at(-1) === "") lines.pop();
  const candidates = lines.flatMap((line, i) => (line.length > 0 ? [{ where: `${file} line ${i + 1}`, data: Buffer.from(line, "binary") }] : []));
  const blank = lines.length - candidates.length;
  if (candidates.length === 0) {
    fail(
      `--events ${file}: no events in it (${lines.length === 0 ? "the file is empty" : `${n(blank)} blank line${blank === 1 ? "" : "s"} only`}). ` +
        "Fix: one raw event per line; npm run sample writes a fresh samples/events.jsonl",
    );
  }
  say(`read ${n(candidates.length)} records from ${file}${blank > 0 ? ` (${n(blank)} blank line${blank === 1 ? "" : "s"} skipped: a record can't be empty)` : ""}`);
  return candidates;
}

/** summary.json with what the door refused beside what the stream took. */
function recordRefusals(outDir: string, refused: Refused): void {
  const file = path.join(outDir, "summary.json");
  if (refused.total === 0 || !fs.existsSync(file)) return;
  // Recorded once however often it is called (a served run records it before it serves).
  const entries = Object.entries(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>).filter(([key]) => key !== "refusedAtDoor");
  entries.splice(entries.findIndex(([key]) => key === "rejected") + 1, 0, ["refusedAtDoor", refused]);
  fs.writeFileSync(file, `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`);
}

const byReason = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(", ");

/** Why the live app couldn't listen on 127.0.0.1:`port`, or nothing when it can. */
function portProblem(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" ? "it is taken on 127.0.0.1" : error.code === "EACCES" ? "this user may not listen on it" : error.message));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(undefined)));
  });
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
        "batch-size": { type: "string", default: String(MAX_BATCH_SIZE) },
        verbose: { type: "boolean", default: false },
        resume: { type: "boolean", default: false },
        serve: { type: "boolean", default: false },
        port: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (args.help) {
    print(USAGE);
    return;
  }
  const batchSize = Number(args["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) fail(`--batch-size must be a whole number from 1 to ${n(MAX_BATCH_SIZE)} (Lambda's limit for a Kinesis mapping), not ${args["batch-size"]}`);
  const port = args.port === undefined ? DEFAULT_PORT : Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port must be a whole number from 0 to 65535 (0 for any free port), not ${args.port}`);
  // A port asked for by name must be free: said now, before anything starts, not after the run's first events.
  if (args.port !== undefined && port !== 0) {
    const problem = await portProblem(port);
    if (problem !== undefined) fail(`--port ${port}: ${problem}. Fix: pass another port, or --port 0 for any free one`);
  }
  const stack = args.stack ?? "dev";
  let stackFile: ReturnType<typeof readStack>;
  try {
    stackFile = readStack(stack);
  } catch (error) {
    if (error instanceof StackError) fail(`--stack ${stack}: ${error.message}. Fix: pass one of them, or write a Pulumi.${stack}.yaml beside Pulumi.yaml`);
    throw error;
  }
  const { pipelines, region = LOCAL_AWS.region } = stackFile;
  const pipeline = args.pipeline === undefined ? pipelines[0] : pipelines.find((p) => p.name === args.pipeline);
  if (pipeline === undefined) fail(`--pipeline ${args.pipeline}: stack ${stack} has no such pipeline (it has ${pipelines.map((p) => p.name).join(", ")})`);

  // From the process's start: what a user waits for after typing the command (npm's own start aside).
  const launchedAt = performance.timeOrigin;
  const after = (ms: number) => `${((ms - launchedAt) / 1000).toFixed(1)} s after launch`;
  let firstPutAt: number | undefined;
  const onMilestone = (milestone: "first-put" | "dynamodb-ready", at: number) => {
    if (milestone === "first-put") firstPutAt = at;
    say(milestone === "first-put" ? `first records on the stream ${after(at)}` : `DynamoDB Local ready ${after(at)}`);
  };
  // The emulators start as soon as the options are known to be good, and the synthetic events
  // are made while they start.
  const startIn = (dataDir: string) => startEmulators({ dataDir, say, onDynamoReady: (at) => onMilestone("dynamodb-ready", at) });

  let records: Buffer[];
  let refused: Refused;
  let state: RunState;
  let outDir: string;
  let emulators: LocalEmulators;
  if (args.resume) {
    // The interrupted run's own records, whatever --events or --count say now.
    const interrupted = RunState.open(path.resolve(args.out ?? "out"));
    if (interrupted === undefined) fail(`--resume: ${args.out ?? "out"} holds no interrupted run to resume. Fix: run without --resume, or pass the --out of the run to finish`);
    const { stack: was, pipeline: wasPipeline } = interrupted.checkpoints;
    if (was !== stack || wasPipeline !== pipeline.name) {
      fail(`--resume: the interrupted run was --stack ${was} --pipeline ${wasPipeline}, not --stack ${stack} --pipeline ${pipeline.name}. Fix: pass those`);
    }
    outDir = prepareOut(args.out ?? "out", ["state", "quarantine"]);
    state = interrupted;
    emulators = startIn(state.dir);
    records = state.records();
    refused = state.checkpoints.refused;
    say(`resuming the run in ${args.out ?? "out"}: ${n(records.length)} records`);
  } else {
    // Every record checked at the door; a run with nothing left to send stops here.
    const sendable = (candidates: readonly Candidate[], source: string) => {
      const checked = door(candidates);
      if (checked.records.length === 0) fail(`${source}: nothing to send, all ${n(checked.refused.total)} records are over Kinesis's 1 MiB record limit (see above)`);
      return checked;
    };
    const fresh = (): [string, LocalEmulators] => {
      const dir = prepareOut(args.out ?? "out");
      return [dir, startIn(RunState.prepare(dir))];
    };
    if (args.events !== undefined) {
      // Every line checked before anything starts.
      ({ records, refused } = sendable(readEvents(args.events), `--events ${args.events}`));
      [outDir, emulators] = fresh();
    } else {
      const count = Number(args.count);
      const seed = Number(args.seed);
      if (!Number.isInteger(count) || count < 1) fail(`--count must be a whole number ≥ 1, not ${args.count}`);
      if (!Number.isInteger(seed)) fail(`--seed must be a whole number, not ${args.seed}`);
      [outDir, emulators] = fresh();
      const candidates = produce({ catalog: pipeline.catalog, count, seed }).map((r, i) => ({ where: `synthetic record ${i + 1}`, data: r.data }));
      say(`synthetic producer: ${n(count)} events (seed ${seed}), about 2% of them bad on purpose`);
      ({ records, refused } = sendable(candidates, "the synthetic producer"));
    }
    state = RunState.create(outDir, records, { stack, pipeline: pipeline.name, refused });
  }

  const finishedRun = (summary: Summary) => {
    recordRefusals(outDir, refused);
    const rejected = byReason(summary.rejected.byReason);
    const relative = path.relative(process.cwd(), outDir);
    const where = relative === "" ? "." : relative.startsWith("..") ? outDir : relative;
    print(`received ${summary.received}, counted ${summary.counted}, rejected ${summary.rejected.total}${rejected ? ` (${rejected})` : ""}: the books balance`);
    if (refused.total > 0) print(`refused at the door ${refused.total} (${byReason(refused.byReason)}): never sent, so not among the received`);
    const finishedAt = Date.now();
    const flowing = firstPutAt === undefined ? "" : `${n(summary.received)} records in ${((finishedAt - firstPutAt) / 1000).toFixed(1)} s from the first put to the books (${n(Math.round(summary.received / Math.max(0.001, (finishedAt - firstPutAt) / 1000)))} records/s), `;
    print(`metrics sent to CloudWatch add up to the counters; ${flowing}${((finishedAt - launchedAt) / 1000).toFixed(1)} s from launch`);
    print(`outputs in ${where}${path.sep}: open ${path.join(where, "dashboard.html")} for the dashboard; the books are in summary.json, the alarms in alarms.json`);
  };
  // With --serve, the results are printed when the books balance, then the run goes on until Ctrl-C.
  const serve = args.serve
    ? (summary: Summary, at: LiveAddresses) => {
        finishedRun(summary);
        print(`live app: ${at.url} stays up with the pipeline running; Ctrl-C stops both`);
        print(`  put more events: Kinesis at ${at.kinesisEndpoint}, stream ${at.streamName} (region ${LOCAL_AWS.region}, any credentials)`);
        print(`  the counters: DynamoDB Local at ${at.dynamoEndpoint}, table ${at.tableName}`);
        // Ctrl-C ends it as it ends any run (the emulators are killed, nothing is left running). A
        // program that started the run with a pipe for its input stops it by closing the pipe, or
        // by exiting however it exits: the pollers finish what they have, then the emulators stop.
        return new Promise<void>((resolve) => {
          const input = fs.fstatSync(0);
          if (!input.isFIFO() && !input.isSocket()) return;
          const stop = () => {
            say("standard input closed: the pollers finish what they have, then the emulators stop");
            resolve();
          };
          process.stdin.once("end", stop).once("error", stop).resume();
        });
      }
    : undefined;
  let summary: Summary;
  try {
    summary = await runLocal({
      records,
      outDir,
      stack,
      pipeline,
      region,
      say,
      verbose: args.verbose,
      state,
      resume: args.resume,
      analyzerBatchSize: batchSize,
      onMilestone,
      emulators,
      live: { port, anyPortIfTaken: args.port === undefined, serve },
    });
  } finally {
    recordRefusals(outDir, refused);
  }
  if (serve === undefined) {
    finishedRun(summary);
    print("the live app stopped with the run; npm start -- --serve keeps it and the pipeline going");
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof EmulatorError || error instanceof BooksError || error instanceof ConfigError || error instanceof CatalogError) fail(error.message, 1);
    fail((error as Error)?.stack ?? String(error), 1);
  },
);
