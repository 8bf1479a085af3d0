import { type Catalog, countMetricName, GRANULARITIES, GRANULARITY_SECONDS, type Granularity, metricEntries, PIPELINE_METRICS, sumMetricName } from "./schema";

/** CloudWatch's hard limits, checked before anything deploys. */
export const LIMITS = {
  datumsPerPut: 1000,
  bytesPerPut: 1_000_000,
  dimensionsPerMetric: 30,
  widgetsPerDashboard: 500,
  metricsPerGraph: 500,
  alarmWindowSeconds: 86_400,
  actionsPerAlarm: 5,
  metricsPerMathAlarm: 10,
  nameLength: 255,
  /** CloudWatch accepts datapoints from 14 days back to 2 hours ahead. */
  datapointMaxAgeMs: 14 * 24 * 3600 * 1000,
  datapointMaxAheadMs: 2 * 3600 * 1000,
} as const;

export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CatalogError";
  }
}

const METRIC_ID = /^[A-Za-z][A-Za-z0-9_]*$/;
const RESERVED_SUBJECTS = new Set(["analyzer", "forwarder", "table", "stream"]);

/**
 * Every problem of a catalog at a granularity, each naming the metric and the fix; empty when
 * it is sound.
 */
export function catalogProblems(catalog: Catalog, options: { granularity: Granularity }): string[] {
  const problems: string[] = [];
  if (!GRANULARITIES.includes(options.granularity)) return [`granularity "${options.granularity}": use ${GRANULARITIES.join(" or ")}`];
  const bucketSeconds = GRANULARITY_SECONDS[options.granularity];
  if (!catalog.namespace || catalog.namespace.startsWith("AWS/") || catalog.namespace.length > LIMITS.nameLength) {
    problems.push(`namespace "${catalog.namespace}": must be 1-255 characters and must not start with "AWS/"`);
  }
  const { typeField, timeField } = catalog.events;
  if (!typeField || !timeField || typeField === timeField) {
    problems.push(`events: typeField and timeField must be two different, non-empty field names`);
  }
  const entries = metricEntries(catalog);
  if (entries.length === 0) problems.push("metrics: the catalog has no metric; add at least one");
  const metricNames = new Map<string, string>();
  const claim = (name: string, metricId: string) => {
    const owner = metricNames.get(name);
    if (owner !== undefined) problems.push(`metric "${metricId}": CloudWatch metric name "${name}" is also produced by "${owner}"; rename one`);
    metricNames.set(name, metricId);
  };
  for (const name of PIPELINE_METRICS) claim(name, "(pipeline)");
  for (const [id, metric] of entries) {
    const where = `metric "${id}"`;
    if (!METRIC_ID.test(id)) problems.push(`${where}: ids are letters, digits and _ and start with a letter`);
    if (RESERVED_SUBJECTS.has(id)) problems.push(`${where}: the id is reserved for a pipeline-health alarm; rename it`);
    claim(countMetricName(id), id);
    if (metric.sum !== undefined) claim(sumMetricName(id, metric), id);
    if (typeof metric.event !== "string" || metric.event === "") problems.push(`${where}: event must be a non-empty event type`);
    if (!metric.label) problems.push(`${where}: label must be non-empty (it titles the widget)`);
    const dimensions = metric.dimensions ?? [];
    if (dimensions.length > LIMITS.dimensionsPerMetric) {
      problems.push(`${where}: ${dimensions.length} dimensions, CloudWatch allows ${LIMITS.dimensionsPerMetric} per metric`);
    }
    if (new Set(dimensions).size !== dimensions.length) problems.push(`${where}: a dimension is listed twice`);
    for (const field of [...dimensions, ...(metric.sum !== undefined ? [metric.sum] : [])]) {
      if (!field || field === typeField || field === timeField) {
        problems.push(`${where}: field "${field}" must be non-empty and not the event type or time field`);
      }
    }
    for (const [alarmName, alarm] of Object.entries(metric.alarms ?? {})) {
      const at = `${where} alarm "${alarmName}"`;
      const period = alarm.periodSeconds ?? bucketSeconds;
      const bounds = [alarm.below, alarm.atOrBelow, alarm.above, alarm.atOrAbove].filter((b) => b !== undefined);
      if (bounds.length !== 1 || !Number.isFinite(bounds[0])) {
        problems.push(`${at}: give exactly one finite bound (below, atOrBelow, above or atOrAbove)`);
      }
      if (alarm.series === "sum" && metric.sum === undefined) problems.push(`${at}: watches the sum but the metric sums no field`);
      problems.push(
        ...windowProblems(at, {
          period,
          evaluationPeriods: alarm.evaluationPeriods,
          datapointsToAlarm: alarm.datapointsToAlarm ?? alarm.evaluationPeriods,
        }),
      );
      if (period % bucketSeconds !== 0) {
        problems.push(
          `${at}: period ${period}s is not a multiple of the ${bucketSeconds}s bucket, so every other period would have no data; use a multiple of ${bucketSeconds}`,
        );
      }
    }
  }
  return problems;
}

/** Problems of one alarm's evaluation window, against CloudWatch's rules. */
export function windowProblems(at: string, w: { period: number; evaluationPeriods: number; datapointsToAlarm: number }): string[] {
  const problems: string[] = [];
  const validPeriod = Number.isInteger(w.period) && (w.period === 10 || w.period === 30 || (w.period > 0 && w.period % 60 === 0));
  if (!validPeriod) problems.push(`${at}: period ${w.period}s must be 10, 30 or a multiple of 60`);
  if (!Number.isInteger(w.evaluationPeriods) || w.evaluationPeriods < 1) {
    problems.push(`${at}: evaluationPeriods must be a whole number of at least 1`);
  }
  if (w.period * w.evaluationPeriods > LIMITS.alarmWindowSeconds) {
    problems.push(
      `${at}: period × evaluationPeriods = ${w.period * w.evaluationPeriods}s exceeds CloudWatch's ${LIMITS.alarmWindowSeconds}s; shorten the period or evaluate fewer periods`,
    );
  }
  if (!Number.isInteger(w.datapointsToAlarm) || w.datapointsToAlarm < 1 || w.datapointsToAlarm > w.evaluationPeriods) {
    problems.push(`${at}: datapointsToAlarm ${w.datapointsToAlarm} must be between 1 and evaluationPeriods (${w.evaluationPeriods})`);
  }
  return problems;
}

/** Throws one error listing every problem, so a user fixes them in one pass. */
export function assertNoProblems(what: string, problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new CatalogError(`${what} has ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
  }
}
