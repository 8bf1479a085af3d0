import type { Logger } from "./log";

/** The methods the AWS SDK calls on its `logger` client option. */
export interface SdkLogger {
  trace(...content: unknown[]): void;
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

const text = (item: unknown): string => {
  if (typeof item === "string") return item;
  if (item instanceof Error) return `${item.name}: ${item.message}`;
  try {
    return JSON.stringify(item) ?? String(item);
  } catch {
    return String(item);
  }
};

/**
 * The SDK's warnings and errors (a socket pool at capacity, a request past its timeout, a
 * credentials problem) as the function's own JSON log lines; its trace, debug and info chatter is
 * dropped. Without a logger the SDK writes nothing, or raw text to the console.
 */
export function sdkLogger(log: Logger): SdkLogger {
  const forward = (level: "WARN" | "ERROR") => (...content: unknown[]) => log(level, "aws-sdk", { detail: content.map(text).join(" ") });
  const drop = () => undefined;
  return { trace: drop, debug: drop, info: drop, warn: forward("WARN"), error: forward("ERROR") };
}

/** The options every client of the functions gets. */
export interface SdkClientOptions {
  /** Throttling and transient errors are retried with backoff; after that the handler reports the batch item. */
  readonly maxAttempts: number;
  /** Backoff plus a client-side rate limit once the service throttles. */
  readonly retryMode: "adaptive";
  /**
   * The middleware stack is resolved once per command class instead of once per call (about 15%
   * of an UpdateItem's client CPU). The SDK then shares one handler context between concurrent
   * calls of a command, which is safe while every call of a client goes to the same endpoint with
   * the same credentials: true for DynamoDB tables and CloudWatch named by name in one region,
   * not for S3, whose endpoint follows the bucket. A call given per-call options (an abortSignal)
   * resolves its stack afresh.
   */
  readonly cacheMiddleware: boolean;
  readonly logger: SdkLogger;
}

export const MAX_ATTEMPTS = 4;

export function sdkClientOptions(log: Logger, options: { cacheMiddleware?: boolean } = {}): SdkClientOptions {
  return { maxAttempts: MAX_ATTEMPTS, retryMode: "adaptive", cacheMiddleware: options.cacheMiddleware ?? true, logger: sdkLogger(log) };
}

/** The one middleware the functions drop, by the name the SDK registers it under. */
export const CALL_LOGGER_MIDDLEWARE = "loggerMiddleware";

/**
 * A client of the functions: the options above, without the SDK's per-call logger middleware.
 * That middleware hands every call's input and output, copied through a sensitive-data filter,
 * to `logger.info` (about 8% of an UpdateItem's client CPU), and every failed call to
 * `logger.error`; the functions log neither per call, and report failures themselves with the
 * shard and sequence number that locate them. The SDK's other warnings still reach the log.
 */
export function sdkClient<C extends { middlewareStack: { remove(toRemove: string): boolean } }, Extra extends object = object>(
  Client: new (config: SdkClientOptions & Extra) => C,
  log: Logger,
  options: { cacheMiddleware?: boolean; /** Where and as whom, for a local endpoint (the functions take the default chain). */ config?: Extra } = {},
): C {
  const client = new Client({ ...(options.config as Extra), ...sdkClientOptions(log, options) });
  client.middlewareStack.remove(CALL_LOGGER_MIDDLEWARE);
  return client;
}
