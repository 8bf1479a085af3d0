import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamHandler } from "aws-lambda";
import { toMark } from "../../catalog/item";
import type { AnalyzerRules } from "../../catalog/rules";
import { outOfTime } from "../shared/deadline";
import { isTransient, type Logger, withFields } from "../shared/log";
import { type BatchPlan, type BatchRecord, type CounterUpdate, toBatchRecords } from "./aggregate";
import { applyUpdates, unappliedFrom } from "./counters";
import type { Ledger, PendingUpdate, Unapplied } from "./ledger";
import { quarantine } from "./quarantine";
import { planDecided, type RegistryGate } from "./registry";
import type { AnalyzerSettings } from "./settings";

export interface AnalyzerDeps {
  readonly rules: AnalyzerRules;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  readonly settings: AnalyzerSettings;
  readonly log: Logger;
  /** Capped dimensions' kept values, shared by every container. @default one process's own view */
  readonly gate?: RegistryGate;
  /** Where a failed batch records what it left unapplied, so a dead letter can be replayed exactly once. */
  readonly ledger?: Ledger;
  /** Time left in the invocation: no update starts in its last stretch, so the ledger is always written. */
  readonly remainingMs?: () => number;
}

/** The analyzer's Lambda handler over its dependencies; every log entry carries the request id. */
export function createAnalyzerHandler(deps: AnalyzerDeps): KinesisStreamHandler {
  return async (event, context) => {
    const result = await processBatch(toBatchRecords(event), {
      ...deps,
      log: withFields(deps.log, { requestId: context.awsRequestId }),
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    return { batchItemFailures: result.batchItemFailures };
  };
}

export interface BatchResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
  readonly received: number;
  readonly counted: number;
  readonly rejected: number;
  /** DynamoDB write requests this batch sent to the counter table. */
  readonly writeRequests: number;
  /** The write capacity units those requests consumed, as DynamoDB reported them. */
  readonly writeUnits: number;
}

/**
 * Counts one batch. Never throws: a record that can't be counted is rejected and kept, and a
 * failed write reports the first record not fully applied so Lambda retries from there.
 */
export async function processBatch(records: readonly BatchRecord[], deps: AnalyzerDeps): Promise<BatchResult> {
  const { log, settings } = deps;
  if (records.length === 0) return { batchItemFailures: [], received: 0, counted: 0, rejected: 0, writeRequests: 0, writeUnits: 0 };
  // Lambda hands one shard's records per batch, in order.
  const { shardId } = records[0];
  const first = records[0].sequenceNumber;
  const failWhole = (what: string, error: unknown): BatchResult => {
    log("ERROR", what, { shardId, error: String(error), transient: isTransient(error), retryFrom: first });
    return { batchItemFailures: [{ itemIdentifier: first }], received: records.length, counted: 0, rejected: 0, writeRequests: 0, writeUnits: 0 };
  };
  let prior: Unapplied | undefined;
  try {
    prior = await deps.ledger?.open(shardId, first);
  } catch (error) {
    return failWhole("reading the unapplied ledger failed", error);
  }
  let plan: BatchPlan;
  try {
    plan = await planDecided(records, deps.rules, deps.gate);
  } catch (error) {
    return failWhole("deciding capped dimension values failed", error);
  }
  for (const r of plan.rejections) {
    log("WARN", "record rejected", { shardId: r.shardId, sequenceNumber: r.sequenceNumber, reason: r.reason, detail: r.detail });
  }
  // Sequence numbers of the first record each failed part did not apply; all come from this batch.
  const failed: string[] = [];
  let quarantineKey: string | undefined;
  let quarantineFrom: string | undefined;
  try {
    quarantineKey = await quarantine(deps.s3, settings.quarantineBucket, plan.rejections);
  } catch (error) {
    log("ERROR", "quarantine write failed", { error: String(error), transient: isTransient(error) });
    quarantineFrom = plan.rejections[0].sequenceNumber;
    failed.push(quarantineFrom);
  }
  const outcomes = await applyUpdates(plan.updates, {
    client: deps.dynamo,
    tableName: settings.tableName,
    mode: settings.mode,
    ttlDays: settings.ttlDays,
    shouldStop: () => outOfTime(deps.remainingMs),
  });
  let writeRequests = 0;
  let writeUnits = 0;
  const failedUpdates: CounterUpdate[] = [];
  for (const o of outcomes) {
    writeRequests += o.requests;
    writeUnits += o.writeUnits;
    if (o.firstUnapplied === undefined) continue;
    failed.push(o.firstUnapplied);
    failedUpdates.push(o.update);
    log("ERROR", "counter update failed", { counter: o.update.pk, bucket: o.update.bucket, shard: o.update.shardId, error: String(o.error), transient: isTransient(o.error) });
  }
  let pending: PendingUpdate[] = [];
  if (failedUpdates.length > 0 && deps.ledger !== undefined) {
    const from = await unappliedFrom(failedUpdates, { client: deps.dynamo, tableName: settings.tableName });
    pending = failedUpdates.flatMap((u, i) => (from[i] === "" ? [] : [{ pk: u.pk, sk: u.sk, ...(from[i] === undefined ? {} : { from: from[i] }) }]));
  }
  const batchItemFailures: { itemIdentifier: string }[] = [];
  if (failed.length > 0) {
    // Padded, sequence numbers compare as numbers: the lowest is where Lambda must resume.
    batchItemFailures.push({ itemIdentifier: failed.reduce((a, b) => (toMark(b) < toMark(a) ? b : a)) });
  }
  const unapplied: Unapplied | undefined =
    failed.length === 0 ? undefined : { shardId, from: first, to: records[records.length - 1].sequenceNumber, pending, quarantineFrom, at: new Date().toISOString() };
  try {
    await deps.ledger?.close(shardId, prior, unapplied);
  } catch (error) {
    // The batch is retried either way; only a dead letter filed without its entry loses the detail.
    log("ERROR", "writing the unapplied ledger failed", { shardId, error: String(error), transient: isTransient(error) });
    if (batchItemFailures.length === 0) batchItemFailures.push({ itemIdentifier: first });
  }
  const rejected = plan.rejections.length;
  log(plan.received === plan.counted + rejected ? "INFO" : "ERROR", "batch done", {
    received: plan.received,
    counted: plan.counted,
    rejected,
    balanced: plan.received === plan.counted + rejected,
    rejectedByReason: plan.rejectedByReason,
    counterUpdates: plan.updates.length,
    writeRequests,
    writeUnits,
    quarantineKey,
    retryFrom: batchItemFailures[0]?.itemIdentifier,
  });
  return { batchItemFailures, received: plan.received, counted: plan.counted, rejected, writeRequests, writeUnits };
}
