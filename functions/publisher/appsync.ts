/**
 * Publishing to AppSync Events over its HTTP API: `POST <endpoint>/event` with
 * `{ channel, events: [<JSON text>, ...] }`, signed with SigV4 for the `appsync` service (the
 * API's IAM authorization). The answer lists the `successful` and the `failed` events.
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/** Publishes the events (each a JSON text) to the channel; rejects unless every one was accepted. */
export type Publish = (channel: string, events: readonly string[]) => Promise<void>;

export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];

export interface AppSyncPublisherOptions {
  /**
   * `https://<http host>` on AWS; the local server speaks the same API on `http://127.0.0.1:<port>`
   * (it ignores the signature).
   */
  readonly endpoint: string;
  readonly region: string;
  /** Static credentials, or a provider (the default chain on Lambda), asked on each publish. */
  readonly credentials: SigningCredentials;
  /** @default the global fetch */
  readonly fetch?: typeof fetch;
  /** A publish that takes longer fails, so the batch is retried rather than the invocation timing out. @default 10000 */
  readonly timeoutMs?: number;
}

/** AppSync's answer to a publish; a failed entry carries a code and a message. */
interface PublishAnswer {
  readonly successful?: readonly { identifier?: string; index?: number }[];
  readonly failed?: readonly { identifier?: string; index?: number; code?: number | string; message?: string; errorMessage?: string }[];
}

/** A publish AppSync (or the network) refused; `transient` when a retry may succeed. */
export class PublishError extends Error {
  override readonly name = "PublishError";
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export function appsyncPublisher(o: AppSyncPublisherOptions): Publish {
  const url = new URL("/event", o.endpoint);
  const signer = new SignatureV4({ service: "appsync", region: o.region, credentials: o.credentials, sha256: Sha256 });
  const send = o.fetch ?? fetch;
  const timeoutMs = o.timeoutMs ?? 10_000;
  return async (channel, events) => {
    const body = JSON.stringify({ channel, events });
    const signed = await signer.sign({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === "" ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: {},
      headers: { "content-type": "application/json", host: url.host },
      body,
    });
    // fetch sets the host from the URL, the same value that was signed.
    const headers: Record<string, string> = { ...signed.headers };
    delete headers.host;
    let response: Response;
    try {
      response = await send(url, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new PublishError(`publishing to ${url.host} failed: ${String(error)}`, undefined, true);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new PublishError(`publishing to ${url.host} answered ${response.status}: ${text.slice(0, 300)}`, response.status, response.status >= 500 || response.status === 429);
    }
    let answer: PublishAnswer;
    try {
      answer = JSON.parse(text) as PublishAnswer;
    } catch {
      throw new PublishError(`publishing to ${url.host} answered ${response.status} with a body that isn't JSON: ${text.slice(0, 300)}`, response.status, false);
    }
    const failed = answer.failed ?? [];
    if (failed.length > 0) {
      const detail = failed.map((f) => `#${f.index ?? "?"} ${f.code ?? ""} ${f.message ?? f.errorMessage ?? ""}`.trim()).join("; ");
      throw new PublishError(`${failed.length} of ${events.length} events were not published: ${detail}`, response.status, true);
    }
  };
}
