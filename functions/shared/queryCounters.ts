import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { type Counter, COUNTER_TABLE, type CounterPart, decodePart, ITEM, type ItemImage, partRange, sumParts } from "../../catalog/item";

const NAMES = { "#pk": COUNTER_TABLE.partitionKey, "#sk": COUNTER_TABLE.sortKey, "#m": ITEM.metric, "#d": ITEM.dimensions, "#b": ITEM.bucket, "#c": ITEM.count, "#s": ITEM.sum, "#at": ITEM.updatedAt };
const PROJECTION = "#pk, #sk, #m, #d, #b, #c, #s, #at";

export interface PartsQuery {
  readonly tableName: string;
  readonly partitionKey: string;
  /** The first and the last bucket start, both included. */
  readonly fromMs: number;
  readonly lastMs: number;
  /** Strongly consistent reads (twice the read units). @default true */
  readonly consistentRead?: boolean;
  /** Return each part's mark too: 129 more characters a part over the wire (reads bill the same). @default false */
  readonly marks?: boolean;
}

/**
 * One counter key's parts (one item per bucket and Kinesis shard) whose bucket starts lie in
 * [fromMs, lastMs]: the sort key starts with the bucket start in ISO form, so a string range is a
 * time range. Read page by page, projecting only what a reader uses: what isn't returned isn't
 * sent over the wire (reads bill the same). Returns the pages read and the read units they cost.
 */
export async function queryParts(dynamo: DynamoDBClient, o: PartsQuery): Promise<{ parts: CounterPart[]; pages: number; readCapacityUnits: number }> {
  const parts: CounterPart[] = [];
  const range = partRange(o.fromMs, o.lastMs);
  const names: Record<string, string> = o.marks ? { ...NAMES, "#wm": ITEM.mark } : NAMES;
  let pages = 0;
  let readCapacityUnits = 0;
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    pages += 1;
    const page = await dynamo.send(
      new QueryCommand({
        TableName: o.tableName,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ProjectionExpression: o.marks ? `${PROJECTION}, #wm` : PROJECTION,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ":pk": { S: o.partitionKey }, ":from": { S: range.from }, ":to": { S: range.to } },
        ConsistentRead: o.consistentRead ?? true,
        ReturnConsumedCapacity: "TOTAL",
        ExclusiveStartKey,
      }),
    );
    readCapacityUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    for (const item of page.Items ?? []) {
      const part = decodePart(item as ItemImage);
      if (part !== undefined) parts.push(part);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return { parts, pages, readCapacityUnits };
}

/** A part's counter values alone, without its key, shard and mark. */
const counterOf = ({ key: _key, shard: _shard, mark: _mark, ...counter }: CounterPart): Counter => counter;

/**
 * One counter key's counters whose bucket starts lie in [fromMs, lastMs], both ends included, each
 * the sum of its shards' parts. Read consistently, without the marks.
 */
export async function queryCounters(
  dynamo: DynamoDBClient,
  o: { tableName: string; partitionKey: string; fromMs: number; lastMs: number },
): Promise<{ counters: Counter[]; pages: number; readCapacityUnits: number }> {
  const { parts, pages, readCapacityUnits } = await queryParts(dynamo, { ...o, consistentRead: true, marks: false });
  return { counters: sumParts(parts.map(counterOf)), pages, readCapacityUnits };
}
