import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { forwardedKey, STATE, STATE_TABLE } from "../../catalog/state";

/**
 * How far the forwarder got in a batch. Lambda redelivers a batch from the same first record
 * when an invocation crashed or timed out after sending, or when the mapping replays from its
 * checkpoint; keyed by that first record, the mark tells which records CloudWatch already has.
 */
export interface ForwardMarks {
  /** The last record sent in the batch starting at `firstEventId`, if any. */
  read(firstEventId: string): Promise<string | undefined>;
  write(firstEventId: string, throughSequence: string): Promise<void>;
}

/** Marks outlive the table stream's 24 hours of retention, and then go. */
const MARK_DAYS = 2;

export function stateMarks(options: { client: DynamoDBClient; tableName: string; now?: () => number }): ForwardMarks {
  const key = (id: string) => ({ [STATE_TABLE.partitionKey]: { S: forwardedKey(id) } });
  return {
    async read(firstEventId) {
      const got = await options.client.send(new GetItemCommand({ TableName: options.tableName, Key: key(firstEventId), ConsistentRead: true }));
      return got.Item?.[STATE.through]?.S;
    },
    async write(firstEventId, throughSequence) {
      const expiresAt = Math.floor((options.now ?? Date.now)() / 1000) + MARK_DAYS * 86_400;
      await options.client.send(
        new PutItemCommand({
          TableName: options.tableName,
          Item: { ...key(firstEventId), [STATE.through]: { S: throughSequence }, [STATE.expiresAt]: { N: String(expiresAt) } },
        }),
      );
    },
  };
}
