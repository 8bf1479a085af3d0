/**
 * The pipeline's state table: small items the functions keep beside the counters, in a table
 * of their own so that writing them never feeds the counter table's stream.
 *
 * - `values#<metric>.<field>`: a capped dimension's kept values (a string set). Never expires:
 *   a value once kept is kept for good, so a redelivered record is counted under the same value.
 * - `forwarded#<event id>`: how far the forwarder got in a batch that starts at that stream
 *   record, so a redelivered batch skips what CloudWatch already has.
 * - `unapplied#<shard>`: the counter updates a failed analyzer batch left unapplied; when the
 *   shard moves past the batch, they become `deadletter#<shard>#<first sequence number>`, which
 *   `npm run replay` applies exactly once.
 */
export const STATE_TABLE = {
  partitionKey: "pk",
  ttlAttribute: "expiresAt",
  billingMode: "PAY_PER_REQUEST",
} as const;

export const STATE = {
  values: "values",
  through: "through",
  expiresAt: STATE_TABLE.ttlAttribute,
  /** A ledger entry's body, gzipped JSON. */
  body: "body",
  /** When a dead letter was replayed, ISO 8601. */
  replayedAt: "replayedAt",
} as const;

export const keptValuesKey = (metric: string, field: string): string => `values#${metric}.${field}`;
export const forwardedKey = (eventId: string): string => `forwarded#${eventId}`;
export const unappliedKey = (shardId: string): string => `unapplied#${shardId}`;
export const deadLetterKey = (shardId: string, firstSequence: string): string => `deadletter#${shardId}#${firstSequence}`;
export const DEAD_LETTER_PREFIX = "deadletter#";

/** The state items each function may touch, as IAM's `dynamodb:LeadingKeys` patterns. */
export const ANALYZER_STATE_KEYS = ["values#*", "unapplied#*", "deadletter#*"];
export const FORWARDER_STATE_KEYS = ["forwarded#*"];
/** The snapshot function reads capped dimensions' kept values, nothing else. */
export const SNAPSHOT_STATE_KEYS = ["values#*"];
