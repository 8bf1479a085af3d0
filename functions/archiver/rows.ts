/**
 * One archived row per stream record: the raw line and the analyzer's own reading of it, made by
 * the analyzer's own decode, so SQL over the archive groups by exactly what the counters count.
 */
import { type ArchiveColumn, columnName } from "../../catalog/archive";
import { formatUnits } from "../../catalog/decimal";
import type { AnalyzerRules } from "../../catalog/rules";
import type { BatchRecord } from "../analyzer/aggregate";
import { bucketStart, type Decoded, parseTimestamp } from "../analyzer/decode";

/** A row as written: every column present, null where the record has no value. */
export type ArchiveRow = Record<string, string | null>;

const iso = (ms: number) => new Date(ms).toISOString();

// With the u flag a well-formed pair is one code point: only lone surrogates match.
const LONE_SURROGATE = /\p{Surrogate}/gu;
/**
 * Text as SQL engines take it: a lone surrogate (half an emoji cut off by a message, or escaped in
 * an event) would be written as `\ud83d`, which DuckDB refuses for the whole object; U+FFFD stands
 * in for it, as a UTF-8 decoder would.
 */
const wellFormed = (text: string): string => text.replace(LONE_SURROGATE, "\ufffd");
const day = (isoTime: string) => isoTime.slice(0, 10);

/** What a rejected line still tells: its type and time fields, when it is a JSON object that has them. */
function rejectedReading(line: string | undefined, rules: AnalyzerRules): { eventType: string | null; eventTime: string | null } {
  let event: unknown;
  try {
    event = line === undefined ? undefined : JSON.parse(line);
  } catch {
    event = undefined;
  }
  if (event === null || typeof event !== "object" || Array.isArray(event)) return { eventType: null, eventTime: null };
  const fields = event as Record<string, unknown>;
  const type = fields[rules.typeField];
  const time = parseTimestamp(fields[rules.timeField]);
  return { eventType: typeof type === "string" ? type : null, eventTime: Number.isNaN(time) || Math.abs(time) > 8.64e15 ? null : iso(time) };
}

/**
 * The row for one record and the day partition it goes to: its bucket's day when counted (so a
 * query over a range of buckets reads that range's days), else its arrival's.
 */
export function archiveRow(record: BatchRecord, decoded: Decoded, rules: AnalyzerRules, columns: readonly ArchiveColumn[]): { row: ArchiveRow; day: string } {
  const row: ArchiveRow = {};
  for (const c of columns) row[c.name] = null;
  // The decode's own text: none when the data wasn't base64 of UTF-8.
  const line = decoded.text;
  const arrival = iso(record.arrivalMs);
  row.shard_id = record.shardId;
  row.sequence_number = record.sequenceNumber;
  row.arrival_time = arrival;
  row.arrival_bucket = iso(bucketStart(record.arrivalMs, rules.bucketSeconds));
  row.line = line ?? null;
  row.data_base64 = line === undefined ? record.data : null;
  if (!decoded.ok) {
    const reading = rejectedReading(line, rules);
    row.event_type = reading.eventType === null ? null : wellFormed(reading.eventType);
    row.event_time = reading.eventTime;
    row.reject_reason = decoded.reason;
    row.reject_detail = wellFormed(decoded.detail);
    return { row, day: day(arrival) };
  }
  const bucket = iso(decoded.contributions[0].bucketMs);
  row.event_type = decoded.eventType;
  row.event_time = iso(decoded.timeMs);
  row.bucket = bucket;
  for (const c of decoded.contributions) {
    for (let i = 0; i < c.rule.dimensions.length; i++) row[columnName(c.rule.dimensions[i])] = c.dimensionValues[i];
    if (c.rule.sum !== undefined) row[columnName(c.rule.sum)] = formatUnits(c.sum, c.rule.sumDecimals);
  }
  return { row, day: day(bucket) };
}
