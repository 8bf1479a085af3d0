/**
 * The reference designs this project grew from, implemented so they can be measured through the
 * same harness and the same loopback server as ours (the bare `ADD` per key per batch is the
 * analyzer's own `add` mode).
 */
import { type CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { type AttributeValue, type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { formatUnits, toUnits } from "../catalog/decimal";
import { COUNTER_TABLE, ITEM } from "../catalog/item";
import type { AnalyzerRules, ForwarderRules } from "../catalog/rules";
import { type BatchRecord, planBatch } from "../functions/analyzer/aggregate";
import { recordDatums } from "../functions/forwarder/deltas";

/**
 * The aggregate-table design: for every record, every counter it feeds is read and written back
 * with the record added (GetItem, then PutItem). Counters are keyed as ours are; records of one
 * key go one after another, keys `concurrency` at a time. Returns the requests sent.
 */
export async function readModifyWrite(records: readonly BatchRecord[], o: { rules: AnalyzerRules; client: DynamoDBClient; tableName: string; concurrency?: number }): Promise<number> {
  const { updates } = planBatch(records, o.rules);
  let requests = 0;
  let next = 0;
  const worker = async () => {
    while (next < updates.length) {
      const u = updates[next++];
      const Key = { [COUNTER_TABLE.partitionKey]: { S: u.pk }, [COUNTER_TABLE.sortKey]: { S: u.sk } };
      for (let i = 0; i < u.seqs.length; i++) {
        const read = await o.client.send(new GetItemCommand({ TableName: o.tableName, Key, ConsistentRead: true }));
        const count = Number(read.Item?.[ITEM.count]?.N ?? 0) + 1;
        const item: Record<string, AttributeValue> = { ...Key, [ITEM.metric]: { S: u.metric }, [ITEM.bucket]: { S: u.bucket }, [ITEM.count]: { N: String(count) } };
        if (u.hasSum) item[ITEM.sum] = { N: formatUnits((toUnits(read.Item?.[ITEM.sum]?.N ?? "0", u.sumDecimals) ?? 0n) + u.sums[i], u.sumDecimals) };
        await o.client.send(new PutItemCommand({ TableName: o.tableName, Item: item }));
        requests += 2;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 16 }, worker));
  return requests;
}

/** The time-series design's second function: one PutMetricData per counter change. Returns the calls made. */
export async function putPerChange(records: readonly DynamoDBRecord[], o: { rules: ForwarderRules; client: CloudWatchClient; nowMs: number }): Promise<number> {
  let calls = 0;
  for (const record of records) {
    const { datums } = recordDatums(record, o.rules, o.nowMs);
    if (datums.length === 0) continue;
    await o.client.send(new PutMetricDataCommand({ Namespace: o.rules.namespace, MetricData: [...datums] }));
    calls += 1;
  }
  return calls;
}
