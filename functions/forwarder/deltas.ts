import type { DynamoDBRecord } from "aws-lambda";
import { decimalDifference } from "../../catalog/decimal";
import { decodeCounter } from "../../catalog/item";
import { LIMITS } from "../../catalog/limits";
import type { ForwarderRules } from "../../catalog/rules";
import type { Unit } from "../../catalog/schema";

export interface Datum {
  readonly MetricName: string;
  readonly Dimensions: { Name: string; Value: string }[];
  readonly Timestamp: Date;
  readonly Value: number;
  readonly Unit: Unit;
}

export interface Anomaly {
  readonly sequenceNumber: string;
  readonly kind: "negative_delta" | "unknown_metric" | "malformed_image" | "invalid_datum";
  readonly detail: string;
}

export interface RecordDatums {
  readonly sequenceNumber: string;
  readonly datums: readonly Datum[];
  readonly anomalies: readonly Anomaly[];
}

// CloudWatch rejects values outside this range (and a whole call with them).
const MAX_VALUE = 1.174271e108;
const MIN_MAGNITUDE = 8.515920e-109;

function datumProblem(d: Datum, nowMs: number): string | undefined {
  if (!Number.isFinite(d.Value) || Math.abs(d.Value) > MAX_VALUE || (d.Value !== 0 && Math.abs(d.Value) < MIN_MAGNITUDE)) return `value ${d.Value} is out of CloudWatch's range`;
  const t = d.Timestamp.getTime();
  if (Number.isNaN(t) || t < nowMs - LIMITS.datapointMaxAgeMs || t > nowMs + LIMITS.datapointMaxAheadMs) return `timestamp ${Number.isNaN(t) ? "(not a date)" : d.Timestamp.toISOString()} is outside 14 days back to 2 hours ahead`;
  if (d.Dimensions.length > LIMITS.dimensionsPerMetric) return `${d.Dimensions.length} dimensions`;
  for (const dim of d.Dimensions) if (!dim.Value || dim.Value.length > 1024) return `dimension ${dim.Name} value is empty or too long`;
  return undefined;
}

/**
 * The increments one stream record stands for: `new − old` of the count and the sum.
 * REMOVE (TTL expiry) and unchanged counters give nothing; a negative delta is an anomaly, never sent.
 */
export function recordDatums(record: DynamoDBRecord, rules: ForwarderRules, nowMs: number): RecordDatums {
  const sequenceNumber = record.dynamodb?.SequenceNumber ?? "";
  const anomalies: Anomaly[] = [];
  const datums: Datum[] = [];
  if (record.eventName !== "INSERT" && record.eventName !== "MODIFY") return { sequenceNumber, datums, anomalies };
  const counter = decodeCounter(record.dynamodb?.NewImage);
  if (counter === undefined) {
    anomalies.push({ sequenceNumber, kind: "malformed_image", detail: "the new image lacks metric or bucket" });
    return { sequenceNumber, datums, anomalies };
  }
  const { metric: metricId, bucket } = counter;
  const names = rules.metrics[metricId];
  if (names === undefined) {
    anomalies.push({ sequenceNumber, kind: "unknown_metric", detail: `metric "${metricId}" is not in the catalog` });
    return { sequenceNumber, datums, anomalies };
  }
  const old = decodeCounter(record.dynamodb?.OldImage);
  const Dimensions = Object.entries(counter.dimensions)
    .map(([Name, Value]) => ({ Name, Value }))
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const Timestamp = new Date(bucket);
  const series: [string | undefined, "count" | "sum", Unit][] = [
    [names.count, "count", "Count"],
    [names.sum, "sum", names.sumUnit],
  ];
  for (const [MetricName, attribute, unit] of series) {
    if (MetricName === undefined) continue;
    // Sums are exact decimals in the table: subtract them as decimals, then hand CloudWatch a double.
    const delta = attribute === "sum" ? decimalDifference(counter.sumText ?? "0", old?.sumText ?? "0") : counter.count - (old?.count ?? 0);
    if (delta === 0) continue;
    if (delta < 0 && attribute === "count") {
      anomalies.push({ sequenceNumber, kind: "negative_delta", detail: `${metricId} ${bucket} ${attribute} went down by ${-delta}` });
      continue;
    }
    const datum: Datum = { MetricName, Dimensions, Timestamp, Value: delta, Unit: unit };
    const problem = datumProblem(datum, nowMs);
    if (problem !== undefined) {
      anomalies.push({ sequenceNumber, kind: "invalid_datum", detail: `${MetricName}: ${problem}` });
      continue;
    }
    datums.push(datum);
  }
  return { sequenceNumber, datums, anomalies };
}

export interface Chunk {
  /** The first stream record whose increments this call carries: where a retry must start. */
  readonly firstSequence: string;
  /** The last stream record it carries: once the call succeeds, everything up to here is sent. */
  readonly lastSequence: string;
  readonly records: number;
  readonly datums: Datum[];
  readonly bytes: number;
}

/** A generous bound on a datum's size in a PutMetricData request, whatever the wire protocol. */
export function datumBytes(d: Datum): number {
  let bytes = 160 + 3 * d.MetricName.length;
  for (const dim of d.Dimensions) bytes += 80 + 3 * (dim.Name.length + dim.Value.length);
  return bytes;
}

// Lengths before names and values keep any strings apart, so two series never merge (metric
// names come from the catalog and hold no NUL).
function datumKey(d: Datum): string {
  let key = `${d.MetricName}\u0000${d.Timestamp.getTime()}`;
  for (const x of d.Dimensions) key += `\u0000${x.Name.length}:${x.Name}${x.Value.length}:${x.Value}`;
  return key;
}

/**
 * Aggregates increments per (metric, dimensions, timestamp) into PutMetricData calls of at most
 * `maxDatums` datums and `maxBytes` bytes, in record order: a record's increments never span two calls.
 */
export function chunkDatums(records: readonly RecordDatums[], limits: { maxDatums?: number; maxBytes?: number } = {}): Chunk[] {
  const maxDatums = limits.maxDatums ?? LIMITS.datumsPerPut;
  const maxBytes = (limits.maxBytes ?? LIMITS.bytesPerPut) - 4096; // request envelope
  const chunks: Chunk[] = [];
  // A series' merged value is kept apart (`values`) and put in a datum of its own when the call is
  // cut: the records' datums are never changed in place, and a merge allocates nothing.
  let current: { firstSequence: string; lastSequence: string; records: number; datums: Datum[]; values: number[]; bytes: number; index: Map<string, number> } | undefined;
  const flush = () => {
    if (current && current.datums.length > 0) {
      const { datums, values } = current;
      for (let i = 0; i < datums.length; i++) if (values[i] !== datums[i].Value) datums[i] = { ...datums[i], Value: values[i] };
      chunks.push({ firstSequence: current.firstSequence, lastSequence: current.lastSequence, records: current.records, datums, bytes: current.bytes });
    }
    current = undefined;
  };
  for (const record of records) {
    const n = record.datums.length;
    if (n === 0) continue;
    const keys: string[] = new Array(n);
    let newDatums = 0;
    let newBytes = 0;
    for (let i = 0; i < n; i++) {
      keys[i] = datumKey(record.datums[i]);
      if (!current?.index.has(keys[i])) {
        newDatums += 1;
        newBytes += datumBytes(record.datums[i]);
      }
    }
    if (current && (current.datums.length + newDatums > maxDatums || current.bytes + newBytes > maxBytes)) flush();
    current ??= { firstSequence: record.sequenceNumber, lastSequence: record.sequenceNumber, records: 0, datums: [], values: [], bytes: 0, index: new Map() };
    current.records += 1;
    current.lastSequence = record.sequenceNumber;
    for (let i = 0; i < n; i++) {
      const d = record.datums[i];
      const at = current.index.get(keys[i]);
      if (at === undefined) {
        current.index.set(keys[i], current.datums.length);
        current.datums.push(d);
        current.values.push(d.Value);
        current.bytes += datumBytes(d);
      } else {
        current.values[at] += d.Value;
      }
    }
  }
  flush();
  return chunks;
}
