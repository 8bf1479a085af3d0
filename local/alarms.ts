/**
 * Evaluates the deployed alarm definitions on the local metrics with CloudWatch's semantics:
 * a datapoint per period (the alarm's statistic), the last `evaluationPeriods` of them
 * considered at the end of every period, ALARM when at least `datapointsToAlarm` breach, and
 * missing datapoints treated as the alarm says (breaching, notBreaching, ignore or missing).
 */
import type { AlarmSpec, Comparison } from "../dashboards";
import type { MetricStore, Stat } from "./metricStore";

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

export interface AlarmTransition {
  readonly at: string;
  readonly from: AlarmState;
  readonly to: AlarmState;
  readonly reason: string;
}

export interface EvaluatedAlarm {
  readonly name: string;
  readonly kind: AlarmSpec["kind"];
  readonly metric: string;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly state: AlarmState;
  /** When the alarm last changed state (ISO 8601), or null if it never left INSUFFICIENT_DATA. */
  readonly stateChangedAt: string | null;
  readonly history: readonly AlarmTransition[];
}

export function breaches(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case "GreaterThanThreshold":
      return value > threshold;
    case "GreaterThanOrEqualToThreshold":
      return value >= threshold;
    case "LessThanThreshold":
      return value < threshold;
    case "LessThanOrEqualToThreshold":
      return value <= threshold;
  }
}

const SYMBOL: Record<Comparison, string> = {
  GreaterThanThreshold: ">",
  GreaterThanOrEqualToThreshold: ">=",
  LessThanThreshold: "<",
  LessThanOrEqualToThreshold: "<=",
};

const WORDS: Record<Comparison, string> = {
  GreaterThanThreshold: "greater than",
  GreaterThanOrEqualToThreshold: "greater than or equal to",
  LessThanThreshold: "less than",
  LessThanOrEqualToThreshold: "less than or equal to",
};

const MISSING_AS: Record<AlarmSpec["treatMissingData"], string> = { breaching: "Breaching", notBreaching: "NonBreaching", missing: "Missing", ignore: "Ignore" };

/** A number as CloudWatch prints it in a state reason (Java's Double.toString: 462.0, 9.72, 1.5E10). */
export function cloudWatchNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0.0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) return Number.isInteger(value) ? value.toFixed(1) : String(value);
  const [mantissa, exponent] = value.toExponential().split("e");
  return `${mantissa.includes(".") ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** A period start as CloudWatch prints it beside a datapoint: dd/MM/yy HH:mm:ss, UTC. */
export function cloudWatchTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

const datapoints = (n: number) => `${n} datapoint${n === 1 ? "" : "s"}`;
const wasWere = (n: number) => (n === 1 ? "was" : "were");

/**
 * Why an alarm left ALARM or INSUFFICIENT_DATA, worded as CloudWatch words it: the datapoints
 * that did not breach, most recent first, each with its period start; missing ones by how they
 * were treated when they decided it.
 */
function recoveryReason(spec: AlarmSpec, evaluated: readonly { start: number; value: number | undefined }[]): string {
  const present = evaluated.filter((p): p is { start: number; value: number } => p.value !== undefined);
  const clear = present.filter((p) => !breaches(p.value, spec.comparison, spec.threshold)).reverse();
  const missing = evaluated.length - present.length;
  const missingPart = `${missing} missing datapoint${missing === 1 ? "" : "s"} ${wasWere(missing)} treated as [${MISSING_AS[spec.treatMissingData]}]`;
  if (clear.length === 0) {
    const received = present.length === 0 ? "no datapoints were" : `${datapoints(present.length)} ${wasWere(present.length)}`;
    return `Threshold Crossed: ${received} received for ${evaluated.length} period${evaluated.length === 1 ? "" : "s"} and ${missingPart}.`;
  }
  const shown = clear.map((p) => `${cloudWatchNumber(p.value)} (${cloudWatchTime(p.start)})`).join(", ");
  const notBreaching = `Threshold Crossed: ${datapoints(clear.length)} [${shown}] ${wasWere(clear.length)} not ${WORDS[spec.comparison]} the threshold (${cloudWatchNumber(spec.threshold)})`;
  // Missing datapoints helped only when they counted as not breaching.
  return spec.treatMissingData === "notBreaching" && missing > 0 ? `${notBreaching} and ${missingPart}.` : `${notBreaching}.`;
}

/** Evaluates one alarm at the end of every period from `from` to `to` (epoch ms). */
export function evaluateAlarm(spec: AlarmSpec, store: MetricStore, window: { from: number; to: number }): EvaluatedAlarm {
  const periodMs = spec.period * 1000;
  const series = store.series({ namespace: spec.namespace, metricName: spec.metricName, dimensions: spec.dimensions, stat: spec.statistic as Stat, period: spec.period });
  let state: AlarmState = "INSUFFICIENT_DATA";
  let changedAt: string | null = null;
  const history: AlarmTransition[] = [];
  const first = Math.floor(window.from / periodMs) * periodMs;
  for (let end = first + periodMs; end <= window.to + periodMs; end += periodMs) {
    const periods: { start: number; value: number | undefined }[] = [];
    for (let k = spec.evaluationPeriods; k >= 1; k--) periods.push({ start: end - k * periodMs, value: series.points.get(end - k * periodMs) });
    const evaluated = periods.map((p) => p.value);
    const present = evaluated.filter((v): v is number => v !== undefined);
    let breaching = present.filter((v) => breaches(v, spec.comparison, spec.threshold)).length;
    let next: AlarmState;
    const missing = evaluated.length - present.length;
    if (spec.treatMissingData === "breaching") breaching += missing;
    if (present.length === 0 && (spec.treatMissingData === "missing" || spec.treatMissingData === "ignore")) {
      next = spec.treatMissingData === "ignore" ? state : "INSUFFICIENT_DATA";
    } else {
      next = breaching >= spec.datapointsToAlarm ? "ALARM" : "OK";
    }
    if (next !== state) {
      const shown = evaluated.map((v) => (v === undefined ? "missing" : String(Math.round(v * 1000) / 1000))).join(", ");
      const at = new Date(Math.min(end, window.to)).toISOString();
      history.push({
        at,
        from: state,
        to: next,
        reason:
          next === "ALARM"
            ? `Threshold Crossed: ${breaching} out of the last ${spec.evaluationPeriods} datapoints [${shown}] were ${SYMBOL[spec.comparison]} the threshold (${spec.threshold}) (minimum ${spec.datapointsToAlarm} datapoint(s) for OK -> ALARM transition; missing data treated as ${spec.treatMissingData}).`
            : next === "OK"
              ? recoveryReason(spec, periods)
              : `Insufficient Data: ${datapoints(missing)} ${wasWere(missing)} unknown.`,
      });
      state = next;
      changedAt = at;
    }
  }
  return { name: spec.name, kind: spec.kind, metric: `${spec.namespace}/${spec.metricName}`, threshold: spec.threshold, comparison: spec.comparison, state, stateChangedAt: changedAt, history };
}

/** The notification the alarm topic would mail for a transition into ALARM. */
export function alarmEmail(spec: AlarmSpec, transition: AlarmTransition, region: string): string {
  const dims = Object.entries(spec.dimensions).map(([k, v]) => `${k} = ${v}`).join(", ") || "(none)";
  return [
    `Subject: ALARM: "${spec.name}" in ${region}`,
    "",
    `You are receiving this email because your Amazon CloudWatch Alarm "${spec.name}" in the ${region} region has entered the ALARM state,`,
    `because "${transition.reason}" at "${transition.at}".`,
    "",
    "Alarm Details:",
    `- Name:                       ${spec.name}`,
    `- Description:                ${spec.description}`,
    `- State Change:               ${transition.from} -> ${transition.to}`,
    `- Reason for State Change:    ${transition.reason}`,
    `- Timestamp:                  ${transition.at}`,
    "",
    "Threshold:",
    `- The alarm is in the ALARM state when the metric is ${SYMBOL[spec.comparison]} ${spec.threshold} for at least ${spec.datapointsToAlarm} of the last ${spec.evaluationPeriods} period(s) of ${spec.period} seconds.`,
    "",
    "Monitored Metric:",
    `- MetricNamespace:            ${spec.namespace}`,
    `- MetricName:                 ${spec.metricName}`,
    `- Dimensions:                 ${dims}`,
    `- Period:                     ${spec.period} seconds`,
    `- Statistic:                  ${spec.statistic}`,
    `- TreatMissingData:           ${spec.treatMissingData}`,
  ].join("\n");
}
