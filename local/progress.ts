/**
 * What an interrupted local run needs to resume: the emulators keep their data under
 * `<out>/state/`, and this file keeps where each poller had checkpointed, the dead letters so far,
 * the records to send and the metrics CloudWatch was sent. As on AWS, where the stream, the
 * tables and CloudWatch outlive a Lambda that dies mid-batch and the mapping resumes from its
 * last checkpoint, redelivering what was in flight.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MetricStore, type StoredDatum } from "./metricStore";
import type { DeadLetter } from "./pollers";

export const STATE_DIR = "state";

export interface Checkpoints {
  /** The stack and pipeline the run was started with: a resume must use the same. */
  readonly stack: string;
  readonly pipeline: string;
  /** What the door refused before the first run sent anything, so a resumed run reports it too. */
  readonly refused: { readonly total: number; readonly byReason: Record<string, number> };
  /** When the first run started, epoch ms: alarms are evaluated from there. */
  readonly startedAt: number;
  /** Per Kinesis shard, the last sequence number whose batch the analyzer's poller finished. */
  readonly analyzer: Record<string, string>;
  /** Per table-stream shard, the same for the forwarder's poller. */
  readonly forwarder: Record<string, string>;
  readonly deadLetters: DeadLetter[];
}

export class RunState {
  readonly dir: string;
  readonly checkpoints: Checkpoints;

  private constructor(dir: string, checkpoints: Checkpoints) {
    this.dir = dir;
    this.checkpoints = checkpoints;
  }

  private static file = (dir: string, name: string) => path.join(dir, name);

  /**
   * A fresh, empty state directory under `outDir`, with the emulators' data folders: they may
   * start in it before the run's records are known (create writes those). Returns its path.
   */
  static prepare(outDir: string): string {
    const dir = path.join(outDir, STATE_DIR);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const sub of ["dynamodb", "kinesis"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    return dir;
  }

  /** The run's state in the directory `prepare` made under `outDir`, holding the records this run sends. */
  static create(outDir: string, records: readonly Buffer[], run: Pick<Checkpoints, "stack" | "pipeline" | "refused">): RunState {
    const dir = path.join(outDir, STATE_DIR);
    fs.writeFileSync(RunState.file(dir, "records.b64"), records.map((r) => r.toString("base64")).join("\n"));
    fs.writeFileSync(RunState.file(dir, "metrics.jsonl"), "");
    const state = new RunState(dir, { ...run, startedAt: Date.now(), analyzer: {}, forwarder: {}, deadLetters: [] });
    state.save();
    return state;
  }

  /** The state an interrupted run left under `outDir`, or undefined when there is none. */
  static open(outDir: string): RunState | undefined {
    const dir = path.join(outDir, STATE_DIR);
    const file = RunState.file(dir, "progress.json");
    if (!fs.existsSync(file)) return undefined;
    return new RunState(dir, JSON.parse(fs.readFileSync(file, "utf8")) as Checkpoints);
  }

  records(): Buffer[] {
    const text = fs.readFileSync(RunState.file(this.dir, "records.b64"), "utf8");
    return text === "" ? [] : text.split("\n").map((line) => Buffer.from(line, "base64"));
  }

  /** Written whole to a temporary file and renamed, so a kill never leaves half a checkpoint. */
  save(): void {
    const file = RunState.file(this.dir, "progress.json");
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(this.checkpoints));
    fs.renameSync(`${file}.tmp`, file);
  }

  checkpoint(poller: "analyzer" | "forwarder", shardId: string, sequenceNumber: string): void {
    this.checkpoints[poller][shardId] = sequenceNumber;
    this.save();
  }

  /** A metric store that keeps every datum in the state directory too, and starts with those kept before. */
  metricStore(): MetricStore {
    return new KeptMetricStore(RunState.file(this.dir, "metrics.jsonl"));
  }
}

/** The metric store of a resumable run: each datum is appended to `file` as it is put. */
class KeptMetricStore extends MetricStore {
  constructor(private readonly file: string) {
    super();
    for (const line of fs.readFileSync(file, "utf8").split("\n")) if (line !== "") this.datums.push(JSON.parse(line) as StoredDatum);
  }

  override put(datum: StoredDatum): void {
    fs.appendFileSync(this.file, `${JSON.stringify(datum)}\n`);
    super.put(datum);
  }
}
