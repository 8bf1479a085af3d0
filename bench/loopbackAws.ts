/**
 * A loopback server that answers the functions' DynamoDB, CloudWatch, S3 and AppSync Events calls the way the
 * services answer them on the wire, so the SDK's whole cost per request (serialization, signing,
 * middleware, HTTP, parsing) is in the client's figures. It runs in a child process: its own CPU
 * never counts in the benchmark's `process.cpuUsage`.
 *
 * DynamoDB items put or updated are kept (key attributes only for updates: no expression is
 * evaluated), so a read-modify-write design reads back what it wrote.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

const JSON_1_0 = "application/x-amz-json-1.0";

type Item = Record<string, unknown>;

function answer(target: string, body: Record<string, unknown>, items: Map<string, Item>): Record<string, unknown> {
  const keyOf = (key: Record<string, { S?: string }>) => `${key.pk?.S}\u0000${key.sk?.S}`;
  const consumed = body.ReturnConsumedCapacity === "TOTAL" ? { ConsumedCapacity: { TableName: body.TableName, CapacityUnits: 1 } } : {};
  switch (target) {
    case "DynamoDB_20120810.UpdateItem":
      items.set(keyOf(body.Key as never), body.Key as Item);
      return consumed;
    case "DynamoDB_20120810.PutItem":
      items.set(keyOf(body.Item as never), body.Item as Item);
      return consumed;
    case "DynamoDB_20120810.GetItem": {
      const item = items.get(keyOf(body.Key as never));
      return item === undefined ? consumed : { Item: item, ...consumed };
    }
    case "DynamoDB_20120810.DeleteItem":
    case "DynamoDB_20120810.TransactWriteItems":
      return {};
    case "DynamoDB_20120810.Query":
      return { Items: [], Count: 0, ScannedCount: 0, ...consumed };
    case "DynamoDB_20120810.BatchGetItem":
      return { Responses: Object.fromEntries(Object.keys(body.RequestItems as object).map((t) => [t, []])), UnprocessedKeys: {} };
    case "GraniteServiceVersion20100801.PutMetricData":
      return {};
    case "GraniteServiceVersion20100801.GetMetricData":
      return { MetricDataResults: [], Messages: [] };
    case "GraniteServiceVersion20100801.ListMetrics":
      return { Metrics: [] };
    case "GraniteServiceVersion20100801.DescribeAlarms":
      return { MetricAlarms: [], CompositeAlarms: [] };
    default:
      throw new Error(`the loopback server doesn't answer ${target}`);
  }
}

/** Serves until its parent goes away; reports its port, then answers `counts` with requests per operation. */
function serve(): void {
  const items = new Map<string, Item>();
  const counts: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? (req.method === "PUT" ? "S3.PutObject" : req.method === "POST" && req.url === "/event" ? "AppSyncEvents.Publish" : "unknown"));
      counts[target] = (counts[target] ?? 0) + 1;
      let status = 200;
      let text = "";
      const headers: Record<string, string> = { "x-amzn-requestid": "loopback", "x-amz-request-id": "loopback" };
      if (target === "S3.PutObject") {
        headers.etag = '"loopback"';
      } else if (target === "AppSyncEvents.Publish") {
        // AppSync Events' HTTP publish: every event accepted, listed by its index.
        headers["content-type"] = "application/json";
        const { events = [] } = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { events?: string[] };
        text = JSON.stringify({ successful: events.map((_, index) => ({ identifier: `loopback-${index}`, index })), failed: [] });
      } else {
        headers["content-type"] = JSON_1_0;
        try {
          text = JSON.stringify(answer(target, JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"), items));
        } catch (error) {
          status = 400;
          text = JSON.stringify({ __type: "ValidationException", message: String(error) });
        }
      }
      headers["content-length"] = String(Buffer.byteLength(text));
      res.writeHead(status, headers);
      res.end(text);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on("message", (m: { type: string }) => {
    if (m.type === "counts") process.send!({ counts: { ...counts } });
    if (m.type === "reset") for (const k of Object.keys(counts)) delete counts[k];
  });
  process.on("disconnect", () => process.exit(0));
}

export interface LoopbackAws {
  readonly endpoint: string;
  /** Requests per operation (`DynamoDB_20120810.UpdateItem`, ...) since the last reset. */
  counts(): Promise<Record<string, number>>;
  reset(): void;
  stop(): void;
}

export async function startLoopbackAws(): Promise<LoopbackAws> {
  const child: ChildProcess = fork(__filename, ["serve"], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`the loopback server exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () =>
      new Promise((resolve) => {
        child.once("message", (m) => resolve((m as { counts: Record<string, number> }).counts));
        child.send({ type: "counts" });
      }),
    reset: () => child.send({ type: "reset" }),
    stop: () => {
      child.disconnect();
      child.kill();
    },
  };
}

if (require.main === module && process.argv[2] === "serve") serve();
