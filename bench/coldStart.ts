/**
 * Cold start per deployed bundle: a fresh Node process loads the bundle (`require`, which builds
 * the handler and its clients once, as Lambda's init does) and handles one small event against
 * the loopback server. Lambda's own runtime boot is not in the figure; the bundle's part is.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Catalog } from "../catalog/schema";
import { bundleFunction, type FunctionKind } from "../components/bundle";
import { ANALYZER_ENV } from "../functions/analyzer/settings";
import { ARCHIVER_ENV } from "../functions/archiver/settings";
import { LIVE_CHANNEL } from "../catalog/live";
import { FORWARDER_ENV } from "../functions/forwarder/settings";
import { PUBLISHER_ENV } from "../functions/publisher/settings";
import { RECONCILER_ENV } from "../functions/reconciler/settings";
import { SNAPSHOT_ENV } from "../functions/snapshot/settings";
import { LOCAL_AWS } from "../local/clients";

export interface ColdStart {
  readonly requireMs: number;
  readonly firstCallMs: number;
  readonly cpuMs: number;
}

// Runs in the fresh process: times the require and the first call, prints one JSON line.
const RUNNER = `
const t0 = performance.now();
const c0 = process.cpuUsage();
const { handler } = require(process.env.BENCH_INDEX);
const t1 = performance.now();
const event = JSON.parse(require("node:fs").readFileSync(process.env.BENCH_EVENT, "utf8"));
const context = { awsRequestId: "cold-start", functionName: "bench", getRemainingTimeInMillis: () => 60000 };
Promise.resolve(handler(event, context)).then(
  (result) => {
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify({ requireMs: t1 - t0, firstCallMs: t2 - t1, cpuMs: (c.user + c.system) / 1000, result }) + "\\n");
    process.exit(0);
  },
  (error) => { console.error(error); process.exit(1); },
);`;

/** The environment each function's component sets, pointed at the loopback server. */
function environment(kind: FunctionKind, endpoint: string): Record<string, string> {
  const common = {
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    AWS_ENDPOINT_URL: endpoint,
    AWS_LAMBDA_LOG_LEVEL: "ERROR",
  };
  const own: Record<FunctionKind, Record<string, string>> = {
    analyzer: {
      [ANALYZER_ENV.tableName]: "bench-counters",
      [ANALYZER_ENV.quarantineBucket]: "bench-quarantine",
      [ANALYZER_ENV.mode]: "exactly-once",
      [ANALYZER_ENV.granularity]: "minute",
      [ANALYZER_ENV.ttlDays]: "16",
      [ANALYZER_ENV.stateTable]: "bench-state",
    },
    forwarder: { [FORWARDER_ENV.stateTable]: "bench-state" },
    reconciler: { [RECONCILER_ENV.tableName]: "bench-counters", [RECONCILER_ENV.granularity]: "minute", [RECONCILER_ENV.lookbackHours]: "3", [RECONCILER_ENV.settleMinutes]: "10" },
    archiver: { [ARCHIVER_ENV.granularity]: "minute", [ARCHIVER_ENV.stateTable]: "bench-state" },
    // A host with a scheme is taken as it is: the publishes go to the loopback server's POST /event.
    publisher: { [PUBLISHER_ENV.httpHost]: endpoint, [PUBLISHER_ENV.channel]: LIVE_CHANNEL },
    snapshot: {
      [SNAPSHOT_ENV.tableName]: "bench-counters",
      [SNAPSHOT_ENV.stateTable]: "bench-state",
      [SNAPSHOT_ENV.granularity]: "minute",
      [SNAPSHOT_ENV.stack]: "bench",
      [SNAPSHOT_ENV.pipeline]: "main",
    },
  };
  return { ...common, ...own[kind] };
}

function runOnce(index: string, eventFile: string, env: Record<string, string>): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", RUNNER], {
      cwd: path.dirname(index),
      env: { ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }), ...env, BENCH_INDEX: index, BENCH_EVENT: eventFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`the ${path.basename(path.dirname(index))} bundle failed its first call (exit ${code}): ${err.trim().split("\n").slice(-5).join(" / ")}`));
      const line = JSON.parse(out.trim().split("\n").pop()!) as ColdStart;
      resolve({ requireMs: line.requireMs, firstCallMs: line.firstCallMs, cpuMs: line.cpuMs });
    });
  });
}

/** `runs` cold starts of each bundle, one fresh process each, interleaved across bundles. */
export async function coldStarts(o: { catalog: Catalog; endpoint: string; events: Record<FunctionKind, unknown>; runs: number }): Promise<Record<FunctionKind, ColdStart[]>> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "bench-cold-"));
  try {
    const kinds = Object.keys(o.events) as FunctionKind[];
    const files = new Map<FunctionKind, { index: string; event: string }>();
    for (const kind of kinds) {
      const task = path.join(dir, kind);
      await fs.promises.mkdir(task);
      const index = path.join(task, "index.js");
      await fs.promises.writeFile(index, bundleFunction(kind, o.catalog).code);
      const event = path.join(dir, `${kind}.event.json`);
      await fs.promises.writeFile(event, JSON.stringify(o.events[kind]));
      files.set(kind, { index, event });
    }
    const results = Object.fromEntries(kinds.map((k) => [k, [] as ColdStart[]])) as Record<FunctionKind, ColdStart[]>;
    for (let run = 0; run < o.runs; run++) {
      for (const kind of kinds) results[kind].push(await runOnce(files.get(kind)!.index, files.get(kind)!.event, environment(kind, o.endpoint)));
    }
    return results;
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
