/** The environment the live app component sets on the publisher. */
export const PUBLISHER_ENV = {
  /** The AppSync Events API's HTTP host (`<id>.appsync-api.<region>.amazonaws.com`); publishes go to `https://<host>/event`. */
  httpHost: "EVENTS_HTTP_HOST",
  /** The channel to publish to, `/<namespace>/<path>`. */
  channel: "EVENTS_CHANNEL",
} as const;
