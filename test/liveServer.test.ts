/**
 * The local live app server at its protocol boundary: loopback only, the deployed security
 * headers, the snapshot invoked as API Gateway invokes it, AppSync Events' publish limits, and its
 * WebSocket protocol as the page (and AppSync) speak it.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import { WebSocket } from "ws";
import { LIVE_CHANNEL, SNAPSHOT_PATH } from "../catalog/live";
import { APPSYNC_EVENTS_LIMITS } from "../functions/publisher/parts";
import { type LiveServer, type SnapshotFunction, startLiveServer } from "../local/liveServer";

const PAGE = "<!doctype html>\n<html><head><title>t</title></head><body></body></html>\n";

/** A request with a Host of our choosing (fetch won't let us set it). */
function request(url: string, o: { method?: string; host?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: o.method ?? "GET", headers: { ...(o.host === undefined ? {} : { host: o.host }), ...(o.body === undefined ? {} : { "content-type": "application/json" }), ...o.headers } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

/** A subscriber speaking AppSync Events' WebSocket protocol, collecting what it is sent. */
async function subscriber(url: string, channel: string): Promise<{ socket: WebSocket; messages: { type: string; id?: string; event?: string; connectionTimeoutMs?: number }[]; next: (type: string) => Promise<void> }> {
  const header = Buffer.from(JSON.stringify({ host: new URL(url).host })).toString("base64url");
  const socket = new WebSocket(url, ["aws-appsync-event-ws", `header-${header}`]);
  const messages: { type: string; id?: string; event?: string }[] = [];
  const waiters: { type: string; resolve: () => void }[] = [];
  socket.on("message", (raw) => {
    const m = JSON.parse(String(raw)) as { type: string };
    messages.push(m);
    // Each message settles one waiter, the oldest for its type.
    const w = waiters.find((w) => w.type === m.type);
    if (w !== undefined) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const next = (type: string) => new Promise<void>((resolve) => waiters.push({ type, resolve }));
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  assert.equal(socket.protocol, "aws-appsync-event-ws");
  const acked = next("connection_ack");
  socket.send(JSON.stringify({ type: "connection_init" }));
  await acked;
  const subscribed = next("subscribe_success");
  socket.send(JSON.stringify({ type: "subscribe", id: "sub-1", channel, authorization: { host: new URL(url).host } }));
  await subscribed;
  return { socket, messages, next };
}

describe("the local live app server", () => {
  let server: LiveServer;
  const invocations: { path: string; query: Record<string, string | undefined> | undefined; claims: unknown }[] = [];
  const snapshot: SnapshotFunction = async (event) => {
    invocations.push({ path: event.rawPath, query: event.queryStringParameters, claims: event.requestContext.authorizer.jwt.claims });
    return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ parts: [], range: event.queryStringParameters?.range }) };
  };

  before(async () => {
    server = await startLiveServer({ files: [{ path: "index.html", contentType: "text/html; charset=utf-8", cacheControl: "no-cache", content: PAGE }], snapshot, keepAliveMs: 50 });
  });
  after(async () => server.close());

  it("listens on 127.0.0.1 and serves the page with the deployed security headers, HSTS aside", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await request(server.url);
    assert.equal(r.status, 200);
    assert.equal(r.body, PAGE);
    assert.match(String(r.headers["content-security-policy"]), /default-src 'none'; script-src 'self'; .*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+/);
    assert.equal(r.headers["x-frame-options"], "DENY");
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["strict-transport-security"], undefined);
    assert.equal((await request(`${server.url}nope.js`)).status, 404);
  });

  it("refuses requests and WebSockets addressed to any other host name (DNS rebinding)", async () => {
    assert.equal((await request(server.url, { host: "attacker.example" })).status, 421);
    assert.equal((await request(`${server.url}api/snapshot`, { host: "attacker.example" })).status, 421);
    assert.equal((await request(server.url, { host: `localhost:${new URL(server.url).port}` })).status, 200);
    const refused = new WebSocket(server.config.events.realtimeUrl, ["aws-appsync-event-ws"], { headers: { host: "attacker.example" } });
    await assert.rejects(new Promise((resolve, reject) => refused.once("open", resolve).once("error", reject)));
  });

  it("refuses the push channel and publishes to another site's page open in a browser", async () => {
    const foreign = new WebSocket(server.config.events.realtimeUrl, ["aws-appsync-event-ws"], { origin: "https://attacker.example" });
    await assert.rejects(new Promise((resolve, reject) => foreign.once("open", resolve).once("error", reject)));
    const own = new WebSocket(server.config.events.realtimeUrl, ["aws-appsync-event-ws"], { origin: new URL(server.url).origin });
    await new Promise((resolve, reject) => own.once("open", resolve).once("error", reject));
    own.close();
    const body = JSON.stringify({ channel: LIVE_CHANNEL, events: ["{}"] });
    const publish = (headers: Record<string, string>) => request(`${server.publishEndpoint}/event`, { method: "POST", body, headers });
    assert.equal((await publish({ origin: "https://attacker.example" })).status, 403);
    // A form or a no-cors fetch can't send JSON's content type without a preflight; text/plain is refused.
    assert.equal((await publish({ "content-type": "text/plain" })).status, 403);
    assert.equal(server.delivered(), 0);
  });

  it("gives the page its config and invokes the snapshot function as API Gateway does", async () => {
    const config = JSON.parse((await request(`${server.url}config.json`)).body);
    // No auth: no sign-in on loopback.
    assert.deepEqual(config, { snapshotUrl: SNAPSHOT_PATH.slice(1), events: { realtimeUrl: server.config.events.realtimeUrl, httpHost: new URL(server.url).host, channel: LIVE_CHANNEL } });
    const r = await request(`${server.url}api/snapshot?range=6h`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { parts: [], range: "6h" });
    assert.deepEqual(invocations.at(-1), { path: SNAPSHOT_PATH, query: { range: "6h" }, claims: { sub: "loopback" } });
    assert.equal((await request(`${server.url}api/snapshot`, { method: "DELETE" })).status, 405);
  });

  it("pushes what is published to the channel's subscribers, with AppSync Events' limits", async () => {
    const page = await subscriber(server.config.events.realtimeUrl, "/live/*");
    const other = await subscriber(server.config.events.realtimeUrl, "/elsewhere/counters");
    assert.equal(server.subscribers(), 2);
    const ack = page.messages.find((m) => m.type === "connection_ack");
    assert.ok((ack?.connectionTimeoutMs ?? 0) > 0, "the ack announces the keep-alive window");
    await page.next("ka");

    const events = ['{"parts":[1]}', '{"parts":[2]}'];
    const data = Promise.all([page.next("data"), page.next("data")]);
    const published = await request(`${server.publishEndpoint}/event`, { method: "POST", body: JSON.stringify({ channel: LIVE_CHANNEL, events }) });
    assert.equal(published.status, 200);
    const result = JSON.parse(published.body) as { successful: { index: number }[]; failed: unknown[] };
    assert.deepEqual(result.successful.map((s) => s.index), [0, 1]);
    assert.deepEqual(result.failed, []);
    await data;
    assert.deepEqual(page.messages.filter((m) => m.type === "data").map((m) => [m.id, m.event]), events.map((e) => ["sub-1", e]));
    assert.equal(other.messages.filter((m) => m.type === "data").length, 0, "not to another channel's subscribers");

    const tooMany = await request(`${server.publishEndpoint}/event`, { method: "POST", body: JSON.stringify({ channel: LIVE_CHANNEL, events: Array.from({ length: APPSYNC_EVENTS_LIMITS.eventsPerPublish + 1 }, () => "{}") }) });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body, /at most 5 events per publish/);
    const big = `"${"x".repeat(APPSYNC_EVENTS_LIMITS.eventBytes)}"`;
    const oversized = JSON.parse((await request(`${server.publishEndpoint}/event`, { method: "POST", body: JSON.stringify({ channel: LIVE_CHANNEL, events: ["{}", big] }) })).body) as { successful: { index: number }[]; failed: { index: number }[] };
    assert.deepEqual([oversized.successful.map((s) => s.index), oversized.failed.map((f) => f.index)], [[0], [1]], "an event over the limit fails alone");
    assert.equal((await request(`${server.publishEndpoint}/event`, { method: "POST", body: "{not json" })).status, 400);
    assert.equal(server.delivered(), 3);

    page.socket.close();
    other.socket.close();
    for (let waited = 0; server.subscribers() > 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.subscribers(), 0, "a closed socket's subscriptions are gone");
  });
});
