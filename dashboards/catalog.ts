/**
 * The typed metric catalog: the one source of truth for what the analyzer counts, what
 * the forwarder sends to CloudWatch, what the dashboards show and what alarms watch.
 */

export type Unit = "Count" | "None" | "Percent" | "Seconds" | "Milliseconds" | "Bytes";
export type Statistic = "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount";
export type MissingData = "breaching" | "notBreaching" | "ignore" | "missing";
export type Bucket = "minute" | "hour";

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
  /** One datapoint per period. @default the bucket (60 for minute, 3600 for hour), so the alarm follows the bucket setting */
  readonly periodSeconds?: number;
  readonly evaluationPeriods: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default "missing" */
  readonly missingData?: MissingData;
  readonly description?: string;
};

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
  /** Event fields that split the counter; a total without dimensions is always kept too. */
  readonly dimensions?: readonly string[];
  readonly alarms?: { readonly [alarmName: string]: AlarmDef };
}

export interface CatalogDef {
  /** CloudWatch namespace of every custom metric. */
  readonly namespace: string;
  readonly events: { readonly typeField: string; readonly timeField: string };
  /** @default "minute" */
  readonly bucket?: Bucket;
  readonly metrics: { readonly [metricId: string]: MetricDef };
}

export interface Catalog extends CatalogDef {
  readonly bucket: Bucket;
}

/** Keeps the literal types of a catalog while checking it against the schema. */
export function defineCatalog<const C extends CatalogDef>(def: C): C & Catalog {
  return { ...def, bucket: def.bucket ?? "minute" };
}

/** The metric every rejected record is counted in, total and per `reason`. */
export const REJECTED_METRIC = "RejectedRecords";
/** The metric every counted record is counted in once, so received = counted + rejected can be checked. */
export const COUNTED_METRIC = "CountedRecords";
export const REJECTED_DIMENSION = "reason";

/** CloudWatch metric names for a catalog metric's two series. */
export const countMetricName = (metricId: string): string => metricId;
export const sumMetricName = (metricId: string, metric: MetricDef): string =>
  `${metricId}${metric.sum ? metric.sum.charAt(0).toUpperCase() + metric.sum.slice(1) : "Sum"}`;

export const BUCKET_SECONDS: Record<Bucket, number> = { minute: 60, hour: 3600 };

/**
 * The shipped catalog: the reference designs' events, so a fresh deploy shows something
 * real. Thresholds here are defaults; stack config may override them.
 */
export const catalog = defineCatalog({
  namespace: "RealtimeAnalytics",
  events: { typeField: "event_type", timeField: "utc_timestamp" },
  bucket: "minute",
  metrics: {
    pageViews: {
      event: "page view",
      label: "Page views",
      group: "Traffic",
      alarms: {
        low: {
          below: 5,
          evaluationPeriods: 3,
          missingData: "breaching",
          description: "Fewer page views than expected: the site or the producers may be down.",
        },
      },
    },
    clicks: { event: "click", label: "Clicks", group: "Traffic" },
    impressions: { event: "impression", label: "Impressions", group: "Traffic" },
    donations: {
      event: "donation",
      label: "Donations",
      group: "Donations",
      sum: "amount",
      dimensions: ["platform"],
      alarms: {
        stalled: {
          below: 1,
          evaluationPeriods: 15,
          missingData: "breaching",
          description: "No donation for 15 buckets in a row (15 minutes with minute buckets).",
        },
      },
    },
  },
});
