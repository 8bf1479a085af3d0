/**
 * Runs a Lambda bundle (one CommonJS index.js exporting `handler`) the way Lambda's Node runtime
 * does: in its own process, configured only through its environment, with the module loaded once
 * and the handler called per event with a Lambda-shaped context. Nothing in the test process is
 * patched and its process.env is never written.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface LambdaContextInfo {
  readonly functionName: string;
}
export interface Invocation<T> {
  readonly result: T;
  readonly requestId: string;
}
export interface LambdaProcess {
  invoke<T = unknown>(event: unknown): Promise<Invocation<T>>;
  readonly logs: string[];
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const TAIL_LINES = 20;

/** Child → parent messages of the runner below. */
type RunnerMessage =
  | { type: "ready" }
  | { type: "init-error"; errorType: string; errorMessage: string; trace: string[] }
  | { type: "result"; requestId: string; payload: string }
  | { type: "error"; requestId: string; errorType: string; errorMessage: string; trace: string[] };

/**
 * The in-child runtime, plain JavaScript so no TypeScript helper can leak into it. Wrapped in a
 * function so none of its names become globals the handler could see. Events and results cross as
 * JSON text, as they do through Lambda's runtime API.
 */
const RUNNER = `(function (config) {
  "use strict";
  const { randomBytes } = require("node:crypto");
  // The child must not outlive the parent, nor leave its files, even if the parent is SIGKILLed.
  process.on("disconnect", () => {
    require("node:fs").rmSync(config.dir, { recursive: true, force: true });
    process.exit(0);
  });
  const describe = (error) =>
    error instanceof Error
      ? { errorType: error.name, errorMessage: error.message, trace: String(error.stack || "").split("\\n") }
      : { errorType: typeof error, errorMessage: String(error), trace: [] };
  let handler;
  try {
    handler = require(config.index).handler;
    if (typeof handler !== "function") throw new Error("index.handler is not a function");
  } catch (error) {
    // Stay up until the parent has the message and kills the process, so it cannot race the exit.
    process.send({ type: "init-error", ...describe(error) });
    return;
  }
  const region = process.env.AWS_REGION || "us-east-1";
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, "/");
  const logStreamName = day + "/[$LATEST]" + randomBytes(16).toString("hex");
  process.on("message", async (message) => {
    const deadline = Date.now() + message.timeoutMs;
    const context = {
      awsRequestId: message.requestId,
      functionName: config.functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:" + region + ":000000000000:function:" + config.functionName,
      memoryLimitInMB: "128",
      logGroupName: "/aws/lambda/" + config.functionName,
      logStreamName,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      callbackWaitsForEmptyEventLoop: true,
    };
    let reply;
    try {
      const result = await handler(JSON.parse(message.payload), context);
      reply = { type: "result", requestId: message.requestId, payload: JSON.stringify(result) ?? "null" };
    } catch (error) {
      reply = { type: "error", requestId: message.requestId, ...describe(error) };
    }
    process.send(reply);
  });
  process.send({ type: "ready" });
})`;

// Every running child with its temp dir, so none survives this process however it ends.
const live = new Map<ChildProcess, string>();
const killAll = () => {
  for (const [child, dir] of live) {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
};
process.once("exit", killAll);
// Node skips "exit" handlers when a signal ends the process.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
  });
}

function remoteError(message: { errorType: string; errorMessage: string; trace: string[] }): Error {
  const error = new Error(message.errorMessage);
  error.name = message.errorType;
  if (message.trace.length > 0) error.stack = message.trace.join("\n");
  return error;
}

export async function startLambda(options: {
  code: string;
  env: Readonly<Record<string, string>>;
  functionName?: string;
  timeoutMs?: number;
}): Promise<LambdaProcess> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "lambda-"));
  // The task root holds only the code, like /var/task; the output file lives beside it.
  const taskRoot = path.join(dir, "task");
  const index = path.join(taskRoot, "index.js");
  const outputFile = path.join(dir, "output.log");
  await fs.promises.mkdir(taskRoot);
  await fs.promises.writeFile(index, options.code);

  // stdout and stderr share one append-only file: their lines stay in write order, and a line is
  // on disk before the runner reports the invocation that wrote it.
  const output = fs.openSync(outputFile, "a");
  const config: LambdaContextInfo & { index: string; dir: string } = { index, dir, functionName: options.functionName ?? "function" };
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ["-e", `${RUNNER}(${JSON.stringify(config)})`], {
      cwd: taskRoot,
      env: { ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }), ...options.env },
      stdio: ["ignore", output, output, "ipc"],
    });
  } finally {
    fs.closeSync(output);
  }
  live.set(child, dir);

  let finalLogs: string[] | undefined;
  const readLogs = (): string[] => {
    if (finalLogs) return finalLogs;
    const text = fs.existsSync(outputFile) ? fs.readFileSync(outputFile, "utf8") : "";
    return text === "" ? [] : text.replace(/\n$/, "").split("\n");
  };
  const tail = () => readLogs().slice(-TAIL_LINES).join("\n");

  // At most one message is awaited at a time: the start-up handshake, then one invocation.
  let waiting: { requestId?: string; resolve: (m: RunnerMessage) => void; reject: (e: Error) => void } | undefined;
  const fail = (error: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };

  // Why the process can take no more events (set as soon as it is doomed, before it has exited).
  let unusable: string | undefined;
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    const onGone = (reason: string) => {
      hasExited = true;
      unusable ??= reason;
      fail(new Error(`Lambda process ${reason}. Last output:\n${tail()}`));
      resolve();
    };
    child.once("exit", (code, signal) => onGone(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    child.on("error", (error) => {
      // A failed spawn never emits "exit"; other errors concern whatever is awaited.
      if (child.pid === undefined) onGone(`could not start: ${error.message}`);
      else fail(error);
    });
  });

  child.on("message", (raw) => {
    const message = raw as RunnerMessage;
    const w = waiting;
    if (!w || ("requestId" in message && message.requestId !== w.requestId)) return;
    waiting = undefined;
    w.resolve(message);
  });
  const next = (requestId: string | undefined, what: string): Promise<RunnerMessage> =>
    new Promise<RunnerMessage>((resolve, reject) => {
      if (unusable !== undefined) return reject(new Error(`Lambda process ${unusable}. Last output:\n${tail()}`));
      const timer = setTimeout(() => {
        unusable ??= `was killed after ${what} timed out`;
        const error = new Error(`${what} timed out after ${timeoutMs} ms. Last output:\n${tail()}`);
        // Settle only once the process is gone, so a caller never sees a timed-out process still running.
        waiting = undefined;
        child.kill("SIGKILL");
        void exited.then(() => reject(error));
      }, timeoutMs);
      const settle = () => clearTimeout(timer);
      waiting = {
        requestId,
        resolve: (m) => (settle(), resolve(m)),
        reject: (e) => (settle(), reject(e)),
      };
    });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      unusable ??= "was stopped";
      if (!hasExited) {
        child.kill("SIGKILL");
        await exited;
      }
      finalLogs = readLogs();
      await fs.promises.rm(dir, { recursive: true, force: true });
      live.delete(child);
    })());

  const ready = await next(undefined, "Loading index.js").catch(async (error: Error) => {
    await stop();
    throw error;
  });
  if (ready.type !== "ready") {
    await stop();
    const error = ready.type === "init-error" ? remoteError(ready) : new Error(`unexpected runner message ${ready.type}`);
    error.message = `index.js failed to load: ${error.message}\nOutput:\n${finalLogs?.join("\n") ?? ""}`;
    throw error;
  }

  // Like one Lambda sandbox, the process handles one event at a time; later invokes wait their turn.
  let queue: Promise<unknown> = Promise.resolve();
  const invokeOnce = async <T>(event: unknown): Promise<Invocation<T>> => {
    const payload = JSON.stringify(event) ?? "null";
    const requestId = randomUUID();
    const reply = next(requestId, `Invocation ${requestId}`);
    if (unusable === undefined) {
      child.send({ requestId, payload, timeoutMs }, (error) => {
        if (error) fail(error);
      });
    }
    const message = await reply;
    if (message.type === "error") throw remoteError(message);
    if (message.type !== "result") throw new Error(`unexpected runner message ${message.type}`);
    return { result: JSON.parse(message.payload) as T, requestId };
  };

  return {
    invoke<T = unknown>(event: unknown): Promise<Invocation<T>> {
      const run = queue.then(() => invokeOnce<T>(event));
      queue = run.catch(() => undefined);
      return run;
    },
    get logs() {
      return readLogs();
    },
    stop,
  };
}
