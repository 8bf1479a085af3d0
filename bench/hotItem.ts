/**
 * One hot counter (this minute's page views) as the stream grows: every shard writes it once per
 * batch, and DynamoDB bills each write the whole item's size in write units (1 KB each), within
 * 1,000 write units a second per partition. The model computes item sizes with DynamoDB's sizing
 * rules; DynamoDB Local confirms them with `ReturnConsumedCapacity`.
 *
 * Before: one item per counter holding a 129-digit mark per shard under `wm_<shardId>`, so it
 * grows with the shard count. Ours: one part per shard (see catalog/item.ts), whose size doesn't.
 */
import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { bucketKey, COUNTER_TABLE, ITEM, partKey, toMark } from "../catalog/item";
import type { CounterUpdate } from "../functions/analyzer/aggregate";
import { applyUpdate } from "../functions/analyzer/counters";

/** DynamoDB's documented throughput of one partition. */
export const PARTITION_WRITE_UNITS = 1_000;
/** A Kinesis shard's most records per second. */
export const SHARD_RECORDS_PER_SECOND = 1_000;

const BUCKET_MS = Date.UTC(2026, 10, 22, 12, 0, 0);
const shardId = (i: number) => `shardId-${String(i).padStart(12, "0")}`;
const SEQUENCE = "49650000000000000000000000000000000000000000000000000001";

/** The size DynamoDB bills an item: attribute names plus values (strings by UTF-8 bytes, numbers about one byte per two digits plus one, maps 3 bytes plus a byte per entry). */
export function itemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|^0+/g, "").length / 2) + 1;
    if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, x]) => n + Buffer.byteLength(k) + value(x) + 1, 0);
    throw new Error("unsized attribute type");
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + value(v), 0);
}

/** The hot counter's item after `shards` shards each wrote it, in either layout. */
export function hotItem(layout: "single" | "parts", shards: number): Record<string, AttributeValue> {
  const bucket = bucketKey(BUCKET_MS);
  const item: Record<string, AttributeValue> = {
    [COUNTER_TABLE.partitionKey]: { S: "pageViews" },
    [COUNTER_TABLE.sortKey]: { S: layout === "single" ? bucket : partKey(bucket, shardId(shards - 1)) },
    [ITEM.metric]: { S: "pageViews" },
    [ITEM.dimensions]: { M: {} },
    [ITEM.bucket]: { S: bucket },
    [ITEM.count]: { N: "123456" },
    [ITEM.expiresAt]: { N: String(BUCKET_MS / 1000 + 16 * 86_400) },
    [ITEM.updatedAt]: { N: String(BUCKET_MS / 1000) },
  };
  if (layout === "parts") item[ITEM.mark] = { S: toMark(SEQUENCE) };
  else for (let i = 0; i < shards; i++) item[`wm_${shardId(i)}`] = { S: toMark(SEQUENCE) };
  return item;
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

/** Invocations per shard per second at a shard's full rate: the batch fills or the window closes, about once a second at most. */
export const invocationsPerSecond = (batchSize: number, windowSeconds: number): number => 1 / Math.max(1, Math.min(batchSize / SHARD_RECORDS_PER_SECOND, Math.max(windowSeconds, 1)));

export interface ModelRow {
  readonly shards: number;
  readonly single: { readonly bytes: number; readonly unitsPerWrite: number; readonly unitsPerSecond: number };
  readonly parts: { readonly bytes: number; readonly unitsPerWrite: number; readonly unitsPerSecond: number };
}

/** Write units a second on the hot counter's partition, per layout, at `perSecond` writes per shard. */
export function model(shardCounts: readonly number[], perSecond: number): ModelRow[] {
  return shardCounts.map((shards) => {
    const row = (layout: "single" | "parts") => {
      const bytes = itemBytes(hotItem(layout, shards));
      // Every shard's part shares the counter's partition key, so they add up on one partition.
      return { bytes, unitsPerWrite: writeUnits(bytes), unitsPerSecond: shards * perSecond * writeUnits(bytes) };
    };
    return { shards, single: row("single"), parts: row("parts") };
  });
}

/** The fewest shards at which the hot counter's partition needs more than it can take. */
export function throttlesAt(layout: "single" | "parts", perSecond: number): number {
  for (let shards = 1; shards <= 100_000; shards++) {
    if (shards * perSecond * writeUnits(itemBytes(hotItem(layout, shards))) > PARTITION_WRITE_UNITS) return shards;
  }
  return Infinity;
}

/**
 * Writes the hot counter from `shards` simulated shards, twice each, against a real table, and
 * returns the write units DynamoDB reports for the last shard's second write (the steady state:
 * every shard's mark is in). The single-item layout is written as the earlier analyzer wrote it;
 * the parts layout by the analyzer's own `applyUpdate`.
 */
export async function measuredUnits(dynamo: DynamoDBClient, tableName: string, layout: "single" | "parts", shards: number): Promise<number> {
  const bucket = bucketKey(BUCKET_MS);
  let last = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < shards; i++) {
      const seq = (BigInt(SEQUENCE) + BigInt(round * 10)).toString();
      if (layout === "parts") {
        const update: CounterUpdate = { pk: "pageViews", sk: partKey(bucket, shardId(i)), metric: "pageViews", dimensions: {}, bucketMs: BUCKET_MS, bucket, hasSum: false, shardId: shardId(i), seqs: [seq], sums: [], sumDecimals: 0, count: 1, sum: 0n };
        const outcome = await applyUpdate(update, { client: dynamo, tableName, mode: "exactly-once", ttlDays: 16, now: () => BUCKET_MS });
        if (outcome.error !== undefined) throw outcome.error;
        last = outcome.writeUnits;
      } else {
        const written = await dynamo.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { [COUNTER_TABLE.partitionKey]: { S: "pageViews" }, [COUNTER_TABLE.sortKey]: { S: bucket } },
            UpdateExpression: "ADD #count :n SET #metric = :metric, #dims = :dims, #bucket = :bucket, #exp = :exp, #at = :at, #wm = :last",
            ConditionExpression: "attribute_not_exists(#wm) OR #wm < :first",
            ExpressionAttributeNames: { "#count": ITEM.count, "#metric": ITEM.metric, "#dims": ITEM.dimensions, "#bucket": ITEM.bucket, "#exp": ITEM.expiresAt, "#at": ITEM.updatedAt, "#wm": `wm_${shardId(i)}` },
            ExpressionAttributeValues: {
              ":n": { N: "1" },
              ":metric": { S: "pageViews" },
              ":dims": { M: {} },
              ":bucket": { S: bucket },
              ":exp": { N: String(BUCKET_MS / 1000 + 16 * 86_400) },
              ":at": { N: String(BUCKET_MS / 1000) },
              ":last": { S: toMark(seq) },
              ":first": { S: toMark(seq) },
            },
            ReturnConsumedCapacity: "TOTAL",
          }),
        );
        last = written.ConsumedCapacity?.CapacityUnits ?? 0;
      }
    }
  }
  return last;
}
