import type { KinesisStreamEvent } from "aws-lambda";
import { bucketKey, counterKey, partKey, valuesKey } from "../../catalog/item";
import type { AnalyzerRules, CounterRule } from "../../catalog/rules";
import { bucketStart, decodeRecord, type DimensionGate, memoryGate, type RejectReason, type Undecided } from "./decode";

/** A Kinesis record as the analyzer needs it (from the Lambda event or a local poller). */
export interface BatchRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** base64, as Kinesis hands it to Lambda. */
  readonly data: string;
  readonly arrivalMs: number;
}

/** The Lambda event's records; the shard is the part of the event ID before the colon. */
export function toBatchRecords(event: KinesisStreamEvent): BatchRecord[] {
  return event.Records.map((r) => ({
    shardId: r.eventID.slice(0, r.eventID.indexOf(":")),
    sequenceNumber: r.kinesis.sequenceNumber,
    data: r.kinesis.data,
    arrivalMs: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  }));
}

export interface Rejection {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly arrivalMs: number;
  readonly reason: RejectReason;
  readonly detail: string;
  readonly data: string;
}

/** All of one batch's additions to one counter, from one shard: to that shard's part of it. */
export interface CounterUpdate {
  readonly pk: string;
  readonly sk: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly bucketMs: number;
  /** The bucket's start, ISO 8601 UTC. */
  readonly bucket: string;
  readonly hasSum: boolean;
  readonly shardId: string;
  /** Sequence numbers of the contributing records, in stream order. */
  readonly seqs: string[];
  /** Each contributing record's addition to the sum in units of 10^-sumDecimals, parallel to `seqs`; empty when the counter sums nothing. */
  readonly sums: bigint[];
  readonly sumDecimals: number;
  count: number;
  sum: bigint;
}

export interface BatchPlan {
  readonly received: number;
  readonly counted: number;
  readonly rejections: readonly Rejection[];
  readonly rejectedByReason: Readonly<Partial<Record<RejectReason, number>>>;
  readonly updates: readonly CounterUpdate[];
  /** Capped dimension values the gate couldn't decide: ask the registry, then plan again. */
  readonly undecided: readonly Undecided[];
}

/** One counter key of a batch, whose updates (one per bucket) share its partition key and dimensions. */
interface KeyUpdates {
  readonly pk: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly byBucket: Map<number, CounterUpdate>;
}

/** One shard's updates in a batch: by rule, then by dimension values; its part key per bucket. */
interface ShardUpdates {
  readonly shardId: string;
  readonly byRule: Map<CounterRule, Map<string, KeyUpdates>>;
  readonly parts: Map<number, string>;
}

/**
 * Decodes, validates and rolls a batch up: one update per distinct (shard, counter, bucket).
 * Keyed by nested maps (shard → rule → dimension values → bucket), and every key string (the
 * counter's, the bucket's, the part's) built once per batch, not once per record or update: with
 * thousands of distinct keys, building them was most of the work.
 */
export function planBatch(records: readonly BatchRecord[], rules: AnalyzerRules, gate: DimensionGate = memoryGate()): BatchPlan {
  const updates: CounterUpdate[] = [];
  const index = new Map<string, ShardUpdates>();
  const bucketKeys = new Map<number, string>();
  const rejections: Rejection[] = [];
  const rejectedByReason: Partial<Record<RejectReason, number>> = {};
  const undecided: Undecided[] = [];
  let counted = 0;

  const add = (shard: ShardUpdates, seq: string, rule: CounterRule, values: readonly string[], bucketMs: number, sum: bigint) => {
    const { shardId } = shard;
    let byValues = shard.byRule.get(rule);
    if (byValues === undefined) shard.byRule.set(rule, (byValues = new Map()));
    const key = valuesKey(values);
    let ofKey = byValues.get(key);
    if (ofKey === undefined) {
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < rule.dimensions.length; i++) dimensions[rule.dimensions[i]] = values[i];
      byValues.set(key, (ofKey = { pk: counterKey(rule.metric, rule.dimensions, values), dimensions, byBucket: new Map() }));
    }
    let update = ofKey.byBucket.get(bucketMs);
    if (update === undefined) {
      let bucket = bucketKeys.get(bucketMs);
      if (bucket === undefined) bucketKeys.set(bucketMs, (bucket = bucketKey(bucketMs)));
      let sk = shard.parts.get(bucketMs);
      if (sk === undefined) shard.parts.set(bucketMs, (sk = partKey(bucket, shardId)));
      update = {
        pk: ofKey.pk,
        sk,
        metric: rule.metric,
        dimensions: ofKey.dimensions,
        bucketMs,
        bucket,
        hasSum: rule.sum !== undefined,
        shardId,
        seqs: [],
        sums: [],
        sumDecimals: rule.sumDecimals,
        count: 0,
        sum: 0n,
      };
      ofKey.byBucket.set(bucketMs, update);
      updates.push(update);
    }
    update.seqs.push(seq);
    update.count += 1;
    if (update.hasSum) {
      update.sums.push(sum);
      update.sum += sum;
    }
  };

  for (const record of records) {
    let shard = index.get(record.shardId);
    if (shard === undefined) index.set(record.shardId, (shard = { shardId: record.shardId, byRule: new Map(), parts: new Map() }));
    const decoded = decodeRecord(record.data, rules, record.arrivalMs, gate);
    // The pipeline's own counters go by arrival time: a rejected record's own time may be the problem.
    const arrivalBucket = bucketStart(record.arrivalMs, rules.bucketSeconds);
    if (decoded.ok) {
      counted += 1;
      if (decoded.undecided.length > 0) undecided.push(...decoded.undecided);
      for (const c of decoded.contributions) add(shard, record.sequenceNumber, c.rule, c.dimensionValues, c.bucketMs, c.sum);
      for (const dimension of decoded.overflowed) {
        const bucketMs = decoded.contributions[0].bucketMs;
        add(shard, record.sequenceNumber, rules.overflow, [], bucketMs, 0n);
        add(shard, record.sequenceNumber, rules.overflowByDimension, [dimension], bucketMs, 0n);
      }
      add(shard, record.sequenceNumber, rules.counted, [], arrivalBucket, 0n);
      continue;
    }
    rejections.push({ ...record, reason: decoded.reason, detail: decoded.detail });
    rejectedByReason[decoded.reason] = (rejectedByReason[decoded.reason] ?? 0) + 1;
    add(shard, record.sequenceNumber, rules.rejected, [], arrivalBucket, 0n);
    add(shard, record.sequenceNumber, rules.rejectedByReason, [decoded.reason], arrivalBucket, 0n);
  }
  return { received: records.length, counted, rejections, rejectedByReason, updates, undecided };
}
