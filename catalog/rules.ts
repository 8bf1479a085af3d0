/**
 * What the two functions derive from a catalog, as plain data they can look up per record:
 * the analyzer's counter rules per event type, the forwarder's CloudWatch names per metric.
 */
import {
  type Catalog,
  COUNTED_METRIC,
  countMetricName,
  GRANULARITY_SECONDS,
  type Granularity,
  metricEntries,
  PIPELINE_METRICS,
  REJECTED_DIMENSION,
  REJECTED_METRIC,
  sumMetricName,
  type Unit,
} from "./schema";

/** One counter an event feeds: the total (no dimensions) or a per-dimension split. */
export interface CounterRule {
  readonly metric: string;
  readonly dimensions: readonly string[];
  readonly sum?: string;
}

export interface AnalyzerRules {
  readonly namespace: string;
  readonly typeField: string;
  readonly timeField: string;
  readonly bucketSeconds: number;
  /** Event type → counters it feeds. A null-prototype object: no `__proto__` surprises. */
  readonly byEvent: Readonly<Record<string, readonly CounterRule[]>>;
  /** The pipeline's own counters. */
  readonly counted: CounterRule;
  readonly rejected: CounterRule;
  readonly rejectedByReason: CounterRule;
}

export function analyzerRules(options: { catalog: Catalog; granularity: Granularity }): AnalyzerRules {
  const { catalog } = options;
  const byEvent: Record<string, CounterRule[]> = Object.create(null);
  for (const [metricId, metric] of metricEntries(catalog)) {
    const dimensions = metric.dimensions ?? [];
    const rules = (byEvent[metric.event] ??= []);
    rules.push({ metric: metricId, dimensions: [], sum: metric.sum });
    if (dimensions.length > 0) rules.push({ metric: metricId, dimensions, sum: metric.sum });
  }
  return {
    namespace: catalog.namespace,
    typeField: catalog.events.typeField,
    timeField: catalog.events.timeField,
    bucketSeconds: GRANULARITY_SECONDS[options.granularity],
    byEvent,
    counted: { metric: COUNTED_METRIC, dimensions: [] },
    rejected: { metric: REJECTED_METRIC, dimensions: [] },
    rejectedByReason: { metric: REJECTED_METRIC, dimensions: [REJECTED_DIMENSION] },
  };
}

/** The CloudWatch series a counter item feeds. */
export interface MetricSeries {
  readonly count: string;
  readonly sum?: string;
  readonly sumUnit: Unit;
}

export interface ForwarderRules {
  readonly namespace: string;
  /** Counter metric id → its CloudWatch series. A null-prototype object. */
  readonly metrics: Readonly<Record<string, MetricSeries>>;
}

export function forwarderRules(catalog: Catalog): ForwarderRules {
  const metrics: Record<string, MetricSeries> = Object.create(null);
  for (const [id, metric] of metricEntries(catalog)) {
    metrics[id] = { count: countMetricName(id), sum: metric.sum === undefined ? undefined : sumMetricName(id, metric), sumUnit: metric.sumUnit ?? "None" };
  }
  for (const name of PIPELINE_METRICS) metrics[name] = { count: name, sumUnit: "None" };
  return { namespace: catalog.namespace, metrics };
}
