import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { type Counter, COUNTER_TABLE, decodeCounter, ITEM, type ItemImage, partRange, sumParts } from "../../catalog/item";

const NAMES = { "#pk": COUNTER_TABLE.partitionKey, "#sk": COUNTER_TABLE.sortKey, "#m": ITEM.metric, "#d": ITEM.dimensions, "#b": ITEM.bucket, "#c": ITEM.count, "#s": ITEM.sum, "#at": ITEM.updatedAt };

/**
 * One counter key's counters whose bucket starts lie in [fromMs, lastMs], both ends included, each
 * the sum of its shards' parts (the sort key starts with the bucket start in ISO form, so a string
 * range is a time range). Read consistently, page by page, without the marks: what isn't returned
 * isn't sent over the wire (reads bill the same). Returns the pages read and the read units they cost.
 */
export async function queryCounters(
  dynamo: DynamoDBClient,
  o: { tableName: string; partitionKey: string; fromMs: number; lastMs: number },
): Promise<{ counters: Counter[]; pages: number; readCapacityUnits: number }> {
  const parts: Counter[] = [];
  const range = partRange(o.fromMs, o.lastMs);
  let pages = 0;
  let readCapacityUnits = 0;
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    pages += 1;
    const page = await dynamo.send(
      new QueryCommand({
        TableName: o.tableName,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ProjectionExpression: "#m, #d, #b, #c, #s, #at",
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ":pk": { S: o.partitionKey }, ":from": { S: range.from }, ":to": { S: range.to } },
        ConsistentRead: true,
        ReturnConsumedCapacity: "TOTAL",
        ExclusiveStartKey,
      }),
    );
    readCapacityUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    for (const item of page.Items ?? []) {
      const counter = decodeCounter(item as ItemImage);
      if (counter !== undefined) parts.push(counter);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return { counters: sumParts(parts), pages, readCapacityUnits };
}
