import { type AlarmDef, type Catalog, countMetricName, GRANULARITY_SECONDS, type Granularity, LIMITS, metricEntries, type MissingData, type Statistic, sumMetricName, windowProblems } from "../catalog";

export type Comparison =
  | "LessThanThreshold"
  | "LessThanOrEqualToThreshold"
  | "GreaterThanThreshold"
  | "GreaterThanOrEqualToThreshold";

/**
 * A CloudWatch alarm as plain data: deployed by the monitoring component, evaluated by the
 * local run. Generic over N so resource names may be Pulumi outputs there and strings here.
 */
export interface AlarmSpec<N = string> {
  /** `<stack>-<pipeline>-<subject>-<alarm>`: stable, readable, unique per account and region. */
  readonly name: string;
  readonly kind: "catalog" | "health";
  /** The catalog metric id (catalog alarms) or the watched resource's role (health alarms). */
  readonly subject: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, N>>;
  readonly statistic: Statistic;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly treatMissingData: MissingData;
}

export function boundOf(def: AlarmDef): { threshold: number; comparison: Comparison } {
  if (def.below !== undefined) return { threshold: def.below, comparison: "LessThanThreshold" };
  if (def.atOrBelow !== undefined) return { threshold: def.atOrBelow, comparison: "LessThanOrEqualToThreshold" };
  if (def.above !== undefined) return { threshold: def.above, comparison: "GreaterThanThreshold" };
  return { threshold: def.atOrAbove, comparison: "GreaterThanOrEqualToThreshold" };
}

/** How stack config names one catalog alarm: `<metricId>.<alarmName>`. */
export const alarmKey = (metricId: string, alarmName: string): string => `${metricId}.${alarmName}`;

export interface CatalogAlarmOptions {
  readonly catalog: Catalog;
  /** `<stack>-<pipeline>`: the start of every alarm name. */
  readonly prefix: string;
  readonly granularity: Granularity;
  /** Overrides of catalog thresholds, keyed by `alarmKey`. */
  readonly thresholds?: Readonly<Record<string, number>>;
}

/** The catalog's threshold alarms, thresholds overridden where the stack says so. */
export function catalogAlarms(options: CatalogAlarmOptions): AlarmSpec<never>[] {
  const { catalog, prefix, thresholds = {} } = options;
  const bucketSeconds = GRANULARITY_SECONDS[options.granularity];
  const specs: AlarmSpec<never>[] = [];
  for (const [metricId, metric] of metricEntries(catalog)) {
    for (const [alarmName, def] of Object.entries(metric.alarms ?? {})) {
      const bound = boundOf(def);
      specs.push({
        name: `${prefix}-${metricId}-${alarmName}`,
        kind: "catalog",
        subject: metricId,
        description: def.description ?? `${metric.label}: ${alarmName}`,
        namespace: catalog.namespace,
        metricName: (def.series ?? "count") === "sum" ? sumMetricName(metricId, metric) : countMetricName(metricId),
        dimensions: {},
        statistic: def.statistic ?? "Sum",
        period: def.periodSeconds ?? bucketSeconds,
        evaluationPeriods: def.evaluationPeriods,
        datapointsToAlarm: def.datapointsToAlarm ?? def.evaluationPeriods,
        threshold: thresholds[alarmKey(metricId, alarmName)] ?? bound.threshold,
        comparison: bound.comparison,
        treatMissingData: def.missingData ?? "missing",
      });
    }
  }
  return specs;
}

/** Problems of the alarms as they will deploy (names, windows, actions). */
export function alarmProblems<N>(alarms: readonly AlarmSpec<N>[], options: { actions: number }): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const alarm of alarms) {
    const at = `alarm "${alarm.name}" (metric ${alarm.metricName})`;
    if (seen.has(alarm.name)) problems.push(`${at}: the name is generated twice; rename the metric or the alarm`);
    seen.add(alarm.name);
    if (alarm.name.length > LIMITS.nameLength) problems.push(`${at}: the name is longer than ${LIMITS.nameLength} characters`);
    if (!Number.isFinite(alarm.threshold)) problems.push(`${at}: threshold must be a finite number`);
    problems.push(...windowProblems(at, alarm));
    if (options.actions > LIMITS.actionsPerAlarm) {
      problems.push(`${at}: ${options.actions} actions, CloudWatch allows ${LIMITS.actionsPerAlarm} per alarm state`);
    }
  }
  return problems;
}
