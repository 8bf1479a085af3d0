import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { analyzerRules } from "../catalog";
import { analyzerClients } from "../functions/analyzer/handler";
import { processBatch } from "../functions/analyzer/process";
import { archiverClients } from "../functions/archiver/handler";
import { forwarderClients } from "../functions/forwarder/handler";
import { reconcilerClients } from "../functions/reconciler/handler";
import { CALL_LOGGER_MIDDLEWARE, MAX_ATTEMPTS, type SdkClientOptions, sdkClient } from "../functions/shared/clientOptions";
import { isTransient, memoryLogger } from "../functions/shared/log";
import { createCounterTable } from "../local/aws";
import { capturedS3, LOCAL_AWS } from "../local/clients";
import { produce } from "../local/producer";
import { emulators } from "./emulators";
import { fixtureCatalog } from "./fixtures";
import { scanCounters, truth } from "./truth";

interface Received {
  readonly target: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly valid: boolean;
}

/** SigV4 as the service checks it: the signature recomputed from what arrived, with the test's secret. */
function validSignature(req: http.IncomingMessage, body: string, secret: string): boolean {
  const m = /^AWS4-HMAC-SHA256 Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? "");
  if (!m) return false;
  const [, day, region, service, signedHeaders, signature] = m;
  const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
  const headerOf = (name: string) => [req.headers[name]].flat().join(",").trim().replace(/\s+/g, " ");
  const canonical = ["POST", req.url, "", ...signedHeaders.split(";").map((h) => `${h}:${headerOf(h)}`), "", signedHeaders, sha256(body)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", headerOf("x-amz-date"), scope, sha256(canonical)].join("\n");
  const key = [day, region, service, "aws4_request"].reduce<Buffer | string>((k, part) => createHmac("sha256", k).update(part).digest(), `AWS4${secret}`);
  return createHmac("sha256", key).update(toSign).digest("hex") === signature;
}

/**
 * A DynamoDB-shaped loopback server: `answer` decides each call's status, body and delay from its
 * operation and input; every request is recorded with whether its signature checks out.
 */
async function dynamoStub(answer: (target: string, input: Record<string, unknown>) => { status?: number; body: object; delayMs?: number }) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const target = String(req.headers["x-amz-target"] ?? "").replace("DynamoDB_20120810.", "");
      received.push({ target, headers: req.headers, body, valid: validSignature(req, body, LOCAL_AWS.credentials.secretAccessKey) });
      const reply = answer(target, JSON.parse(body) as Record<string, unknown>);
      const text = JSON.stringify(reply.body);
      setTimeout(() => {
        res.writeHead(reply.status ?? 200, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": String(received.length), "content-length": Buffer.byteLength(text) });
        res.end(text);
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { endpoint, received, stop };
}

/** DynamoDBClient pointed at the stub, built by `sdkClient` exactly as the handlers build theirs. */
const stubbedDynamo = (endpoint: string, extra: object = {}) =>
  class extends DynamoDBClient {
    constructor(options: SdkClientOptions) {
      super({ ...options, ...LOCAL_AWS, endpoint, ...extra });
    }
  };

const throttled = { status: 400, body: { __type: "com.amazonaws.dynamodb.v20120810#ThrottlingException", message: "Rate of requests exceeds the allowed throughput." } };

describe("SDK client options: every function's clients, and what they keep against AWS", () => {
  it("gives every client the handlers build the shared options and drops the per-call logger middleware", async () => {
    // Prepare: the clients of all four deployed functions, each with its own log.
    const built = Object.entries({ analyzerClients, archiverClients, forwarderClients, reconcilerClients }).flatMap(([fn, clients]) => {
      const log = memoryLogger();
      return Object.entries(clients(log)).map(([name, client]) => ({ where: `${fn}.${name}`, client, log }));
    });
    assert.equal(built.length, 7);
    for (const { where, client, log } of built) {
      const config = client.config as unknown as { cacheMiddleware?: boolean; maxAttempts: () => Promise<number>; retryStrategy: () => Promise<{ mode?: string }>; logger: { warn: (m: string) => void } };
      // Act
      const before = log.entries.length;
      config.logger.warn("socket usage at capacity");
      // Assess
      assert.equal(await config.maxAttempts(), MAX_ATTEMPTS, where);
      assert.equal((await config.retryStrategy()).mode, "adaptive", where);
      // S3's endpoint follows the bucket, so its stack is resolved per call (see SdkClientOptions.cacheMiddleware).
      assert.equal(config.cacheMiddleware, !where.endsWith(".s3"), where);
      assert.ok(!client.middlewareStack.identify().some((m) => m.startsWith(`${CALL_LOGGER_MIDDLEWARE} `)), `${where} still logs every call`);
      assert.deepEqual(log.entries.slice(before), [{ level: "WARN", message: "aws-sdk", detail: "socket usage at capacity" }], where);
    }
  });

  it("signs every concurrent call and pairs each with its own answer through the cached stack", async () => {
    // Prepare: a stub echoing each GetItem's key back, slower for some keys so answers cross.
    const stub = await dynamoStub((_target, input) => {
      const id = (input.Key as { pk: { S: string } }).pk.S;
      return { body: { Item: { pk: { S: id } } }, delayMs: Number(id) % 3 };
    });
    try {
      const client = sdkClient(stubbedDynamo(stub.endpoint), memoryLogger());
      const ids = Array.from({ length: 64 }, (_, i) => String(i));
      // Act
      const items = await Promise.all(ids.map((id) => client.send(new GetItemCommand({ TableName: "counters", Key: { pk: { S: id } } }))));
      // Assess
      assert.deepEqual(items.map((r) => r.Item?.pk?.S), ids);
      assert.equal(stub.received.length, ids.length);
      assert.ok(stub.received.every((r) => r.valid), "every request carries a valid SigV4 signature");
      assert.equal(new Set(stub.received.map((r) => r.headers["amz-sdk-invocation-id"])).size, ids.length);
    } finally {
      await stub.stop();
    }
  });

  it("retries throttling with backoff, signed afresh, and stops after the configured attempts", async () => {
    // Prepare: DynamoDB throttling every write.
    const stub = await dynamoStub(() => throttled);
    try {
      const client = sdkClient(stubbedDynamo(stub.endpoint), memoryLogger());
      // Act
      const error = await client.send(new UpdateItemCommand({ TableName: "counters", Key: { pk: { S: "a" } }, UpdateExpression: "ADD #c :n", ExpressionAttributeNames: { "#c": "count" }, ExpressionAttributeValues: { ":n": { N: "1" } } })).then(
        () => assert.fail("a throttled write must fail"),
        (e: unknown) => e as { name: string; $metadata: { attempts?: number; totalRetryDelay?: number } },
      );
      // Assess
      assert.equal(error.name, "ThrottlingException");
      assert.ok(isTransient(error), "the handler reports it for Lambda to retry");
      assert.equal(error.$metadata.attempts, MAX_ATTEMPTS);
      assert.ok((error.$metadata.totalRetryDelay ?? 0) > 0, "backed off between attempts");
      assert.deepEqual(stub.received.map((r) => r.headers["amz-sdk-request"]), Array.from({ length: MAX_ATTEMPTS }, (_, i) => `attempt=${i + 1}; max=${MAX_ATTEMPTS}`));
      assert.ok(stub.received.every((r) => r.valid));
    } finally {
      await stub.stop();
    }
  });

  it("logs the SDK's own warnings as JSON entries, but no entry per failed call", async () => {
    // Prepare: a write the service refuses, and a read slower than the handler's request timeout.
    const stub = await dynamoStub((target) => (target === "UpdateItem" ? { status: 400, body: { __type: "com.amazon.coral.validation#ValidationException", message: "bad expression" } } : { body: {}, delayMs: 120 }));
    const log = memoryLogger();
    try {
      const client = sdkClient(stubbedDynamo(stub.endpoint, { requestHandler: { requestTimeout: 20 } }), log);
      // Act
      await assert.rejects(client.send(new UpdateItemCommand({ TableName: "counters", Key: { pk: { S: "a" } }, UpdateExpression: "ADD" })), { name: "ValidationException" });
      await client.send(new GetItemCommand({ TableName: "counters", Key: { pk: { S: "a" } } }));
      // Assess
      assert.deepEqual(log.entries.map((e) => [e.level, e.message]), [["WARN", "aws-sdk"]]);
      assert.match(String(log.entries[0].detail), /exceeded the configured 20 ms requestTimeout/);
    } finally {
      await stub.stop();
    }
  });

  it("counts a batch exactly against DynamoDB Local, and a redelivery, refused by every item's mark, adds nothing", async () => {
    // Prepare: the analyzer's write path with a DynamoDB client built as the handlers build it.
    const env = await emulators();
    const dynamo = sdkClient(stubbedDynamo(env.dynamoEndpoint), memoryLogger());
    await createCounterTable(dynamo, "client-options");
    const catalog = fixtureCatalog("web");
    const now = Date.now();
    const produced = produce({ catalog, count: 2000, seed: 7, now, badRatio: 0 });
    const batch = produced.map((p, i) => ({ shardId: "shardId-000000000000", sequenceNumber: String(49_000_000_000_000_000_000n + BigInt(i)), data: p.data.toString("base64"), arrivalMs: now }));
    const deps = { rules: analyzerRules({ catalog, granularity: "minute" }), dynamo, s3: capturedS3().client, settings: { tableName: "client-options", quarantineBucket: "q", mode: "exactly-once", ttlDays: 7 } as const, log: memoryLogger() };
    // Act
    const first = await processBatch(batch, deps);
    const again = await processBatch(batch, deps);
    // Assess
    assert.deepEqual([first.batchItemFailures, again.batchItemFailures], [[], []]);
    const { counters } = await scanCounters(dynamo, "client-options");
    assert.deepEqual(Object.fromEntries(counters), Object.fromEntries(truth(produced, catalog).counters));
    assert.ok(again.writeRequests >= first.writeRequests, "the redelivery's conditional writes were sent and refused");
  });
});
