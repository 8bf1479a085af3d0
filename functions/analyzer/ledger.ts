import { gunzipSync, gzipSync } from "node:zlib";
import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { toMark } from "../../catalog/item";
import { deadLetterKey, STATE, STATE_TABLE, unappliedKey } from "../../catalog/state";

/**
 * One counter item a failed batch did not fully apply: its records from `from` on are missing,
 * as read from the item's mark after the batch. `from` is absent when the mark couldn't be read:
 * a replay then refuses the item rather than guess.
 */
export interface PendingUpdate {
  readonly pk: string;
  readonly sk: string;
  readonly from?: string;
}

/**
 * What one shard's last failed batch left unapplied. Lambda retries the batch from its first
 * unapplied record, and after the last retry sends a pointer to the range to the dead-letter
 * queue and moves on; later batches then move every item's high-water mark past the range, so
 * the marks alone can no longer tell which of its records an item holds. This entry can.
 */
export interface Unapplied {
  readonly shardId: string;
  /** The failed batch's first and last sequence numbers. */
  readonly from: string;
  readonly to: string;
  readonly pending: readonly PendingUpdate[];
  /** When the quarantine write failed: the first rejected record, so a replay writes it again. */
  readonly quarantineFrom?: string;
  /** When it was filed, ISO 8601. */
  readonly at: string;
}

export interface Ledger {
  /**
   * Before a batch: the shard's unapplied entry, if any. When the batch starts past the entry's
   * range, Lambda gave up on that range: the entry is filed as a dead letter and cleared.
   */
  open(shardId: string, firstSequence: string): Promise<Unapplied | undefined>;
  /** After a batch: what it left unapplied, or nothing (clearing an earlier entry it retried). */
  close(shardId: string, prior: Unapplied | undefined, unapplied: Unapplied | undefined): Promise<void>;
}

const key = (pk: string) => ({ [STATE_TABLE.partitionKey]: { S: pk } });

// Gzipped JSON: a batch over 10,000 keys that failed whole still fits in one 400 KB item.
export const encodeEntry = (entry: Unapplied): Uint8Array => gzipSync(JSON.stringify(entry));
export const decodeEntry = (body: Uint8Array): Unapplied => JSON.parse(gunzipSync(body).toString("utf8")) as Unapplied;

/** The ledger in the state table: one read per batch, writes only around failures. */
export function stateLedger(options: { client: DynamoDBClient; tableName: string }): Ledger {
  const { client, tableName } = options;
  return {
    async open(shardId, firstSequence) {
      const read = await client.send(new GetItemCommand({ TableName: tableName, Key: key(unappliedKey(shardId)), ConsistentRead: true }));
      const body = read.Item?.[STATE.body]?.B;
      if (body === undefined) return undefined;
      const entry = decodeEntry(body);
      if (toMark(firstSequence) <= toMark(entry.to)) return entry;
      await client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: tableName, Item: { ...key(deadLetterKey(shardId, entry.from)), [STATE.body]: { B: body } } } },
            { Delete: { TableName: tableName, Key: key(unappliedKey(shardId)) } },
          ],
        }),
      );
      return undefined;
    },
    async close(shardId, prior, unapplied) {
      if (unapplied !== undefined) {
        await client.send(new PutItemCommand({ TableName: tableName, Item: { ...key(unappliedKey(shardId)), [STATE.body]: { B: encodeEntry(unapplied) } } }));
      } else if (prior !== undefined) {
        await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(unappliedKey(shardId)) }));
      }
    },
  };
}
