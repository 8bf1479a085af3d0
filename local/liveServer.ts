/**
 * The live app on this machine, on 127.0.0.1 only: the same page files the site bucket holds,
 * the snapshot answered by the real snapshot function (invoked as API Gateway invokes it), and
 * AppSync Events answered at its protocol boundary: `POST /event` takes the publisher's
 * publishes as AppSync's HTTP API does, and `/event/realtime` speaks its WebSocket protocol to
 * the page (connection_init / connection_ack, keep-alives, subscribe, data). The page runs
 * unchanged; there is no sign-in: it listens on loopback only, answers only requests addressed
 * to 127.0.0.1 or localhost, and takes WebSockets and publishes only from its own page's origin
 * or from programs (no Origin), never from another site's page open in a browser.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { WebSocket, WebSocketServer } from "ws";
import { LIVE_CHANNEL, type LiveConfig, SNAPSHOT_PATH } from "../catalog/live";
import { APPSYNC_EVENTS_LIMITS } from "../functions/publisher/parts";
import { securityHeaders } from "../web/headers";
import type { SiteFile } from "../web/build";
import { lambdaContext } from "./aws";

/** The snapshot function's handler, as API Gateway calls it. */
export type SnapshotFunction = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context, callback: () => void) => Promise<APIGatewayProxyResultV2 | void> | void;

export interface LiveServerOptions {
  readonly files: readonly SiteFile[];
  readonly snapshot: SnapshotFunction;
  /** @default 0, any free port */
  readonly port?: number;
  /** When `port` is taken, take any free port instead of failing. @default false */
  readonly anyPortIfTaken?: boolean;
  /** How often subscribers get a keep-alive, and the window announced to them. @default 60 s and 5 min */
  readonly keepAliveMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Requests and connections, for the run's log. */
  readonly say?: (line: string) => void;
}

export interface LiveServer {
  /** The page's address, `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Where a publisher posts, as it would to `https://<AppSync HTTP host>`. */
  readonly publishEndpoint: string;
  readonly config: LiveConfig;
  /** Subscriptions open now. */
  subscribers(): number;
  /** Events delivered to subscribers so far. */
  delivered(): number;
  close(): Promise<void>;
}

/** AppSync Events' publish limits, enforced here as AppSync enforces them (its KB read as 1,000 bytes, the strict reading). */
const { eventsPerPublish: MAX_EVENTS_PER_PUBLISH, eventBytes: MAX_EVENT_BYTES } = APPSYNC_EVENTS_LIMITS;
/** A whole publish request: five events at their limit, JSON-escaped, with room to spare. */
const MAX_PUBLISH_BYTES = 4 * MAX_EVENTS_PER_PUBLISH * MAX_EVENT_BYTES;

interface Subscription {
  readonly socket: WebSocket;
  readonly id: string;
  readonly channel: string;
}

/** Whether a subscription's channel pattern (`/live/*`, `/live/counters`) covers a channel. */
function covers(pattern: string, channel: string): boolean {
  const p = pattern.split("/");
  const c = channel.split("/");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "*") return i === p.length - 1;
    if (p[i] !== c[i]) return false;
  }
  return p.length === c.length;
}

export async function startLiveServer(o: LiveServerOptions): Promise<LiveServer> {
  const files = new Map(o.files.map((f) => [`/${f.path}`, f]));
  const subscriptions = new Set<Subscription>();
  let delivered = 0;
  let port = 0;
  let headers: Record<string, string> = {};
  // Known once the port is: what the page loads as config.json.
  const served: { config?: LiveConfig } = {};
  const keepAliveMs = o.keepAliveMs ?? 60_000;
  const connectionTimeoutMs = o.connectionTimeoutMs ?? 300_000;

  // A page on another origin can't drive this server through a DNS name that resolves to loopback.
  const loopbackHost = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  // Nor can a page of another site open the push channel or publish from the browser: WebSockets
  // and simple POSTs ignore the same-origin policy, so the Origin a browser sends is checked. A
  // request without one comes from a program on this machine (the publisher), not a web page.
  const ownOrigin = (origin: string | undefined) => origin === undefined || (origin.startsWith("http://") && loopbackHost(origin.slice("http://".length)));

  const send = (res: http.ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body), ...extra });
    res.end(body);
  };
  const json = (res: http.ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value), "application/json; charset=utf-8", { "cache-control": "no-store" });

  const snapshot = async (req: http.IncomingMessage, url: URL, res: http.ServerResponse) => {
    const now = new Date();
    const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
      version: "2.0",
      routeKey: `GET ${SNAPSHOT_PATH}`,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v ?? "")])),
      queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
      isBase64Encoded: false,
      requestContext: {
        accountId: "000000000000",
        apiId: "local",
        // Loopback stands in for the route's JWT authorizer: only this machine can call it.
        authorizer: { principalId: "", integrationLatency: 0, jwt: { claims: { sub: "loopback" }, scopes: [] } },
        domainName: `127.0.0.1:${port}`,
        domainPrefix: "127",
        http: { method: req.method ?? "GET", path: url.pathname, protocol: "HTTP/1.1", sourceIp: req.socket.remoteAddress ?? "127.0.0.1", userAgent: req.headers["user-agent"] ?? "" },
        requestId: randomUUID(),
        routeKey: `GET ${SNAPSHOT_PATH}`,
        stage: "$default",
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
    };
    const result = await o.snapshot(event, lambdaContext({ functionName: "snapshot" }), () => undefined);
    if (result === undefined || typeof result === "string") {
      send(res, 200, result ?? "", "application/json; charset=utf-8");
      return;
    }
    const body = result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : (result.body ?? "");
    const resultHeaders = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    send(res, result.statusCode ?? 200, body, resultHeaders["content-type"] ?? "application/json; charset=utf-8", resultHeaders);
  };

  const publish = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!ownOrigin(req.headers.origin) || !/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      json(res, 403, { errors: [{ errorType: "UnauthorizedException", message: "publish with content-type application/json, from this machine, not from a web page" }] });
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of req) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_PUBLISH_BYTES) {
        json(res, 413, { errors: [{ errorType: "BadRequestException", message: `a publish is at most ${MAX_PUBLISH_BYTES} bytes` }] });
        req.destroy();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    let body: { channel?: unknown; events?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      json(res, 400, { errors: [{ errorType: "BadRequestException", message: "the body is not JSON" }] });
      return;
    }
    const { channel, events } = body;
    if (typeof channel !== "string" || !channel.startsWith("/") || !Array.isArray(events) || events.length === 0 || events.some((e) => typeof e !== "string")) {
      json(res, 400, { errors: [{ errorType: "BadRequestException", message: "expected { channel: \"/namespace/path\", events: [\"<json>\", ...] }" }] });
      return;
    }
    if (events.length > MAX_EVENTS_PER_PUBLISH) {
      json(res, 400, { errors: [{ errorType: "BadRequestException", message: `at most ${MAX_EVENTS_PER_PUBLISH} events per publish, got ${events.length}` }] });
      return;
    }
    const successful: { identifier: string; index: number }[] = [];
    const failed: { identifier: string; index: number; code: number; message: string }[] = [];
    (events as string[]).forEach((event, index) => {
      const identifier = randomUUID();
      if (Buffer.byteLength(event) > MAX_EVENT_BYTES) {
        failed.push({ identifier, index, code: 400, message: `event over ${MAX_EVENT_BYTES} bytes` });
        return;
      }
      for (const s of subscriptions) {
        if (!covers(s.channel, channel) || s.socket.readyState !== WebSocket.OPEN) continue;
        s.socket.send(JSON.stringify({ type: "data", id: s.id, event }));
        delivered++;
      }
      successful.push({ identifier, index });
    });
    json(res, 200, { successful, failed });
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (!loopbackHost(req.headers.host)) {
      send(res, 421, "this server answers only requests addressed to 127.0.0.1 or localhost\n", "text/plain; charset=utf-8");
      return;
    }
    const handle = async () => {
      if (req.method === "POST" && url.pathname === "/event") return publish(req, res);
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: `${req.method} is not allowed here` });
      if (url.pathname === SNAPSHOT_PATH) return snapshot(req, url, res);
      if (url.pathname === "/config.json") return json(res, 200, served.config);
      const file = files.get(url.pathname === "/" ? "/index.html" : url.pathname);
      if (file === undefined) return send(res, 404, "not found\n", "text/plain; charset=utf-8");
      send(res, 200, file.content, file.contentType, { "cache-control": file.cacheControl });
    };
    handle().catch((error: unknown) => {
      o.say?.(`live app: ${req.method} ${url.pathname} failed: ${(error as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: "the local server failed; see the run's log" });
      else res.destroy();
    });
  });

  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has("aws-appsync-event-ws") ? "aws-appsync-event-ws" : false),
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/event/realtime" || !loopbackHost(req.headers.host) || !ownOrigin(req.headers.origin)) {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit("connection", ws, req));
  });
  sockets.on("connection", (ws: WebSocket) => {
    let ka: NodeJS.Timeout | undefined;
    const own = new Map<string, Subscription>();
    const reply = (m: unknown) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
    ws.on("message", (raw) => {
      let m: { type?: string; id?: string; channel?: string };
      try {
        m = JSON.parse(String(raw));
      } catch {
        reply({ type: "error", errors: [{ errorType: "BadRequestException", message: "not JSON" }] });
        return;
      }
      switch (m.type) {
        case "connection_init":
          reply({ type: "connection_ack", connectionTimeoutMs });
          ka ??= setInterval(() => reply({ type: "ka" }), keepAliveMs);
          return;
        case "subscribe": {
          if (typeof m.id !== "string" || typeof m.channel !== "string" || !m.channel.startsWith("/")) {
            reply({ type: "subscribe_error", id: m.id, errors: [{ errorType: "BadRequestException", message: "subscribe needs an id and a channel" }] });
            return;
          }
          const s = { socket: ws, id: m.id, channel: m.channel };
          own.set(m.id, s);
          subscriptions.add(s);
          reply({ type: "subscribe_success", id: m.id });
          return;
        }
        case "unsubscribe": {
          const s = typeof m.id === "string" ? own.get(m.id) : undefined;
          if (s !== undefined) {
            subscriptions.delete(s);
            own.delete(s.id);
          }
          reply({ type: "unsubscribe_success", id: m.id });
          return;
        }
        default:
          reply({ type: "error", errors: [{ errorType: "UnsupportedOperation", message: `unknown message type ${String(m.type)}` }] });
      }
    });
    ws.on("close", () => {
      clearInterval(ka);
      for (const s of own.values()) subscriptions.delete(s);
    });
    ws.on("error", () => ws.terminate());
  });

  const listen = (at: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  try {
    await listen(o.port ?? 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || !o.anyPortIfTaken) throw error;
    o.say?.(`live app: port ${o.port} is taken, serving on another`);
    await listen(0);
  }
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const config: LiveConfig = { snapshotUrl: SNAPSHOT_PATH.slice(1), events: { realtimeUrl: `ws://127.0.0.1:${port}/event/realtime`, httpHost: `127.0.0.1:${port}`, channel: LIVE_CHANNEL } };
  served.config = config;
  // The deployed policy, with the local push channel's origins in place of AppSync's.
  headers = securityHeaders({ connect: [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`] });
  delete headers["strict-transport-security"];

  return {
    url: `${origin}/`,
    publishEndpoint: origin,
    config,
    subscribers: () => subscriptions.size,
    delivered: () => delivered,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
