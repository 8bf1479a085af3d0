import { type ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { keptValuesKey, STATE, STATE_TABLE } from "../../catalog/state";
import type { AnalyzerRules } from "../../catalog/rules";
import { type BatchPlan, type BatchRecord, planBatch } from "./aggregate";
import { type DimensionGate, memoryGate, type Undecided } from "./decode";

/** A gate whose decisions are shared by every container through the state table. */
export interface RegistryGate extends DimensionGate {
  /** Asks the registry about each undecided value; returns the requests sent. Throws on a failed call. */
  decide(undecided: readonly Undecided[]): Promise<number>;
}

/**
 * Capped dimensions' kept values, from the state table. A value is kept by a conditional `ADD`
 * to the dimension's set, allowed while the set is below the cap; the answer is cached in the
 * container, and once the set is full no new value costs a request. Kept values never leave the
 * set, so every container and every retry decides a value the same way.
 */
export function registryGate(options: { client: DynamoDBClient; tableName: string }): RegistryGate {
  const known = new Map<string, { kept: Set<string>; full: boolean }>();
  const entry = (metric: string, field: string) => {
    const key = keptValuesKey(metric, field);
    let e = known.get(key);
    if (e === undefined) known.set(key, (e = { kept: new Set(), full: false }));
    return e;
  };
  return {
    admitted(metric, field, value) {
      const e = entry(metric, field);
      if (e.kept.has(value)) return true;
      return e.full ? false : undefined;
    },
    async decide(undecided) {
      let requests = 0;
      for (const u of undecided) {
        const e = entry(u.metric, u.field);
        if (e.kept.has(u.value) || e.full) continue;
        requests += 1;
        try {
          const result = await options.client.send(
            new UpdateItemCommand({
              TableName: options.tableName,
              Key: { [STATE_TABLE.partitionKey]: { S: keptValuesKey(u.metric, u.field) } },
              UpdateExpression: "ADD #v :one",
              ConditionExpression: "attribute_not_exists(#v) OR contains(#v, :value) OR size(#v) < :cap",
              ExpressionAttributeNames: { "#v": STATE.values },
              ExpressionAttributeValues: { ":one": { SS: [u.value] }, ":value": { S: u.value }, ":cap": { N: String(u.maxValues) } },
              ReturnValues: "ALL_NEW",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          );
          for (const v of result.Attributes?.[STATE.values]?.SS ?? [u.value]) e.kept.add(v);
          e.full = e.kept.size >= u.maxValues;
        } catch (error) {
          const name = (error as Error)?.name;
          // The set can't grow past DynamoDB's 400 KB item: that is as full as the cap (the catalog check keeps caps well below it).
          const tooBig = name === "ValidationException" && /item size/i.test(String((error as Error).message));
          if (name !== "ConditionalCheckFailedException" && !tooBig) throw error;
          let kept = (error as ConditionalCheckFailedException).Item?.[STATE.values]?.SS;
          if (kept === undefined) {
            // The old image didn't come back: read the set, so this container decides as every other does.
            requests += 1;
            const read = await options.client.send(new GetItemCommand({ TableName: options.tableName, Key: { [STATE_TABLE.partitionKey]: { S: keptValuesKey(u.metric, u.field) } }, ConsistentRead: true }));
            kept = read.Item?.[STATE.values]?.SS ?? [];
          }
          for (const v of kept) e.kept.add(v);
          e.full = true;
        }
      }
      return requests;
    },
  };
}

/**
 * A batch planned with every capped value decided: planned once with what the gate knows, and
 * when it met values it hadn't decided, planned again after asking the registry. Without a
 * registry, one process's own view decides. Throws when the registry can't be asked.
 */
export async function planDecided(records: readonly BatchRecord[], rules: AnalyzerRules, registry: RegistryGate | undefined): Promise<BatchPlan> {
  const gate = registry ?? memoryGate();
  const plan = planBatch(records, rules, gate);
  if (plan.undecided.length === 0 || registry === undefined) return plan;
  await registry.decide(plan.undecided);
  return planBatch(records, rules, gate);
}
