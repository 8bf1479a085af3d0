import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { formatUnits } from "../../catalog/decimal";
import { COUNTER_TABLE, ITEM, toMark } from "../../catalog/item";
import type { CounterUpdate } from "./aggregate";

/**
 * `exactly-once`: each shard's part of a counter keeps the shard's high-water mark, so a redelivered record is never
 * counted twice. `add`: the reference design's bare `ADD`, kept to show what it costs under retries.
 */
export type CounterMode = "exactly-once" | "add";

export interface ApplyOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly mode: CounterMode;
  readonly ttlDays: number;
  /** The clock stamped on each item as its last change. @default Date.now */
  readonly now?: () => number;
  /** True when no further update should start (the invocation is about to time out). */
  readonly shouldStop?: () => boolean;
  /** Updates in flight at once. @default 16 */
  readonly concurrency?: number;
}

export interface UpdateOutcome {
  readonly update: CounterUpdate;
  /** Write requests sent, successful or not (what DynamoDB bills and throttles). */
  readonly requests: number;
  /** Write capacity units the successful write consumed, as DynamoDB reports them (0 when none succeeded). */
  readonly writeUnits: number;
  /** Records this call added to the counter (0 when every record was already applied). */
  readonly applied: number;
  /** When the update failed: the sequence number of the first contributing record not applied. */
  readonly firstUnapplied?: string;
  readonly error?: unknown;
}

const MAX_CONDITION_ROUNDS = 5;

function updateInput(update: CounterUpdate, from: number, options: ApplyOptions, expectedMark: string | undefined): UpdateItemCommandInput {
  const count = update.seqs.length - from;
  let sum = 0n;
  if (update.hasSum) for (let i = from; i < update.sums.length; i++) sum += update.sums[i];
  const names: Record<string, string> = { "#count": ITEM.count, "#metric": ITEM.metric, "#dims": ITEM.dimensions, "#bucket": ITEM.bucket, "#exp": ITEM.expiresAt, "#at": ITEM.updatedAt };
  const dims: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(update.dimensions)) dims[k] = { S: v };
  const values: Record<string, AttributeValue> = {
    ":n": { N: String(count) },
    ":metric": { S: update.metric },
    ":dims": { M: dims },
    ":bucket": { S: update.bucket },
    ":exp": { N: String(Math.floor(update.bucketMs / 1000) + options.ttlDays * 86_400) },
    ":at": { N: String(Math.floor((options.now ?? Date.now)() / 1000)) },
  };
  let add = "ADD #count :n";
  if (update.hasSum) {
    names["#sum"] = ITEM.sum;
    values[":s"] = { N: formatUnits(sum, update.sumDecimals) };
    add += ", #sum :s";
  }
  let set = "SET #metric = :metric, #dims = :dims, #bucket = :bucket, #exp = :exp, #at = :at";
  const input: UpdateItemCommandInput = {
    TableName: options.tableName,
    Key: { [COUNTER_TABLE.partitionKey]: { S: update.pk }, [COUNTER_TABLE.sortKey]: { S: update.sk } },
    UpdateExpression: "",
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnConsumedCapacity: "TOTAL",
  };
  if (options.mode === "exactly-once") {
    names["#wm"] = ITEM.mark;
    values[":last"] = { S: toMark(update.seqs[update.seqs.length - 1]) };
    set += ", #wm = :last";
    if (expectedMark === undefined) {
      values[":first"] = { S: toMark(update.seqs[from]) };
      input.ConditionExpression = "attribute_not_exists(#wm) OR #wm < :first";
    } else {
      values[":mark"] = { S: expectedMark };
      input.ConditionExpression = "#wm = :mark";
    }
    input.ReturnValuesOnConditionCheckFailure = "ALL_OLD";
  }
  input.UpdateExpression = `${add} ${set}`;
  return input;
}

/** The part's mark: from the failed condition's ALL_OLD image, or read when it isn't there. */
async function currentMark(error: ConditionalCheckFailedException, update: CounterUpdate, options: ApplyOptions): Promise<{ mark?: string; reads: number }> {
  const attribute = ITEM.mark;
  if (error.Item) return { mark: error.Item[attribute]?.S, reads: 0 };
  const read = await options.client.send(
    new GetItemCommand({
      TableName: options.tableName,
      Key: { [COUNTER_TABLE.partitionKey]: { S: update.pk }, [COUNTER_TABLE.sortKey]: { S: update.sk } },
      ConsistentRead: true,
      ProjectionExpression: "#wm",
      ExpressionAttributeNames: { "#wm": attribute },
    }),
  );
  return { mark: read.Item?.[attribute]?.S, reads: 1 };
}

/**
 * Applies one counter update. In exactly-once mode the write is conditioned on the shard's
 * mark being below the first record: in steady state that is one write. When the condition
 * fails (a redelivery), only the records above the stored mark are added, conditioned on that mark.
 */
export async function applyUpdate(update: CounterUpdate, options: ApplyOptions): Promise<UpdateOutcome> {
  let from = 0;
  let expectedMark: string | undefined;
  let requests = 0;
  for (let round = 0; round < MAX_CONDITION_ROUNDS; round++) {
    if (from >= update.seqs.length) return { update, requests, applied: 0, writeUnits: 0 };
    try {
      requests += 1;
      const written = await options.client.send(new UpdateItemCommand(updateInput(update, from, options, expectedMark)));
      return { update, requests, applied: update.seqs.length - from, writeUnits: written.ConsumedCapacity?.CapacityUnits ?? 0 };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) && (error as Error)?.name !== "ConditionalCheckFailedException") {
        return { update, requests, applied: 0, writeUnits: 0, firstUnapplied: update.seqs[from], error };
      }
      try {
        const { mark } = await currentMark(error as ConditionalCheckFailedException, update, options);
        expectedMark = mark;
        if (mark === undefined) continue; // the item went away (TTL): start over unconditionally-new
        while (from < update.seqs.length && toMark(update.seqs[from]) <= mark) from += 1;
      } catch (readError) {
        return { update, requests, applied: 0, writeUnits: 0, firstUnapplied: update.seqs[from], error: readError };
      }
    }
  }
  return {
    update,
    requests,
    applied: 0,
    writeUnits: 0,
    firstUnapplied: update.seqs[from],
    error: new Error(`the high-water mark of ${update.pk} ${update.sk} kept moving for ${MAX_CONDITION_ROUNDS} rounds`),
  };
}

/** Applies every update, `concurrency` at a time; never throws. */
export async function applyUpdates(updates: readonly CounterUpdate[], options: ApplyOptions): Promise<UpdateOutcome[]> {
  const outcomes: UpdateOutcome[] = new Array(updates.length);
  let next = 0;
  const worker = async () => {
    while (next < updates.length) {
      const i = next++;
      const update = updates[i];
      // Not started: reported unapplied, so the batch fails in order instead of timing out midway.
      if (options.shouldStop?.()) outcomes[i] = { update, requests: 0, applied: 0, writeUnits: 0, firstUnapplied: update.seqs[0], error: new Error("not started: the invocation is running out of time") };
      else outcomes[i] = await applyUpdate(update, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, updates.length) }, worker));
  return outcomes;
}

/**
 * Where each failed update's item really stands: the first of its records above the part's mark,
 * read consistently after the batch (one BatchGetItem per 100 items). A failed
 * request may still have been applied, and an earlier attempt may have applied the item already,
 * so the record a failure reports is not enough for a replay. Undefined for an item whose mark
 * couldn't be read: a replay must not guess it.
 */
export async function unappliedFrom(failed: readonly CounterUpdate[], options: { client: DynamoDBClient; tableName: string }): Promise<(string | undefined)[]> {
  const result: (string | undefined)[] = new Array(failed.length).fill(undefined);
  for (let start = 0; start < failed.length; start += 100) {
    const chunk = failed.slice(start, start + 100);
    const key = (u: CounterUpdate) => ({ [COUNTER_TABLE.partitionKey]: { S: u.pk }, [COUNTER_TABLE.sortKey]: { S: u.sk } });
    let read;
    try {
      read = await options.client.send(new BatchGetItemCommand({ RequestItems: { [options.tableName]: { Keys: chunk.map(key), ConsistentRead: true } } }));
    } catch {
      continue;
    }
    if (Object.keys(read.UnprocessedKeys ?? {}).length > 0) continue;
    const items = new Map((read.Responses?.[options.tableName] ?? []).map((item) => [`${item[COUNTER_TABLE.partitionKey]?.S}\u0000${item[COUNTER_TABLE.sortKey]?.S}`, item]));
    chunk.forEach((u, i) => {
      const mark = items.get(`${u.pk}\u0000${u.sk}`)?.[ITEM.mark]?.S;
      const first = mark === undefined ? u.seqs[0] : u.seqs.find((seq) => toMark(seq) > mark);
      // Every record in: nothing of this item is missing after all.
      result[start + i] = first ?? "";
    });
  }
  return result;
}
