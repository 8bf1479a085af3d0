/**
 * A local HTTP server that answers the two AWS calls the functions make to services with no
 * emulator (CloudWatch PutMetricData, S3 PutObject) the way the real services do on the wire, and
 * records what arrived. Everything else gets that service's error shape with HTTP 400 and is not
 * recorded, so a call the stub does not understand can never pass by accident.
 */
import { createHash, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync, crc32 } from "node:zlib";

export interface CapturedMetricCall {
  readonly namespace: string;
  readonly metricData: {
    MetricName: string;
    Dimensions?: { Name: string; Value: string }[];
    Timestamp?: string | number;
    Value?: number;
    Unit?: string;
    [k: string]: unknown;
  }[];
}
export interface CapturedObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
  readonly contentType?: string;
}
export interface AwsStub {
  readonly endpoint: string;
  readonly metricCalls: CapturedMetricCall[];
  readonly objects: CapturedObject[];
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
// CloudWatch speaks AWS JSON 1.0 (query-compatible) since the SDK moved off the query protocol.
const CLOUDWATCH_TARGET = "GraniteServiceVersion20100801.";
const JSON_1_0 = "application/x-amz-json-1.0";

/** A request the stub refuses; the service decides how the refusal is shaped. */
class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    // CloudWatch's JSON protocol names the error shape separately from the query-style code.
    readonly jsonType = code,
  ) {
    super(message);
  }
}

type Service = "cloudwatch" | "s3";

export async function startAwsStub(): Promise<AwsStub> {
  const metricCalls: CapturedMetricCall[] = [];
  const objects: CapturedObject[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const service = serviceOf(req);
      const requestId = randomUUID();
      const reply = (status: number, headers: Record<string, string>, body: string) => {
        res.writeHead(status, { ...headers, "x-amzn-requestid": requestId, "x-amz-request-id": requestId, "content-length": Buffer.byteLength(body) });
        res.end(body);
      };
      try {
        if (service === "cloudwatch") {
          metricCalls.push(putMetricData(req, Buffer.concat(chunks)));
          reply(200, { "content-type": JSON_1_0 }, "{}");
        } else {
          const { object, bytes } = putObject(req, Buffer.concat(chunks));
          objects.push(object);
          reply(200, { etag: `"${createHash("md5").update(bytes).digest("hex")}"` }, "");
        }
      } catch (error) {
        const refusal = error instanceof Refusal ? error : new Refusal("InternalError", String(error));
        if (service === "cloudwatch") {
          const body = { __type: `com.amazonaws.cloudwatch#${refusal.jsonType}`, message: refusal.message };
          // The query-compatible SDK takes the error code from this header, as it would from the query protocol.
          reply(400, { "content-type": JSON_1_0, "x-amzn-query-error": `${refusal.code};Sender` }, JSON.stringify(body));
        } else {
          reply(400, { "content-type": "application/xml" }, s3ErrorXml(refusal, req.url ?? "/", requestId));
        }
      }
    });
  });
  return { ...(await listenOnLoopback(server)), metricCalls, objects };
}

/** Listens on 127.0.0.1 on a free port; `stop` closes the server and the connections the SDK keeps alive. */
async function listenOnLoopback(server: http.Server): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${HOST}:${port}`,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() alone would wait for them to idle out.
        server.closeAllConnections();
      })),
  };
}

/** The service the SDK signed the request for (SigV4 credential scope), else a guess from its shape. */
function serviceOf(req: http.IncomingMessage): Service {
  const scope = /Credential=[^/]*\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? "")?.[1];
  if (scope === "monitoring") return "cloudwatch";
  if (scope === "s3") return "s3";
  return req.headers["x-amz-target"] !== undefined || req.method === "POST" ? "cloudwatch" : "s3";
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function putMetricData(req: http.IncomingMessage, raw: Buffer): CapturedMetricCall {
  const target = header(req, "x-amz-target") ?? "";
  if (req.method !== "POST" || target !== `${CLOUDWATCH_TARGET}PutMetricData`) {
    throw new Refusal("InvalidAction", `the stub answers only POST ${CLOUDWATCH_TARGET}PutMetricData, not ${req.method} ${target || req.url}`, "UnknownOperationException");
  }
  if (header(req, "content-type") !== JSON_1_0) throw new Refusal("InvalidParameterValue", `content type must be ${JSON_1_0}`, "InvalidParameterValueException");
  checkSigned(req, "monitoring", raw);
  let body: unknown;
  try {
    // The SDK gzips PutMetricData bodies of 10 KiB and more (the operation's requestCompression trait).
    const encoding = header(req, "content-encoding");
    if (encoding !== undefined && encoding !== "gzip") throw new Error(`unsupported content encoding ${encoding}`);
    body = JSON.parse((encoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8"));
  } catch (error) {
    throw new Refusal("SerializationException", `unreadable body: ${(error as Error).message}`);
  }
  const { Namespace: namespace, MetricData: metricData } = (body ?? {}) as Record<string, unknown>;
  if (typeof namespace !== "string" || namespace === "") throw new Refusal("MissingParameter", "Namespace is required", "MissingRequiredParameterException");
  if (!Array.isArray(metricData) || metricData.length === 0) throw new Refusal("MissingParameter", "MetricData is required", "MissingRequiredParameterException");
  for (const datum of metricData as unknown[]) {
    const d = datum as Record<string, unknown> | null;
    if (typeof d !== "object" || d === null || typeof d.MetricName !== "string") {
      throw new Refusal("InvalidParameterValue", `every datum needs a MetricName: ${JSON.stringify(datum)}`, "InvalidParameterValueException");
    }
  }
  return { namespace, metricData: metricData as CapturedMetricCall["metricData"] };
}

function putObject(req: http.IncomingMessage, raw: Buffer): { object: CapturedObject; bytes: Buffer } {
  // Split by hand: WHATWG URL parsing would resolve "." and ".." segments, which are legal in keys.
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1));
  const slash = path.indexOf("/", 1);
  const isPutObject =
    req.method === "PUT" &&
    slash > 1 &&
    slash < path.length - 1 &&
    [...query.keys()].every((k) => k === "x-id") &&
    (query.get("x-id") ?? "PutObject") === "PutObject" &&
    header(req, "x-amz-copy-source") === undefined;
  if (!isPutObject) throw new Refusal("NotImplemented", `the stub answers only path-style PUT /<bucket>/<key> (PutObject), not ${req.method} ${url}`);
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(path.slice(1, slash));
    key = decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw new Refusal("InvalidURI", `cannot decode ${path}`);
  }
  checkSigned(req, "s3", raw);
  const bytes = objectBytes(req, raw);
  const contentType = header(req, "content-type");
  return { object: { bucket, key, body: bytes.toString("utf8"), ...(contentType === undefined ? {} : { contentType }) }, bytes };
}

/** The object as stored: a streamed body arrives aws-chunked, with its checksum in a trailer. */
function objectBytes(req: http.IncomingMessage, raw: Buffer): Buffer {
  const encodings = (header(req, "content-encoding") ?? "").split(",").map((e) => e.trim());
  if (!encodings.includes("aws-chunked")) {
    verifyChecksums(req, raw, {});
    return raw;
  }
  const { bytes, trailers } = decodeAwsChunked(raw);
  const declared = header(req, "x-amz-decoded-content-length");
  if (declared !== undefined && Number(declared) !== bytes.length) {
    throw new Refusal("IncompleteBody", `x-amz-decoded-content-length says ${declared} bytes, the chunks hold ${bytes.length}`);
  }
  verifyChecksums(req, bytes, trailers);
  return bytes;
}

function decodeAwsChunked(raw: Buffer): { bytes: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  let at = 0;
  const line = (): string => {
    const end = raw.indexOf("\r\n", at);
    if (end < 0) throw new Refusal("IncompleteBody", "truncated aws-chunked body");
    const text = raw.subarray(at, end).toString("latin1");
    at = end + 2;
    return text;
  };
  for (;;) {
    // A chunk header is "<hex size>[;chunk-signature=...]".
    const hex = line().split(";")[0];
    const size = /^[0-9a-f]{1,8}$/i.test(hex) ? Number.parseInt(hex, 16) : Number.NaN;
    if (!(size <= raw.length - at)) throw new Refusal("IncompleteBody", `bad aws-chunked chunk size ${JSON.stringify(hex)}`);
    if (size === 0) break;
    parts.push(raw.subarray(at, at + size));
    at += size;
    if (line() !== "") throw new Refusal("IncompleteBody", "aws-chunked chunk longer than its size");
  }
  const trailers: Record<string, string> = {};
  for (let text = line(); text !== ""; text = line()) {
    const colon = text.indexOf(":");
    if (colon < 0) throw new Refusal("IncompleteBody", `bad aws-chunked trailer ${text}`);
    trailers[text.slice(0, colon).trim().toLowerCase()] = text.slice(colon + 1).trim();
  }
  return { bytes: Buffer.concat(parts), trailers };
}

/** Checks the flexible checksums the SDK sends so a decoding slip in the stub shows up as a refusal. */
function verifyChecksums(req: http.IncomingMessage, bytes: Buffer, trailers: Record<string, string>): void {
  const digests: Record<string, () => string> = {
    crc32: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(bytes));
      return out.toString("base64");
    },
    sha1: () => createHash("sha1").update(bytes).digest("base64"),
    sha256: () => createHash("sha256").update(bytes).digest("base64"),
  };
  // CRC32C and CRC64NVME have no Node built-in; those objects are accepted unverified.
  for (const [algorithm, digest] of Object.entries(digests)) {
    const name = `x-amz-checksum-${algorithm}`;
    const sent = header(req, name) ?? trailers[name];
    if (sent !== undefined && sent !== digest()) throw new Refusal("BadDigest", `${name} ${sent} does not match the body received`);
  }
}

/** Requires a SigV4 signature scoped to the service, and checks the signed payload hash when there is one. */
function checkSigned(req: http.IncomingMessage, service: string, raw: Buffer): void {
  const authorization = header(req, "authorization") ?? "";
  if (!authorization.startsWith("AWS4-HMAC-SHA256 ") || !authorization.includes(`/${service}/aws4_request`)) {
    throw new Refusal("AccessDenied", `expected a SigV4 signature for ${service}`);
  }
  const payloadHash = header(req, "x-amz-content-sha256");
  if (payloadHash !== undefined && /^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== createHash("sha256").update(raw).digest("hex")) {
    throw new Refusal("XAmzContentSHA256Mismatch", "x-amz-content-sha256 does not match the body received");
  }
}

function s3ErrorXml(refusal: Refusal, resource: string, requestId: string): string {
  const escape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escape(refusal.code)}</Code><Message>${escape(refusal.message)}</Message>` +
    `<Resource>${escape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}

/** One statement the Athena stub was asked to run, as it arrived. */
export interface AthenaStartedQuery {
  readonly id: string;
  readonly sql: string;
  /** The execution parameters as sent: SQL literals. */
  readonly executionParameters: readonly string[];
  readonly database: string;
  readonly workgroup: string;
}

export interface AthenaStubOptions {
  /** Runs a statement with its parameters (the literals' string values) and returns its rows as text. */
  execute(sql: string, parameters: readonly string[]): Promise<{ columns: string[]; types: string[]; rows: (string | null)[][] }>;
  /** What a query reads, as Athena would report it in DataScannedInBytes. */
  bytesScanned(sql: string, parameters: readonly string[]): number;
  /** The workgroup's BytesScannedCutoffPerQuery: a query reading more ends FAILED with the reason. */
  scanCapBytes?: number;
  /** Rows per GetQueryResults page, at most (the header row included on the first). @default 1000 */
  pageSize?: number;
}

export interface AthenaStub {
  readonly endpoint: string;
  readonly started: AthenaStartedQuery[];
  /** Every operation called, in order (X-Amz-Target without the service prefix). */
  readonly calls: string[];
  stop(): Promise<void>;
}

const ATHENA_TARGET = "AmazonAthena.";
const JSON_1_1 = "application/x-amz-json-1.1";

/** A string execution parameter, as Athena takes it: a quoted SQL literal. */
function unquoteLiteral(literal: string): string {
  const m = /^'((?:[^']|'')*)'$/.exec(literal);
  if (m === null) throw new Refusal("InvalidRequestException", `execution parameter ${literal} is not a quoted string literal`);
  return m[1].replace(/''/g, "'");
}

/** Athena's names for the result types the archive's queries return. */
const athenaType = (duckType: string) => (/^DECIMAL/i.test(duckType) ? "decimal" : /INT/i.test(duckType) ? "bigint" : /DOUBLE|FLOAT|REAL/i.test(duckType) ? "double" : "varchar");

/**
 * A local Athena on Athena's wire protocol (AWS JSON 1.1, `X-Amz-Target: AmazonAthena.<op>`):
 * StartQueryExecution, GetQueryExecution and GetQueryResults, the query answered by `execute`
 * (DuckDB over an archive, in the tests). A query is RUNNING at its first poll, so clients must
 * poll; results come in pages of `pageSize` rows with a NextToken, the header row first.
 */
export async function startAthenaStub(options: AthenaStubOptions): Promise<AthenaStub> {
  const started: AthenaStartedQuery[] = [];
  const calls: string[] = [];
  const executions = new Map<string, { polls: number; outcome: Promise<{ state: "SUCCEEDED" | "FAILED"; reason?: string; bytes: number; result?: Awaited<ReturnType<AthenaStubOptions["execute"]>> }> }>();
  const pageSize = options.pageSize ?? 1000;

  const answer = async (operation: string, body: Record<string, unknown>): Promise<unknown> => {
    if (operation === "StartQueryExecution") {
      const sql = body.QueryString;
      const parameters = (body.ExecutionParameters ?? []) as unknown[];
      const database = (body.QueryExecutionContext as { Database?: unknown } | undefined)?.Database;
      if (typeof sql !== "string" || sql === "") throw new Refusal("InvalidRequestException", "QueryString is required");
      if (typeof database !== "string" || typeof body.WorkGroup !== "string") throw new Refusal("InvalidRequestException", "the stub needs QueryExecutionContext.Database and WorkGroup");
      if (!parameters.every((p): p is string => typeof p === "string")) throw new Refusal("InvalidRequestException", "ExecutionParameters must be strings");
      // The archive's SQL has `?` only as parameters (none in its comments or literals).
      const marks = (sql.match(/\?/g) ?? []).length;
      if (marks !== parameters.length) throw new Refusal("InvalidRequestException", `the query has ${marks} parameters, ${parameters.length} execution parameters were given`);
      const values = parameters.map(unquoteLiteral);
      const id = randomUUID();
      started.push({ id, sql, executionParameters: parameters, database, workgroup: body.WorkGroup });
      const bytes = options.bytesScanned(sql, values);
      const over = options.scanCapBytes !== undefined && bytes > options.scanCapBytes;
      const outcome = over
        ? Promise.resolve({ state: "FAILED" as const, reason: `Query exhausted the workgroup's per-query data limit (BytesScannedCutoffPerQuery ${options.scanCapBytes} bytes)`, bytes })
        : options.execute(sql, values).then(
            (result) => ({ state: "SUCCEEDED" as const, bytes, result }),
            (error: unknown) => ({ state: "FAILED" as const, reason: String((error as Error)?.message ?? error), bytes: 0 }),
          );
      executions.set(id, { polls: 0, outcome });
      return { QueryExecutionId: id };
    }
    const id = body.QueryExecutionId;
    const execution = typeof id === "string" ? executions.get(id) : undefined;
    if (execution === undefined) throw new Refusal("InvalidRequestException", `QueryExecution ${String(id)} was not found`);
    const outcome = await execution.outcome;
    if (operation === "GetQueryExecution") {
      execution.polls += 1;
      const state = execution.polls === 1 ? "RUNNING" : outcome.state;
      return {
        QueryExecution: {
          QueryExecutionId: id,
          Status: {
            State: state,
            ...(state === "FAILED" ? { StateChangeReason: outcome.reason, AthenaError: { ErrorCategory: 2, ErrorType: 1000, Retryable: false, ErrorMessage: outcome.reason } } : {}),
            SubmissionDateTime: Date.now() / 1000,
          },
          Statistics: { DataScannedInBytes: state === "RUNNING" ? 0 : outcome.bytes },
        },
      };
    }
    if (operation === "GetQueryResults") {
      if (execution.polls < 2 || outcome.result === undefined) throw new Refusal("InvalidRequestException", `Query has not yet finished. Current state: ${execution.polls < 2 ? "RUNNING" : outcome.state}`);
      const { columns, types, rows } = outcome.result;
      const all = [columns, ...rows];
      const max = Math.min(pageSize, typeof body.MaxResults === "number" ? body.MaxResults : 1000);
      const from = typeof body.NextToken === "string" ? Number(body.NextToken) : 0;
      const page = all.slice(from, from + max);
      return {
        ResultSet: {
          Rows: page.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
          ResultSetMetadata: { ColumnInfo: columns.map((Name, i) => ({ CatalogName: "hive", SchemaName: "", TableName: "", Name, Label: Name, Type: athenaType(types[i]), Nullable: "UNKNOWN", CaseSensitive: true })) },
        },
        UpdateCount: 0,
        ...(from + max < all.length ? { NextToken: String(from + max) } : {}),
      };
    }
    throw new Refusal("InvalidRequestException", `the stub answers StartQueryExecution, GetQueryExecution and GetQueryResults, not ${operation}`);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const reply = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { "content-type": JSON_1_1, "x-amzn-requestid": randomUUID(), "content-length": Buffer.byteLength(text) });
        res.end(text);
      };
      (async () => {
        const target = header(req, "x-amz-target") ?? "";
        if (req.method !== "POST" || !target.startsWith(ATHENA_TARGET)) throw new Refusal("UnknownOperationException", `expected POST with X-Amz-Target ${ATHENA_TARGET}<operation>, not ${req.method} ${target}`);
        if (header(req, "content-type") !== JSON_1_1) throw new Refusal("SerializationException", `content type must be ${JSON_1_1}`);
        checkSigned(req, "athena", raw);
        const operation = target.slice(ATHENA_TARGET.length);
        calls.push(operation);
        return answer(operation, JSON.parse(raw.toString("utf8") || "{}") as Record<string, unknown>);
      })().then(
        (body) => reply(200, body),
        (error: unknown) => {
          const refusal = error instanceof Refusal ? error : new Refusal("InternalServerException", String(error));
          reply(refusal instanceof Refusal && refusal.code !== "InternalServerException" ? 400 : 500, { __type: refusal.code, Message: refusal.message });
        },
      );
    });
  });
  return { ...(await listenOnLoopback(server)), started, calls };
}
