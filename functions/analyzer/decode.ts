import type { AnalyzerRules, CounterRule } from "../../dashboards/rules";

export type RejectReason =
  | "bad_base64"
  | "bad_utf8"
  | "not_json"
  | "not_object"
  | "missing_field"
  | "wrong_type"
  | "bad_timestamp"
  | "outside_window"
  | "unknown_event"
  | "not_finite";

export const REJECT_REASONS: readonly RejectReason[] = [
  "bad_base64",
  "bad_utf8",
  "not_json",
  "not_object",
  "missing_field",
  "wrong_type",
  "bad_timestamp",
  "outside_window",
  "unknown_event",
  "not_finite",
];

/** CloudWatch accepts datapoints from 14 days back to 2 hours ahead. */
export const WINDOW_BACK_MS = 14 * 24 * 3600 * 1000;
export const WINDOW_AHEAD_MS = 2 * 3600 * 1000;

/** One counter a record adds to. */
export interface Contribution {
  readonly rule: CounterRule;
  readonly dimensionValues: readonly string[];
  /** Bucket start, epoch ms. */
  readonly bucketMs: number;
  readonly sum: number;
}

export type Decoded =
  | { readonly ok: true; readonly contributions: readonly Contribution[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });
// ISO 8601 date-time; no zone means UTC (JavaScript's Date.parse would take it as local time).
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const reject = (reason: RejectReason, detail: string): Decoded => ({ ok: false, reason, detail });

/** Epoch ms of an ISO 8601 string (zone optional, UTC if absent) or of epoch milliseconds; NaN if neither. */
export function parseTimestamp(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string") return Number.NaN;
  const m = ISO.exec(value);
  if (!m) return Number.NaN;
  const [year, month, day, hour, minute, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => (p === undefined ? 0 : Number(p)));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (new Date(utc).getUTCDate() !== day) return Number.NaN; // 2024-02-30 and friends
  const zone = m[8];
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    if (offsetMinutes > 18 * 60) return Number.NaN;
    utc -= sign * offsetMinutes * 60_000;
  }
  return utc;
}

export const bucketStart = (epochMs: number, bucketSeconds: number): number =>
  Math.floor(epochMs / (bucketSeconds * 1000)) * bucketSeconds * 1000;

/**
 * Decodes one Kinesis record's data (base64 of UTF-8 JSON) and validates it against the
 * catalog's rules. `arrivalMs` anchors the accepted time window, so a redelivered record is
 * judged the same way every time.
 */
export function decodeRecord(data: string, rules: AnalyzerRules, arrivalMs: number): Decoded {
  if (data.length % 4 !== 0 || !BASE64.test(data)) return reject("bad_base64", "data is not valid base64");
  let text: string;
  try {
    text = utf8.decode(Buffer.from(data, "base64"));
  } catch {
    return reject("bad_utf8", "data is not valid UTF-8");
  }
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (error) {
    return reject("not_json", (error as Error).message);
  }
  if (event === null || typeof event !== "object" || Array.isArray(event)) return reject("not_object", "the event is not a JSON object");
  const fields = event as Record<string, unknown>;
  const type = fields[rules.typeField];
  if (type === undefined) return reject("missing_field", rules.typeField);
  if (typeof type !== "string") return reject("wrong_type", `${rules.typeField} is ${typeof type}, not string`);
  const counters = rules.byEvent[type];
  if (counters === undefined) return reject("unknown_event", type.slice(0, 200));
  const rawTime = fields[rules.timeField];
  if (rawTime === undefined) return reject("missing_field", rules.timeField);
  if (typeof rawTime !== "string" && typeof rawTime !== "number") return reject("wrong_type", `${rules.timeField} is ${typeof rawTime}`);
  const time = parseTimestamp(rawTime);
  if (Number.isNaN(time)) return reject("bad_timestamp", String(rawTime).slice(0, 100));
  if (time < arrivalMs - WINDOW_BACK_MS || time > arrivalMs + WINDOW_AHEAD_MS) {
    return reject("outside_window", `${new Date(time).toISOString()} is outside 14 days back to 2 hours ahead of arrival`);
  }
  const bucketMs = bucketStart(time, rules.bucketSeconds);
  const contributions: Contribution[] = [];
  for (const rule of counters) {
    const dimensionValues: string[] = [];
    for (const dimension of rule.dimensions) {
      const value = fields[dimension];
      if (value === undefined) return reject("missing_field", dimension);
      if (typeof value !== "string" || value === "" || value.length > 1024) {
        return reject("wrong_type", `${dimension} must be a string of 1-1024 characters`);
      }
      dimensionValues.push(value);
    }
    let sum = 0;
    if (rule.sum !== undefined) {
      const value = fields[rule.sum];
      if (value === undefined) return reject("missing_field", rule.sum);
      if (typeof value !== "number") return reject("wrong_type", `${rule.sum} is ${typeof value}, not number`);
      if (!Number.isFinite(value)) return reject("not_finite", rule.sum);
      sum = value;
    }
    contributions.push({ rule, dimensionValues, bucketMs, sum });
  }
  return { ok: true, contributions };
}
