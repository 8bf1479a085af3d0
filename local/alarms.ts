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

/** Evaluates one alarm at the end of every period from `from` to `to` (epoch ms). */
export function evaluateAlarm(spec: AlarmSpec, store: MetricStore, window: { from: number; to: number }): EvaluatedAlarm {
  const periodMs = spec.period * 1000;
  const series = store.series({ namespace: spec.namespace, metricName: spec.metricName, dimensions: spec.dimensions, stat: spec.statistic as Stat, period: spec.period });
  let state: AlarmState = "INSUFFICIENT_DATA";
  let changedAt: string | null = null;
  const history: AlarmTransition[] = [];
  const first = Math.floor(window.from / periodMs) * periodMs;
  for (let end = first + periodMs; end <= window.to + periodMs; end += periodMs) {
    const evaluated: (number | undefined)[] = [];
    for (let k = spec.evaluationPeriods; k >= 1; k--) evaluated.push(series.points.get(end - k * periodMs));
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
        reason: `Threshold Crossed: ${breaching} out of the last ${spec.evaluationPeriods} datapoints [${shown}] were ${next === "ALARM" ? "" : "not "}${SYMBOL[spec.comparison]} the threshold (${spec.threshold}) (minimum ${spec.datapointsToAlarm} datapoint(s) for OK -> ALARM transition; missing data treated as ${spec.treatMissingData}).`,
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
