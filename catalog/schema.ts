/**
 * The typed metric catalog: the one source of truth for what the analyzer counts, what
 * the forwarder sends to CloudWatch, what the dashboards show and what alarms watch.
 * A catalog is plain data (it is embedded in each function bundle as JSON).
 */

export type Unit = "Count" | "None" | "Percent" | "Seconds" | "Milliseconds" | "Bytes";
export type Statistic = "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount";
export type MissingData = "breaching" | "notBreaching" | "ignore" | "missing";

/** How long one counter bucket lasts. A stack setting, resolved once from stack config. */
export type Granularity = "minute" | "hour";
export const GRANULARITIES: readonly Granularity[] = ["minute", "hour"];
export const GRANULARITY_SECONDS: Readonly<Record<Granularity, number>> = { minute: 60, hour: 3600 };

/** Exactly one of the four bounds; the others are `never` so a second one fails to compile. */
export type Bound =
  | { readonly below: number; readonly atOrBelow?: never; readonly above?: never; readonly atOrAbove?: never }
  | { readonly atOrBelow: number; readonly below?: never; readonly above?: never; readonly atOrAbove?: never }
  | { readonly above: number; readonly below?: never; readonly atOrBelow?: never; readonly atOrAbove?: never }
  | { readonly atOrAbove: number; readonly below?: never; readonly atOrBelow?: never; readonly above?: never };

export type AlarmDef = Bound & {
  /** Which series of the metric the alarm watches. @default "count" */
  readonly series?: "count" | "sum";
  /** @default "Sum" */
  readonly statistic?: Statistic;
  /** One datapoint per period. @default one bucket of the stack's granularity, so the alarm follows it */
  readonly periodSeconds?: number;
  readonly evaluationPeriods: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default "missing" */
  readonly missingData?: MissingData;
  readonly description?: string;
};

/**
 * The values a dimension may take. Values come from untrusted events, and each distinct value
 * is a paid CloudWatch series and a line on a chart, so every dimension is bounded: either the
 * allowed values are listed, or the first `maxValues` distinct values seen are kept. Anything
 * else is counted under OVERFLOW_VALUE.
 */
export type DimensionDef =
  | { readonly values: readonly string[]; readonly maxValues?: never }
  | { readonly maxValues: number; readonly values?: never };

/** The value an event without the dimension (absent, null or "") is counted under. */
export const MISSING_VALUE = "(none)";
/** The value an event is counted under when its value isn't allowed, or past the cap. */
export const OVERFLOW_VALUE = "(other)";

export interface MetricDef {
  /** The value of the event type field that this metric counts. */
  readonly event: string;
  readonly label: string;
  /** Dashboard section. @default "Events" */
  readonly group?: string;
  /** Unit of the summed field. @default "None" */
  readonly sumUnit?: Unit;
  /** A numeric field of the event to sum beside the count. */
  readonly sum?: string;
  /**
   * Decimal places an amount may have. Sums are exact decimals, so an amount with more places
   * (or too large to keep the item's sum within DynamoDB's 38 digits) is rejected as bad_amount.
   * @default 2
   */
  readonly sumDecimals?: number;
  /**
   * Event fields that split the counter, each bounded; a total without dimensions is always
   * kept too. Their order here is the order of the counter key.
   */
  readonly dimensions?: { readonly [field: string]: DimensionDef };
  readonly alarms?: { readonly [alarmName: string]: AlarmDef };
}

export interface Catalog {
  /** CloudWatch namespace of every custom metric; unique per pipeline within a stack. */
  readonly namespace: string;
  readonly events: { readonly typeField: string; readonly timeField: string };
  readonly metrics: { readonly [metricId: string]: MetricDef };
}

/** Keeps the literal types of a catalog while checking it against the schema. */
export function defineCatalog<const C extends Catalog>(def: C): C {
  return def;
}

/** The metric every rejected record is counted in, total and per `reason`. */
export const REJECTED_METRIC = "RejectedRecords";
/** The metric every counted record is counted in once, so received = counted + rejected can be checked. */
export const COUNTED_METRIC = "CountedRecords";
export const REJECTED_DIMENSION = "reason";
/** Every reason a record is rejected for: each is a RejectedRecords series of its own. */
export const REJECT_REASONS = [
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
  "bad_amount",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
/** The metric every value counted under OVERFLOW_VALUE is counted in, total and per `dimension` (`<metric>.<field>`). */
export const OVERFLOW_METRIC = "DimensionOverflow";
export const OVERFLOW_DIMENSION = "dimension";
/** The reconciler's own metrics, in the catalog's namespace beside the series it corrects. */
export const RECONCILER_METRICS = {
  /** Series-buckets corrected in a run. */
  corrections: "ReconcilerCorrections",
  /** Counters left for a later run because the analyzer changed them too recently. */
  unsettled: "ReconcilerUnsettled",
} as const;

/** The pipeline's own counters, kept beside the catalog's in the same table and namespace. */
export const PIPELINE_METRICS: readonly string[] = [COUNTED_METRIC, REJECTED_METRIC, OVERFLOW_METRIC];

/** @see MetricDef.sumDecimals */
export const DEFAULT_SUM_DECIMALS = 2;

/** A metric's dimension fields in key order. */
export const dimensionNames = (metric: MetricDef): string[] => Object.keys(metric.dimensions ?? {});

/** CloudWatch metric names for a catalog metric's two series. */
export const countMetricName = (metricId: string): string => metricId;
export const sumMetricName = (metricId: string, metric: MetricDef): string =>
  `${metricId}${metric.sum ? metric.sum.charAt(0).toUpperCase() + metric.sum.slice(1) : "Sum"}`;

/** A catalog's metrics as typed entries (the index signature hides MetricDef from Object.entries on literal catalogs). */
export const metricEntries = (catalog: Catalog): [string, MetricDef][] => Object.entries(catalog.metrics);
