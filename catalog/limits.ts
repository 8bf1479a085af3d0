import { archiveProblems } from "./archive";
import {
  type Catalog,
  countMetricName,
  type DimensionDef,
  dimensionNames,
  GRANULARITIES,
  GRANULARITY_SECONDS,
  type Granularity,
  metricEntries,
  MISSING_VALUE,
  OVERFLOW_VALUE,
  PIPELINE_METRICS,
  RECONCILER_METRICS,
  REJECT_REASONS,
  sumMetricName,
} from "./schema";

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

/**
 * The windows that line up: what is counted can still be forwarded, and no counter item expires
 * while a record that feeds it can still arrive.
 *
 * An event is counted from 13 days before to 1 h 50 min after its arrival on the stream:
 * CloudWatch's 14 days less a day for delivery. Both functions' mappings give up on a record
 * `maximumRecordAgeSeconds` after it was written, at most 11 hours each, so a counted change is
 * forwarded within 22 hours, inside that day. The ahead side keeps 10 minutes for clock skew.
 */
export const WINDOWS = {
  countMaxAgeMs: 13 * 86_400_000,
  countMaxAheadMs: 110 * 60_000,
  maxRecordAgeSeconds: 11 * 3600,
} as const;

/**
 * The fewest days a counter item must live. A record counted in an item's bucket arrives at most
 * 13 days and one bucket after it starts, and can be re-read from the stream (a retry or a
 * dead-letter replay) for as long as the stream keeps it; a day more absorbs clock skew.
 */
export function minCounterTtlDays(streamRetentionHours: number): number {
  const lastWriteMs = WINDOWS.countMaxAgeMs + 3_600_000 + streamRetentionHours * 3_600_000 + 86_400_000;
  return Math.ceil(lastWriteMs / 86_400_000);
}

export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CatalogError";
  }
}

const METRIC_ID = /^[A-Za-z][A-Za-z0-9_]*$/;
const RESERVED_SUBJECTS = new Set(["analyzer", "forwarder", "table", "stream", "reconciler"]);

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
  for (const name of [...PIPELINE_METRICS, ...Object.values(RECONCILER_METRICS)]) claim(name, "(pipeline)");
  for (const [id, metric] of entries) {
    const where = `metric "${id}"`;
    if (!METRIC_ID.test(id)) problems.push(`${where}: ids are letters, digits and _ and start with a letter`);
    if (RESERVED_SUBJECTS.has(id)) problems.push(`${where}: the id is reserved for a pipeline-health alarm; rename it`);
    claim(countMetricName(id), id);
    if (metric.sum !== undefined) claim(sumMetricName(id, metric), id);
    if (typeof metric.event !== "string" || metric.event === "") problems.push(`${where}: event must be a non-empty event type`);
    if (!metric.label) problems.push(`${where}: label must be non-empty (it titles the widget)`);
    const dimensions = dimensionNames(metric);
    if (dimensions.length > LIMITS.dimensionsPerMetric) {
      problems.push(`${where}: ${dimensions.length} dimensions, CloudWatch allows ${LIMITS.dimensionsPerMetric} per metric`);
    }
    for (const field of dimensions) problems.push(...dimensionProblems(`${where} dimension "${field}"`, metric.dimensions![field]));
    const decimals = metric.sumDecimals;
    if (decimals !== undefined && (metric.sum === undefined || !Number.isInteger(decimals) || decimals < 0 || decimals > MAX_SUM_DECIMALS)) {
      problems.push(`${where}: sumDecimals ${decimals} must be a whole number from 0 to ${MAX_SUM_DECIMALS}, on a metric with a sum`);
    }
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
  problems.push(...archiveProblems(catalog));
  return problems;
}

/** CloudWatch's list price per custom metric series per month (the first 10,000, us-east-1 and eu-west-1). */
export const PRICE_PER_SERIES_MONTH_USD = 0.3;

export interface SeriesEstimate {
  /** The most series the catalog's metrics can produce: totals, and every split value plus (none) and (other). */
  readonly catalog: number;
  /** The pipeline's own: CountedRecords, RejectedRecords per reason, DimensionOverflow per dimension, the reconciler's two. */
  readonly pipeline: number;
  readonly total: number;
  readonly monthlyUsd: number;
}

/**
 * The most custom-metric series a catalog can produce, and what they cost a month if every one
 * of them reports: bounded dimensions make this a number, not a hope.
 */
export function seriesEstimate(catalog: Catalog): SeriesEstimate {
  let catalogSeries = 0;
  let dimensioned = 0;
  for (const [, metric] of metricEntries(catalog)) {
    const fields = Object.values(metric.dimensions ?? {});
    dimensioned += fields.length;
    const splits = fields.length === 0 ? 0 : fields.reduce((n, d) => n * ((d.values?.length ?? d.maxValues ?? 0) + 2), 1);
    catalogSeries += (1 + splits) * (metric.sum === undefined ? 1 : 2);
  }
  const pipeline = 1 + (1 + REJECT_REASONS.length) + (dimensioned === 0 ? 0 : 1 + dimensioned) + Object.keys(RECONCILER_METRICS).length;
  const total = catalogSeries + pipeline;
  return { catalog: catalogSeries, pipeline, total, monthlyUsd: Math.round(total * PRICE_PER_SERIES_MONTH_USD * 100) / 100 };
}

export const describeSeries = (name: string, e: SeriesEstimate): string =>
  `pipeline ${name}: at most ${e.total.toLocaleString("en-US")} custom metric series (${e.catalog} from the catalog, ${e.pipeline} the pipeline's own), $${e.monthlyUsd.toFixed(2)}/month at $${PRICE_PER_SERIES_MONTH_USD} each`;

/** Decimal places a sum may declare: more would leave too few digits for the amounts themselves. */
export const MAX_SUM_DECIMALS = 12;
/**
 * A cap on distinct values above this is no bound at all for a chart or a bill; and the kept
 * values live in one state-table item, which must stay under DynamoDB's 400 KB: 300 values of
 * at most CAPPED_VALUE_LENGTH characters (3 bytes each at worst) take 230 KB.
 */
export const MAX_DIMENSION_VALUES = 300;
/** The longest value a capped dimension keeps; a longer one is counted under (other). */
export const CAPPED_VALUE_LENGTH = 256;

function dimensionProblems(at: string, def: DimensionDef | undefined): string[] {
  if (def === undefined || typeof def !== "object" || (def.values === undefined) === (def.maxValues === undefined)) {
    return [`${at}: declare either its allowed values ({ values: [...] }) or a cap on distinct values ({ maxValues: n })`];
  }
  if (def.maxValues !== undefined) {
    return Number.isInteger(def.maxValues) && def.maxValues >= 1 && def.maxValues <= MAX_DIMENSION_VALUES
      ? []
      : [`${at}: maxValues ${def.maxValues} must be a whole number from 1 to ${MAX_DIMENSION_VALUES}`];
  }
  const problems: string[] = [];
  const values = def.values ?? [];
  if (values.length === 0 || values.length > MAX_DIMENSION_VALUES) problems.push(`${at}: list 1 to ${MAX_DIMENSION_VALUES} allowed values`);
  if (new Set(values).size !== values.length) problems.push(`${at}: an allowed value is listed twice`);
  for (const value of values) {
    if (typeof value !== "string" || value === "" || value.length > 1024 || value === MISSING_VALUE || value === OVERFLOW_VALUE) {
      problems.push(`${at}: allowed value ${JSON.stringify(value)} must be 1-1024 characters and not ${MISSING_VALUE} or ${OVERFLOW_VALUE}, which the pipeline uses`);
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
