import { isUtf8 } from "node:buffer";
import { MAX_UNITS, toUnits } from "../../catalog/decimal";
import { CAPPED_VALUE_LENGTH, WINDOWS } from "../../catalog/limits";
import type { AnalyzerRules, CounterRule } from "../../catalog/rules";
import { MISSING_VALUE, OVERFLOW_VALUE, type RejectReason } from "../../catalog/schema";

export { REJECT_REASONS, type RejectReason } from "../../catalog/schema";

/** One counter a record adds to. */
export interface Contribution {
  readonly rule: CounterRule;
  readonly dimensionValues: readonly string[];
  /** Bucket start, epoch ms. */
  readonly bucketMs: number;
  /** The amount in units of 10^-rule.sumDecimals; 0n when the rule sums nothing. */
  readonly sum: bigint;
}

/** A capped dimension's value the gate hasn't decided on yet. */
export interface Undecided {
  readonly metric: string;
  readonly field: string;
  readonly value: string;
  readonly maxValues: number;
}

/**
 * Decides capped dimensions' values: true when the value is one of the first `maxValues` distinct
 * ones, false when it came after, undefined when it doesn't know yet (the caller asks the
 * registry and decodes again). A decision never changes, so a redelivered record is counted
 * under the same value.
 */
export interface DimensionGate {
  admitted(metric: string, field: string, value: string, maxValues: number): boolean | undefined;
}

/** A gate that keeps the first `maxValues` distinct values it is asked about: one process's view. */
export function memoryGate(): DimensionGate {
  const kept = new Map<string, Set<string>>();
  return {
    admitted(metric, field, value, maxValues) {
      const key = `${metric}.${field}`;
      let values = kept.get(key);
      if (values === undefined) kept.set(key, (values = new Set()));
      if (values.has(value)) return true;
      if (values.size >= maxValues) return false;
      values.add(value);
      return true;
    },
  };
}

export type Decoded =
  | {
      readonly ok: true;
      /** The record's data as text. */
      readonly text: string;
      readonly eventType: string;
      /** The event's own instant, epoch ms. */
      readonly timeMs: number;
      readonly contributions: readonly Contribution[];
      /** `<metric>.<field>` of each dimension counted under OVERFLOW_VALUE. */
      readonly overflowed: readonly string[];
      readonly undecided: readonly Undecided[];
    }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      readonly detail: string;
      /** The record's data as text, once it decoded as base64 of UTF-8. */
      readonly text?: string;
    };

const NONE: string[] = Object.freeze([]) as unknown as string[];

const reject = (reason: RejectReason, detail: string, text?: string): Decoded => (text === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, text });

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Reads `n` decimal digits at `at`, or -1. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Epoch ms of an ISO 8601 date-time (`YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH[:]MM]`; no zone
 * means UTC, where JavaScript's Date.parse would take local time) or of epoch milliseconds;
 * NaN if neither. Hand-rolled: it runs once per record on the hot path.
 */
export function parseTimestamp(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string") return Number.NaN;
  const s = value;
  if (s.length < 16 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58) return Number.NaN; // - - :
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return Number.NaN; // T t space
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return Number.NaN;
  if (day > (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1])) return Number.NaN;
  let i = 16;
  let second = 0;
  let ms = 0;
  if (s.charCodeAt(i) === 58) {
    second = digits(s, i + 1, 2);
    if (second < 0 || second > 59) return Number.NaN;
    i += 3;
    const dot = s.charCodeAt(i);
    if (dot === 46 || dot === 44) {
      let scale = 100;
      let n = 0;
      for (i += 1; i < s.length; i++, n++) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        ms += c * scale;
        scale /= 10;
      }
      if (n === 0 || n > 9) return Number.NaN;
      ms = Math.floor(ms);
    }
  }
  let offsetMinutes = 0;
  if (i < s.length) {
    const z = s.charCodeAt(i);
    if ((z === 90 || z === 122) && i + 1 === s.length) {
      // Z
    } else if (z === 43 || z === 45) {
      const hh = digits(s, i + 1, 2);
      const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
      const rest = s.length - (i + 3 + colon);
      const mm = rest === 0 ? 0 : rest === 2 ? digits(s, i + 3 + colon, 2) : -1;
      if (hh < 0 || mm < 0 || mm > 59 || (rest === 0 && colon === 1) || hh * 60 + mm > 18 * 60) return Number.NaN;
      offsetMinutes = (z === 45 ? -1 : 1) * (hh * 60 + mm);
    } else {
      return Number.NaN;
    }
  }
  return (daysFromCivil(year, month, day) * 1440 + hour * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + ms;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm): Date.UTC without its call. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export const bucketStart = (epochMs: number, bucketSeconds: number): number =>
  Math.floor(epochMs / (bucketSeconds * 1000)) * bucketSeconds * 1000;

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The value a counter is kept under for one dimension of an event: the event's own when it is
 * allowed (or within the cap), MISSING_VALUE when the event lacks it, OVERFLOW_VALUE otherwise:
 * not a string, over CloudWatch's 1,024 characters (256 for a capped dimension, whose kept values
 * share one item), not well-formed UTF-16 (DynamoDB refuses lone surrogates), one of the two
 * reserved values, or past the bound.
 */
function dimensionValue(rule: CounterRule, i: number, raw: unknown, gate: DimensionGate, undecided: Undecided[]): string {
  if (raw === undefined || raw === null || raw === "") return MISSING_VALUE;
  if (typeof raw !== "string" || raw.length > 1024 || LONE_SURROGATE.test(raw) || raw === MISSING_VALUE || raw === OVERFLOW_VALUE) return OVERFLOW_VALUE;
  const bound = rule.bounds[i];
  if ("values" in bound) return bound.values.has(raw) ? raw : OVERFLOW_VALUE;
  if (raw.length > CAPPED_VALUE_LENGTH) return OVERFLOW_VALUE;
  const admitted = gate.admitted(rule.metric, rule.dimensions[i], raw, bound.maxValues);
  if (admitted === undefined) undecided.push({ metric: rule.metric, field: rule.dimensions[i], value: raw, maxValues: bound.maxValues });
  return admitted === false ? OVERFLOW_VALUE : raw;
}

/**
 * Decodes one Kinesis record's data (base64 of UTF-8 JSON) and validates it against the
 * catalog's rules. `judgedAtMs` (the record's arrival) anchors the accepted time window, so a
 * redelivered record is judged the same way every time.
 */
export function decodeRecord(data: string, rules: AnalyzerRules, judgedAtMs: number, gate: DimensionGate): Decoded {
  // Buffer.from skips characters that aren't base64, so a short result means a bad input.
  const bytes = Buffer.from(data, "base64");
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  if (data.length % 4 !== 0 || bytes.length !== (data.length / 4) * 3 - padding) return reject("bad_base64", "data is not valid base64");
  if (!isUtf8(bytes)) return reject("bad_utf8", "data is not valid UTF-8");
  const text = bytes.toString("utf8");
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (error) {
    return reject("not_json", (error as Error).message, text);
  }
  if (event === null || typeof event !== "object" || Array.isArray(event)) return reject("not_object", "the event is not a JSON object", text);
  const fields = event as Record<string, unknown>;
  const type = fields[rules.typeField];
  if (type === undefined) return reject("missing_field", rules.typeField, text);
  if (typeof type !== "string") return reject("wrong_type", `${rules.typeField} is ${typeof type}, not string`, text);
  const counters = rules.byEvent[type];
  if (counters === undefined) return reject("unknown_event", type.slice(0, 200), text);
  const rawTime = fields[rules.timeField];
  if (rawTime === undefined) return reject("missing_field", rules.timeField, text);
  if (typeof rawTime !== "string" && typeof rawTime !== "number") return reject("wrong_type", `${rules.timeField} is ${typeof rawTime}`, text);
  const time = parseTimestamp(rawTime);
  if (Number.isNaN(time)) return reject("bad_timestamp", String(rawTime).slice(0, 100), text);
  if (time < judgedAtMs - WINDOWS.countMaxAgeMs || time > judgedAtMs + WINDOWS.countMaxAheadMs) {
    return reject("outside_window", `${new Date(time).toISOString()} is outside 13 days back to 1 h 50 min ahead of arrival, where it could still reach CloudWatch`, text);
  }
  const bucketMs = bucketStart(time, rules.bucketSeconds);
  const contributions: Contribution[] = [];
  // Most records overflow nothing and leave nothing undecided: one shared empty list for them.
  let overflowed: string[] = NONE;
  const undecided: Undecided[] = [];
  let previous: Contribution | undefined;
  for (const rule of counters) {
    let sum = 0n;
    // A metric's total and its split sum the same field: read it once.
    if (rule.sum !== undefined && previous !== undefined && previous.rule.sum === rule.sum && previous.rule.sumDecimals === rule.sumDecimals) {
      sum = previous.sum;
    } else if (rule.sum !== undefined) {
      const value = fields[rule.sum];
      if (value === undefined) return reject("missing_field", rule.sum, text);
      if (typeof value !== "number") return reject("wrong_type", `${rule.sum} is ${typeof value}, not number`, text);
      if (!Number.isFinite(value)) return reject("not_finite", rule.sum, text);
      const units = toUnits(value, rule.sumDecimals);
      if (units === undefined) return reject("bad_amount", `${rule.sum} ${value} has more than ${rule.sumDecimals} decimal places`, text);
      if (units > MAX_UNITS || -units > MAX_UNITS) return reject("bad_amount", `${rule.sum} ${value} is too large for a counter to keep adding up exactly`, text);
      sum = units;
    }
    const dimensionValues: string[] = rule.dimensions.length === 0 ? NONE : [];
    for (let i = 0; i < rule.dimensions.length; i++) {
      const value = dimensionValue(rule, i, fields[rule.dimensions[i]], gate, undecided);
      if (value === OVERFLOW_VALUE) (overflowed === NONE ? (overflowed = []) : overflowed).push(`${rule.metric}.${rule.dimensions[i]}`);
      dimensionValues.push(value);
    }
    previous = { rule, dimensionValues, bucketMs, sum };
    contributions.push(previous);
  }
  return { ok: true, text, eventType: type, timeMs: time, contributions, overflowed, undecided };
}
