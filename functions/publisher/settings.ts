/** The environment the live app component sets on the publisher. */
export const PUBLISHER_ENV = {
  /** The AppSync Events API's HTTP host (`<id>.appsync-api.<region>.amazonaws.com`); publishes go to `https://<host>/event`. */
  httpHost: "EVENTS_HTTP_HOST",
  /** The channel to publish to, `/<namespace>/<path>`. */
  channel: "EVENTS_CHANNEL",
} as const;

/**
 * Where publishes go: `https://<host>` for the host the component sets; a value with a scheme
 * (`http://127.0.0.1:<port>`) is taken as it is, so a bundle can publish to a loopback server.
 */
export const publisherEndpoint = (httpHost: string): string => (/^https?:\/\//.test(httpHost) ? httpHost : `https://${httpHost}`);

/**
 * How the publisher reads the counter table's stream unless told otherwise: small batches and a
 * second's window (every second of it is a second the page lags), two retries and nothing older
 * than a minute (the page refetches the snapshot on reconnect and every few minutes, so a stale
 * push is worth nothing). The deployed mapping and the local run's poller both start here.
 */
export const PUBLISHER_DEFAULTS = {
  batchSize: 100,
  batchingWindowSeconds: 1,
  maximumRetryAttempts: 2,
  maximumRecordAgeSeconds: 60,
  memoryMb: 256,
  timeoutSeconds: 30,
} as const;
