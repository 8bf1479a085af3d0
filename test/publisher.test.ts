import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { DynamoDBRecord } from "aws-lambda";
import { type LiveEvent, LIVE_CHANNEL } from "../catalog/live";
import { appsyncPublisher } from "../functions/publisher/appsync";
import { APPSYNC_EVENTS_LIMITS, type BatchPart, chunkEvents, liveParts } from "../functions/publisher/parts";
import { createPublisherHandler } from "../functions/publisher/process";
import { publisherEndpoint } from "../functions/publisher/settings";
import { memoryLogger } from "../functions/shared/log";
import { counterChange, lambdaContext, partChange } from "./factories";

const B1 = "2026-11-21T12:34:00.000Z";
const B2 = "2026-11-21T12:35:00.000Z";
const S0 = "shardId-000000000000";
const S1 = "shardId-000000000001";

const pageViews = (bucket: string, shard: string, count: number, mark?: string) => partChange({ key: "pageViews", metric: "pageViews", bucket, shard, count, mark });
const eventParts = (events: readonly string[]) => events.flatMap((e) => (JSON.parse(e) as LiveEvent).parts);

describe("publisher: counter changes → live parts", () => {
  it("keeps each part's latest image in the batch, in the order of those images, with the records they came from", () => {
    // Prepare: two shards' parts of one counter, one changed twice; a part of the next bucket between.
    const records = [pageViews(B1, S0, 3, "1001"), pageViews(B1, S1, 2, "2001"), pageViews(B2, S0, 1, "1002"), pageViews(B1, S0, 5, "1003")];
    // Act
    const parts = liveParts(records);
    // Assess
    assert.deepEqual(
      parts.map((p) => [p.part.bucket, p.part.shard, p.part.count, p.part.mark, p.index, p.first]),
      [
        [B1, S1, 2, "2001", 1, 1],
        [B2, S0, 1, "1002", 2, 2],
        [B1, S0, 5, "1003", 3, 0],
      ],
    );
  });

  it("reads key, dimensions, exact sum and mark as the table holds them; REMOVE and images that aren't parts give nothing", () => {
    const donation = partChange({ key: "donations#platform=Web", metric: "donations", dims: { platform: "Web" }, bucket: B1, shard: S1, count: 4, sum: "6600.70", mark: "49600000000000000000000000000000000000000000000000000001" });
    const zero = partChange({ key: "clicks", metric: "clicks", bucket: B1, shard: S0, count: 1, mark: "0" });
    const added = partChange({ key: "clicks", metric: "clicks", bucket: B2, shard: S0, count: 7 });
    const removed = partChange({ key: "clicks", metric: "clicks", bucket: B1, shard: S1, count: 9, mark: "5", eventName: "REMOVE" });
    const notAPart = counterChange({ metric: "pageViews", bucket: B1, count: 2 });
    const parts = liveParts([donation, zero, added, removed, notAPart]).map((p) => p.part);
    assert.deepEqual(parts, [
      { key: "donations#platform=Web", metric: "donations", dims: { platform: "Web" }, bucket: B1, shard: S1, count: 4, sum: "6600.7", mark: "49600000000000000000000000000000000000000000000000000001" },
      { key: "clicks", metric: "clicks", dims: {}, bucket: B1, shard: S0, count: 1, mark: "0" },
      { key: "clicks", metric: "clicks", dims: {}, bucket: B2, shard: S0, count: 7 },
    ]);
  });

  it("packs parts in order into events within the size limit and events into requests of at most the events limit", () => {
    // Prepare: 40 parts of about 200 bytes, events of at most 600 bytes, 3 a request.
    const batch: BatchPart[] = Array.from({ length: 40 }, (_, i) => ({ part: liveParts([pageViews(B1, `shard-${i}`, i, String(i))])[0].part, index: i, first: i }));
    // Act
    const { requests, oversized } = chunkEvents(batch, { eventBytes: 600, eventsPerPublish: 3 });
    // Assess
    assert.deepEqual(oversized, []);
    assert.ok(requests.length > 2);
    for (const r of requests) {
      assert.ok(r.events.length >= 1 && r.events.length <= 3);
      for (const e of r.events) assert.ok(Buffer.byteLength(e) <= 600, `${Buffer.byteLength(e)} bytes`);
    }
    assert.deepEqual(requests.slice(0, -1).map((r) => r.events.length), Array(requests.length - 1).fill(3), "only the last request is short");
    assert.deepEqual(eventParts(requests.flatMap((r) => r.events)), batch.map((b) => b.part));
    assert.deepEqual(requests.map((r) => r.parts).reduce((a, b) => a + b), 40);
    assert.deepEqual(requests.map((r) => r.first), requests.map((_, i) => requests.slice(0, i).reduce((n, x) => n + x.parts, 0)));
  });

  it("hands back a part too large for any event instead of publishing it, and keeps AppSync's figures as the defaults", () => {
    const huge = liveParts([partChange({ key: "x", metric: "refunds", dims: { cause: "c".repeat(300_000) }, bucket: B1, shard: S0, count: 1 })]);
    const small = liveParts([pageViews(B1, S0, 1, "1")]);
    const { requests, oversized } = chunkEvents([...huge, { ...small[0], index: 1, first: 1 }]);
    assert.equal(oversized.length, 1);
    assert.equal(oversized[0].part.key, "x");
    assert.equal(requests.length, 1);
    assert.deepEqual(APPSYNC_EVENTS_LIMITS, { eventsPerPublish: 5, eventBytes: 240_000 });
    // A thousand 2 KB parts at the real limits: full events under 240 KB, five to a request.
    const many: BatchPart[] = Array.from({ length: 1000 }, (_, i) => ({ part: liveParts([partChange({ key: `k${i}`, metric: "refunds", dims: { cause: "d".repeat(2_000) }, bucket: B1, shard: S0, count: i })])[0].part, index: i, first: i }));
    const chunked = chunkEvents(many);
    const sizes = chunked.requests.flatMap((r) => r.events.map((e) => Buffer.byteLength(e)));
    assert.ok(Math.max(...sizes) <= 240_000 && Math.max(...sizes) > 230_000, `${Math.max(...sizes)}`);
    assert.ok(chunked.requests.every((r) => r.events.length <= 5));
    assert.equal(eventParts(chunked.requests.flatMap((r) => r.events)).length, 1000);
  });

  it("takes the local server's http endpoint as it is and makes a bare host https", () => {
    assert.equal(publisherEndpoint("abc.appsync-api.eu-west-1.amazonaws.com"), "https://abc.appsync-api.eu-west-1.amazonaws.com");
    assert.equal(publisherEndpoint("http://127.0.0.1:4321"), "http://127.0.0.1:4321");
  });
});

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly url: string;
  readonly body: { channel: string; events: string[] };
}

describe("publisher against a loopback server speaking AppSync Events' HTTP API", () => {
  let server: http.Server;
  let endpoint: string;
  const received: Received[] = [];
  /** How the server answers the n-th request (0-based): status and body. */
  let answer: (n: number, body: Received["body"]) => { status: number; body: unknown };
  const ok = (_n: number, body: Received["body"]) => ({ status: 200, body: { successful: body.events.map((_, index) => ({ identifier: `id-${index}`, index })), failed: [] } });

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Received["body"];
        const n = received.length;
        received.push({ headers: req.headers, url: req.url ?? "", body });
        const reply = answer(n, body);
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
    answer = ok;
  });

  const handler = (log = memoryLogger()) =>
    createPublisherHandler({
      publish: appsyncPublisher({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } }),
      channel: LIVE_CHANNEL,
      log,
    });

  /** Records each a part of its own, about 50 KB each (long dimension values): four fit an event, so 30 make two requests. */
  const bigBatch = (): DynamoDBRecord[] =>
    Array.from({ length: 30 }, (_, i) => partChange({ key: `refunds#cause=${i}`, metric: "refunds", dims: { cause: `${i}-${"v".repeat(50_000)}` }, bucket: B1, shard: S0, count: i + 1, mark: String(1000 + i) }));

  it("POSTs the channel and the parts as JSON texts to /event, signed with SigV4 for appsync", async () => {
    // Prepare
    const records = [pageViews(B1, S0, 3, "1001"), pageViews(B1, S1, 2, "2001"), pageViews(B1, S0, 5, "1003")];
    const log = memoryLogger();
    // Act
    const result = await handler(log)({ Records: records }, lambdaContext("req-publish"), () => undefined);
    // Assess
    assert.deepEqual(result, { batchItemFailures: [] });
    assert.equal(received.length, 1);
    const [{ headers, url, body }] = received;
    assert.equal(url, "/event");
    assert.match(String(headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/appsync\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    assert.match(String(headers["x-amz-date"]), /^\d{8}T\d{6}Z$/);
    assert.equal(headers["content-type"], "application/json");
    assert.deepEqual(Object.keys(body).sort(), ["channel", "events"]);
    assert.equal(body.channel, LIVE_CHANNEL);
    assert.ok(body.events.every((e) => typeof e === "string"));
    assert.deepEqual(eventParts(body.events).map((p) => [p.shard, p.count, p.mark]), [[S1, 2, "2001"], [S0, 5, "1003"]]);
    assert.ok(log.entries.some((e) => e.message === "batch done" && e.requestId === "req-publish" && e.parts === 2));
  });

  it("on a 500 reports the first record whose part isn't published, after the requests before it went out", async () => {
    // Prepare: two requests; the second is refused.
    const records = bigBatch();
    answer = (n, body) => (n === 0 ? ok(n, body) : { status: 500, body: { message: "internal" } });
    const log = memoryLogger();
    // Act
    const result = await handler(log)({ Records: records }, lambdaContext("req-500"), () => undefined);
    // Assess
    assert.equal(received.length, 2);
    assert.equal(received[0].body.events.length, APPSYNC_EVENTS_LIMITS.eventsPerPublish);
    const publishedParts = eventParts(received[0].body.events).length;
    assert.ok(publishedParts > 0 && publishedParts < records.length);
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: records[publishedParts].dynamodb!.SequenceNumber }] });
    assert.ok(log.entries.some((e) => e.level === "ERROR" && e.message === "publish failed" && e.status === 500 && e.transient === true && e.requestId === "req-500"));
  });

  it("retries from the part's first record when a later image of it is what went unpublished", async () => {
    // Prepare: the first record's part changes again at the end of the batch, so its latest image is in the refused request.
    const records = bigBatch();
    const again = partChange({ key: "refunds#cause=0", metric: "refunds", dims: { cause: `0-${"v".repeat(50_000)}` }, bucket: B1, shard: S0, count: 99, mark: "2000" });
    answer = (n, body) => (n === 0 ? ok(n, body) : { status: 503, body: {} });
    // Act
    const result = await handler()({ Records: [...records, again] }, lambdaContext("req-again"), () => undefined);
    // Assess
    assert.equal(received.length, 2);
    assert.ok(!eventParts(received[0].body.events).some((p) => p.key === "refunds#cause=0"), "the part goes out once, as its latest image");
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: records[0].dynamodb!.SequenceNumber }] });
  });

  it("treats a failed entry in a 200 answer as a failed publish", async () => {
    const records = [pageViews(B1, S0, 3, "1001"), pageViews(B2, S0, 1, "1002")];
    answer = () => ({ status: 200, body: { successful: [], failed: [{ identifier: "id-0", index: 0, code: 400, message: "event too large" }] } });
    const log = memoryLogger();
    const result = await handler(log)({ Records: records }, lambdaContext("req-failed"), () => undefined);
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: records[0].dynamodb!.SequenceNumber }] });
    assert.ok(log.entries.some((e) => e.message === "publish failed" && /event too large/.test(String(e.error))));
  });

  it("publishes nothing for a batch of expiries, and says so without failing", async () => {
    const records = [partChange({ key: "clicks", metric: "clicks", bucket: B1, shard: S0, count: 1, mark: "1", eventName: "REMOVE" })];
    const result = await handler()({ Records: records }, lambdaContext("req-none"), () => undefined);
    assert.deepEqual(result, { batchItemFailures: [] });
    assert.equal(received.length, 0);
  });
});
