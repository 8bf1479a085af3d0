import type { KinesisStreamEvent } from "aws-lambda";
import type { AnalyzerRules } from "../../dashboards/rules";
import { bucketStart, decodeRecord, type RejectReason } from "./decode";

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

/** All of one batch's additions to one counter item, from one shard. */
export interface CounterUpdate {
  readonly pk: string;
  readonly sk: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly bucketMs: number;
  readonly hasSum: boolean;
  readonly shardId: string;
  /** Padded sequence numbers of the contributing records, in stream order. */
  readonly marks: string[];
  /** Each contributing record's addition to the sum, parallel to `marks`. */
  readonly sums: number[];
  count: number;
  sum: number;
}

export interface BatchPlan {
  readonly received: number;
  readonly counted: number;
  readonly rejections: readonly Rejection[];
  readonly rejectedByReason: Readonly<Partial<Record<RejectReason, number>>>;
  readonly updates: readonly CounterUpdate[];
}

/**
 * Kinesis sequence numbers are decimal strings of up to 129 digits; zero-padded to a fixed
 * width they compare correctly as strings, which is what DynamoDB's `<` on strings does.
 */
export const MARK_WIDTH = 129;
export const toMark = (sequenceNumber: string): string => sequenceNumber.padStart(MARK_WIDTH, "0");

export const counterKey = (metric: string, names: readonly string[], values: readonly string[]): string => {
  let pk = metric;
  for (let i = 0; i < names.length; i++) pk += `${i === 0 ? "#" : "&"}${names[i]}=${encodeURIComponent(values[i])}`;
  return pk;
};

/** Decodes, validates and rolls a batch up: one update per distinct (shard, counter, bucket). */
export function planBatch(records: readonly BatchRecord[], rules: AnalyzerRules): BatchPlan {
  const updates = new Map<string, CounterUpdate>();
  const rejections: Rejection[] = [];
  const rejectedByReason: Partial<Record<RejectReason, number>> = {};
  let counted = 0;

  const add = (shardId: string, mark: string, metric: string, names: readonly string[], values: readonly string[], bucketMs: number, sum: number | undefined) => {
    const pk = counterKey(metric, names, values);
    const id = `${shardId}\u0000${pk}\u0000${bucketMs}`;
    let update = updates.get(id);
    if (update === undefined) {
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) dimensions[names[i]] = values[i];
      update = {
        pk,
        sk: new Date(bucketMs).toISOString(),
        metric,
        dimensions,
        bucketMs,
        hasSum: sum !== undefined,
        shardId,
        marks: [],
        sums: [],
        count: 0,
        sum: 0,
      };
      updates.set(id, update);
    }
    update.marks.push(mark);
    update.sums.push(sum ?? 0);
    update.count += 1;
    update.sum += sum ?? 0;
  };

  for (const record of records) {
    const mark = toMark(record.sequenceNumber);
    const decoded = decodeRecord(record.data, rules, record.arrivalMs);
    if (decoded.ok) {
      counted += 1;
      for (const c of decoded.contributions) {
        add(record.shardId, mark, c.rule.metric, c.rule.dimensions, c.dimensionValues, c.bucketMs, c.rule.sum === undefined ? undefined : c.sum);
      }
      continue;
    }
    rejections.push({ ...record, reason: decoded.reason, detail: decoded.detail });
    rejectedByReason[decoded.reason] = (rejectedByReason[decoded.reason] ?? 0) + 1;
    // Rejects are counted like any metric (exactly once, by arrival time: their own time may be the problem).
    const bucketMs = bucketStart(record.arrivalMs, rules.bucketSeconds);
    add(record.shardId, mark, rules.rejectedMetric, [], [], bucketMs, undefined);
    add(record.shardId, mark, rules.rejectedMetric, [rules.rejectedDimension], [decoded.reason], bucketMs, undefined);
  }
  return { received: records.length, counted, rejections, rejectedByReason, updates: [...updates.values()] };
}
