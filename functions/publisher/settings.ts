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
