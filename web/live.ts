/**
 * A subscriber of one AppSync Events channel over its WebSocket protocol: `connection_init`,
 * `connection_ack` with the keep-alive window, `subscribe` with the authorization, `data` per
 * event. The local server speaks the same protocol, so this code runs unchanged against both.
 *
 * It keeps itself connected: a closed socket, an error or a keep-alive that stops arriving
 * reconnects with backoff, and every (re)subscription is reported so the page refetches the
 * snapshot and catches up on what it missed while it was away.
 */
import type { LiveEvent } from "../catalog/live";
import { base64Url } from "./auth";

export type ChannelState = "connecting" | "live" | "reconnecting";

export interface ChannelOptions {
  readonly realtimeUrl: string;
  readonly httpHost: string;
  readonly channel: string;
  /** The authorization AppSync wants beside the host (a Cognito token), or nothing locally. */
  readonly token?: () => Promise<string | undefined>;
  readonly onEvent: (event: LiveEvent) => void;
  /** Called each time the subscription is (re)established: what was pushed meanwhile is lost. */
  readonly onSubscribed: () => void;
  readonly onState: (state: ChannelState, detail?: string) => void;
  /** A rejected authorization: the page should sign in again. */
  readonly onUnauthorized?: () => void;
}

const PROTOCOL = "aws-appsync-event-ws";
const MAX_BACKOFF_MS = 15_000;


const randomId = (): string => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

export class LiveChannel {
  private socket: WebSocket | undefined;
  private attempts = 0;
  private keepAlive: ReturnType<typeof setTimeout> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly o: ChannelOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.keepAlive);
    clearTimeout(this.retry);
    this.socket?.close(1000);
  }

  private async authorization(): Promise<Record<string, string>> {
    const token = await this.o.token?.();
    return { host: this.o.httpHost, ...(token === undefined ? {} : { Authorization: token }) };
  }

  private async connect(): Promise<void> {
    this.o.onState(this.attempts === 0 ? "connecting" : "reconnecting");
    let auth: Record<string, string>;
    try {
      auth = await this.authorization();
    } catch (error) {
      this.scheduleReconnect(`no token: ${String(error)}`);
      return;
    }
    if (this.stopped) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.o.realtimeUrl, [PROTOCOL, `header-${base64Url(new TextEncoder().encode(JSON.stringify(auth)))}`]);
    } catch (error) {
      this.scheduleReconnect(String(error));
      return;
    }
    this.socket = socket;
    const subscriptionId = randomId();
    socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init" }));
    socket.onmessage = (message) => {
      let m: { type?: string; id?: string; event?: unknown; connectionTimeoutMs?: number; errors?: { errorType?: string; message?: string }[] };
      try {
        m = JSON.parse(String(message.data));
      } catch {
        return;
      }
      switch (m.type) {
        case "connection_ack":
          this.watch(m.connectionTimeoutMs ?? 300_000);
          socket.send(JSON.stringify({ type: "subscribe", id: subscriptionId, channel: this.o.channel, authorization: auth }));
          break;
        case "ka":
          this.watch();
          break;
        case "subscribe_success":
          this.attempts = 0;
          this.o.onState("live");
          this.o.onSubscribed();
          break;
        case "data":
          if (m.id === subscriptionId) this.deliver(m.event);
          break;
        case "subscribe_error":
        case "connection_error":
        case "error": {
          const errors = m.errors ?? [];
          if (errors.some((e) => /unauthori[sz]ed|forbidden/i.test(`${e.errorType} ${e.message}`))) this.o.onUnauthorized?.();
          socket.close(4000, "protocol error");
          this.scheduleReconnect(errors.map((e) => e.message ?? e.errorType).join("; ") || m.type);
          break;
        }
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) this.scheduleReconnect("connection closed");
    };
  }

  private deliver(event: unknown): void {
    try {
      const parsed = (typeof event === "string" ? JSON.parse(event) : event) as LiveEvent;
      if (Array.isArray(parsed?.parts)) this.o.onEvent(parsed);
    } catch {
      // Not one of ours: the channel is the publisher's alone, so this is noise, not data.
    }
  }

  /** No keep-alive within the window the server announced: the connection is dead, whatever the socket says. */
  private windowMs = 300_000;
  private watch(windowMs?: number): void {
    if (windowMs !== undefined) this.windowMs = windowMs;
    clearTimeout(this.keepAlive);
    this.keepAlive = setTimeout(() => {
      this.socket?.close(4001, "keep-alive timeout");
      this.scheduleReconnect("keep-alive timeout");
    }, this.windowMs);
  }

  private scheduleReconnect(why: string): void {
    clearTimeout(this.keepAlive);
    clearTimeout(this.retry);
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) {
      socket.onclose = null;
      socket.onmessage = null;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
    }
    if (this.stopped) return;
    this.attempts++;
    this.o.onState("reconnecting", why);
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.attempts - 1, 5)) * (0.75 + Math.random() * 0.5);
    this.retry = setTimeout(() => void this.connect(), delay);
  }
}
