import assert from "node:assert/strict";
import * as http from "node:http";
import * as path from "node:path";
import { Readable } from "node:stream";
import { CloudWatchClient, ListMetricsCommand, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { buildSync } from "esbuild";
import { type AwsStub, startAwsStub } from "./awsStub";
import { type LambdaProcess, startLambda } from "./lambdaRuntime";

const ROOT = path.resolve(__dirname, "..");
const REGION = "eu-west-1";
const CREDENTIALS = { accessKeyId: "AKIDTEST", secretAccessKey: "secret-test" };
const SOME_VAR = "seen-only-inside-the-lambda";

/** A handler shaped like the project's: SDK clients at module scope, configured only by the environment. */
const HANDLER_SOURCE = `
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context } from "aws-lambda";

const cloudWatch = new CloudWatchClient({});
const s3 = new S3Client({});
let invocations = 0;

interface Event { readonly at: string; readonly value: number; readonly key: string; readonly body: string; readonly fail?: string }

export const handler = async (event: Event, context: Context) => {
  invocations += 1;
  if (event.fail) throw new Error(event.fail);
  const Timestamp = new Date(event.at);
  await cloudWatch.send(new PutMetricDataCommand({
    Namespace: "Test/Runtime",
    MetricData: [
      { MetricName: "Invocations", Timestamp, Value: event.value, Unit: "Count" },
      { MetricName: "Latency", Dimensions: [{ Name: "platform", Value: "Web" }], Timestamp, Value: 12.5, Unit: "Milliseconds" },
    ],
  }));
  await s3.send(new PutObjectCommand({ Bucket: "quarantine-bucket", Key: event.key, Body: event.body, ContentType: "application/x-ndjson" }));
  console.log(JSON.stringify({ msg: "handled", requestId: context.awsRequestId, key: event.key }));
  return {
    requestId: context.awsRequestId,
    envSeen: process.env.SOME_VAR,
    pid: process.pid,
    invocations,
    envKeys: Object.keys(process.env).sort(),
  };
};
`;

interface HandlerResult {
  readonly requestId: string;
  readonly envSeen?: string;
  readonly pid: number;
  readonly invocations: number;
  readonly envKeys: string[];
}

function bundle(source: string): string {
  const result = buildSync({
    stdin: { contents: source, resolveDir: ROOT, sourcefile: "handler.ts", loader: "ts" },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    keepNames: true,
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** One raw request, for input no SDK would send. */
function rawRequest(endpoint: string, options: http.RequestOptions, body = ""): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(endpoint, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("lambda runtime: the bundle in its own process, AWS answered by the stub", function () {
  let stub: AwsStub | undefined;
  let lambda: LambdaProcess | undefined;
  let env: Record<string, string>;

  before(async () => {
    const code = bundle(HANDLER_SOURCE);
    stub = await startAwsStub();
    env = {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_CLOUDWATCH: stub.endpoint,
      AWS_ENDPOINT_URL_S3: stub.endpoint,
      SOME_VAR,
    };
    lambda = await startLambda({ code, env, functionName: "runtime-test" });
  });

  after(async () => {
    await Promise.allSettled([lambda?.stop(), stub?.stop()]);
  });

  it("sends exactly the datums and object bytes the handler made, per invocation, in one module scope", async () => {
    // Prepare
    const at = "2026-11-21T12:34:00.250Z";
    const first = { at, value: 3, key: "rejects/2026-11-21/ünï code+1.jsonl", body: '{"reason":"not_json","raw":"héllo wörld ✓ 日本"}\n' };
    const second = { at, value: 4, key: "rejects/2026-11-21/plain.jsonl", body: "line one\nline two\n" };

    // Act
    const a = await lambda!.invoke<HandlerResult>(first);
    const b = await lambda!.invoke<HandlerResult>(second);

    // Assess
    const seconds = Date.parse(at) / 1000;
    const datums = (value: number) => [
      { MetricName: "Invocations", Timestamp: seconds, Value: value, Unit: "Count" },
      { MetricName: "Latency", Dimensions: [{ Name: "platform", Value: "Web" }], Timestamp: seconds, Value: 12.5, Unit: "Milliseconds" },
    ];
    assert.deepEqual(stub!.metricCalls, [
      { namespace: "Test/Runtime", metricData: datums(3) },
      { namespace: "Test/Runtime", metricData: datums(4) },
    ]);
    assert.deepEqual(stub!.objects, [
      { bucket: "quarantine-bucket", key: first.key, body: first.body, contentType: "application/x-ndjson" },
      { bucket: "quarantine-bucket", key: second.key, body: second.body, contentType: "application/x-ndjson" },
    ]);
    assert.equal(a.result.requestId, a.requestId);
    assert.equal(b.result.requestId, b.requestId);
    assert.notEqual(a.requestId, b.requestId);
    assert.deepEqual([a.result.invocations, b.result.invocations], [1, 2]);
    assert.equal(a.result.pid, b.result.pid);
    assert.equal(a.result.envSeen, SOME_VAR);
    assert.equal(process.env.SOME_VAR, undefined);
    assert.deepEqual(a.result.envKeys, [...Object.keys(env), "PATH"].sort());
    const handled = lambda!.logs.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(handled, [
      { msg: "handled", requestId: a.requestId, key: first.key },
      { msg: "handled", requestId: b.requestId, key: second.key },
    ]);
  });

  it("rejects invoke with the handler's error message and keeps serving", async () => {
    // Prepare
    const calls = stub!.metricCalls.length;

    // Act
    const failed = lambda!.invoke({ fail: "poison record 42" });

    // Assess
    await assert.rejects(failed, { name: "Error", message: "poison record 42" });
    assert.equal(stub!.metricCalls.length, calls);
    const after = await lambda!.invoke<HandlerResult>({ at: new Date().toISOString(), value: 1, key: "k", body: "b" });
    assert.equal(after.result.invocations, 4);
  });

  it("stops the process for good, and stop() can be called again", async () => {
    // Prepare
    const { result } = await lambda!.invoke<HandlerResult>({ at: new Date().toISOString(), value: 1, key: "k", body: "b" });
    assert.ok(isAlive(result.pid));

    // Act
    await lambda!.stop();
    await lambda!.stop();

    // Assess
    assert.equal(isAlive(result.pid), false);
    await assert.rejects(lambda!.invoke({}), /Lambda process was stopped/);
  });
});

describe("aws stub: the protocol boundary", function () {
  let stub: AwsStub | undefined;
  let cloudWatch: CloudWatchClient | undefined;
  let s3: S3Client | undefined;

  before(async () => {
    stub = await startAwsStub();
    cloudWatch = new CloudWatchClient({ endpoint: stub.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
    s3 = new S3Client({ endpoint: stub.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  });

  after(async () => {
    cloudWatch?.destroy();
    s3?.destroy();
    await stub?.stop();
  });

  it("refuses operations it does not implement, in each service's error shape, and records nothing", async () => {
    // Act
    const listMetrics = cloudWatch!.send(new ListMetricsCommand({ Namespace: "Test/Runtime" }));
    const getObject = s3!.send(new GetObjectCommand({ Bucket: "quarantine-bucket", Key: "k" }));

    // Assess
    await assert.rejects(listMetrics, (e: any) => e.name === "InvalidAction" && e.$metadata.httpStatusCode === 400);
    await assert.rejects(getObject, (e: any) => e.name === "NotImplemented" && e.$metadata.httpStatusCode === 400);
    assert.deepEqual([stub!.metricCalls, stub!.objects], [[], []]);
  });

  it("refuses malformed requests with 400 and keeps answering", async () => {
    // Prepare
    const signed = (service: string) => `AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=00`;
    const cw = { "x-amz-target": "GraniteServiceVersion20100801.PutMetricData", "content-type": "application/x-amz-json-1.0", authorization: signed("monitoring") };

    // Act
    const responses = await Promise.all([
      rawRequest(stub!.endpoint, { method: "POST", path: "/", headers: cw }, "{not json"),
      rawRequest(stub!.endpoint, { method: "POST", path: "/", headers: cw }, JSON.stringify({ MetricData: [{ MetricName: "m" }] })),
      rawRequest(stub!.endpoint, { method: "POST", path: "/", headers: cw }, JSON.stringify({ Namespace: "N", MetricData: [{ Value: 1 }] })),
      rawRequest(stub!.endpoint, { method: "POST", path: "/", headers: { ...cw, authorization: "" } }, JSON.stringify({ Namespace: "N", MetricData: [{ MetricName: "m" }] })),
      rawRequest(stub!.endpoint, { method: "PUT", path: "/bucket/%E0%A4%A", headers: { authorization: signed("s3") } }, "x"),
      rawRequest(stub!.endpoint, { method: "PUT", path: "/bucket", headers: { authorization: signed("s3") } }, ""),
      rawRequest(stub!.endpoint, { method: "PUT", path: "/bucket/k?tagging", headers: { authorization: signed("s3") } }, "<Tagging/>"),
      rawRequest(stub!.endpoint, { method: "PUT", path: "/bucket/k", headers: { authorization: signed("s3"), "content-encoding": "aws-chunked" } }, "zz\r\n"),
      rawRequest(stub!.endpoint, { method: "PUT", path: "/bucket/k", headers: { authorization: signed("s3"), "x-amz-checksum-crc32": "AAAAAA==" } }, "x"),
      rawRequest(stub!.endpoint, { method: "DELETE", path: "/" }),
    ]);

    // Assess
    assert.deepEqual(responses.map((r) => r.status), responses.map(() => 400));
    assert.match(responses[0].body, /SerializationException/);
    assert.match(responses[4].body, /<Code>InvalidURI<\/Code>/);
    assert.match(responses[8].body, /<Code>BadDigest<\/Code>/);
    assert.deepEqual([stub!.metricCalls, stub!.objects], [[], []]);
    await cloudWatch!.send(new PutMetricDataCommand({ Namespace: "N", MetricData: [{ MetricName: "m", Value: 1 }] }));
    assert.equal(stub!.metricCalls.length, 1);
  });

  it("reads a gzipped PutMetricData and an aws-chunked streamed PutObject as the bytes sent", async () => {
    // Prepare: over 10 KiB of JSON makes the SDK gzip; a stream of known length makes it send aws-chunked with a trailing CRC32.
    const many = Array.from({ length: 500 }, (_, i) => ({ MetricName: `metric${i}`, Value: i, Unit: "Count" as const }));
    const parts = ["first part, ", "zweiter Teil: äöü ", "third ✓"];
    const body = parts.join("");
    const before = stub!.metricCalls.length;

    // Act
    await cloudWatch!.send(new PutMetricDataCommand({ Namespace: "Big", MetricData: many }));
    await s3!.send(
      new PutObjectCommand({ Bucket: "b", Key: "streamed/ä.txt", Body: Readable.from(parts.map((p) => Buffer.from(p))), ContentLength: Buffer.byteLength(body) }),
    );

    // Assess
    assert.deepEqual(stub!.metricCalls.slice(before), [{ namespace: "Big", metricData: many }]);
    assert.deepEqual(stub!.objects, [{ bucket: "b", key: "streamed/ä.txt", body, contentType: "application/octet-stream" }]);
  });
});

describe("lambda runtime: like Lambda's Node runtime", function () {
  async function withLambda(code: string, use: (lambda: LambdaProcess) => Promise<void>, timeoutMs?: number): Promise<void> {
    const lambda = await startLambda({ code, env: { AWS_REGION: REGION }, functionName: "shape-test", timeoutMs });
    try {
      await use(lambda);
    } finally {
      await lambda.stop();
    }
  }

  it("passes a Lambda-shaped context and accepts a handler that returns a promise", async () => {
    // Prepare
    const code = `exports.handler = (event, context) => new Promise((resolve) => setTimeout(() => resolve({
      event,
      keys: Object.keys(context).sort(),
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remaining: context.getRemainingTimeInMillis(),
      requestId: context.awsRequestId,
    }), 5));`;

    await withLambda(
      code,
      async (lambda) => {
        // Act
        const { result, requestId } = await lambda.invoke<Record<string, unknown>>({ hello: ["wörld"] });

        // Assess
        assert.deepEqual(result.event, { hello: ["wörld"] });
        assert.deepEqual(result.keys, [
          "awsRequestId", "callbackWaitsForEmptyEventLoop", "functionName", "functionVersion", "getRemainingTimeInMillis",
          "invokedFunctionArn", "logGroupName", "logStreamName", "memoryLimitInMB",
        ]);
        assert.equal(result.requestId, requestId);
        assert.equal(result.functionName, "shape-test");
        assert.equal(result.functionVersion, "$LATEST");
        assert.match(String(result.invokedFunctionArn), /^arn:aws:lambda:eu-west-1:\d{12}:function:shape-test$/);
        assert.equal(result.logGroupName, "/aws/lambda/shape-test");
        assert.match(String(result.logStreamName), /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
        assert.ok(Number(result.remaining) > 9_000 && Number(result.remaining) <= 10_000);
      },
      10_000,
    );
  });

  it("keeps stdout and stderr lines in the order they were written, and undefined comes back as null", async () => {
    const code = `exports.handler = async () => { console.log("one"); console.error("two"); process.stdout.write("three\\nfour\\n"); };`;
    await withLambda(code, async (lambda) => {
      // Act
      const { result } = await lambda.invoke({});

      // Assess
      assert.equal(result, null);
      assert.deepEqual(lambda.logs, ["one", "two", "three", "four"]);
    });
  });

  it("rejects start-up with the load error and the output so far", async () => {
    // Act
    const loading = startLambda({ code: `console.log("booting"); throw new TypeError("no config");`, env: {} });
    const noHandler = startLambda({ code: `exports.handle = async () => 1;`, env: {} });

    // Assess
    await assert.rejects(loading, (e: Error) => e.name === "TypeError" && /no config/.test(e.message) && /booting/.test(e.message));
    await assert.rejects(noHandler, /handler is not a function/);
  });

  it("rejects an invocation that runs past its timeout and kills the process", async () => {
    const code = `exports.handler = async () => { console.log("pid " + process.pid); await new Promise(() => setInterval(() => {}, 1000)); };`;
    await withLambda(
      code,
      async (lambda) => {
        // Act
        await assert.rejects(lambda.invoke({}), /timed out after 300 ms/);

        // Assess
        const pid = Number(/^pid (\d+)$/.exec(lambda.logs[0])?.[1]);
        await assert.rejects(lambda.invoke({}), /Lambda process was killed after Invocation .* timed out/);
        assert.equal(isAlive(pid), false);
      },
      300,
    );
  });

  it("rejects the pending invocation with the exit code and last output when the process dies", async () => {
    const code = `exports.handler = async () => { console.error("about to exit"); process.exit(3); };`;
    await withLambda(code, async (lambda) => {
      // Act
      const dying = lambda.invoke({});

      // Assess
      await assert.rejects(dying, (e: Error) => /exited with code 3/.test(e.message) && /about to exit/.test(e.message));
    });
  });
});
