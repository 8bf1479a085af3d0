/**
 * What the two functions derive from a catalog, as plain data they can look up per record:
 * the analyzer's counter rules per event type, the forwarder's CloudWatch names per metric.
 */
import {
  type Catalog,
  COUNTED_METRIC,
  countMetricName,
  DEFAULT_SUM_DECIMALS,
  type DimensionDef,
  dimensionNames,
  GRANULARITY_SECONDS,
  type Granularity,
  metricEntries,
  OVERFLOW_DIMENSION,
  OVERFLOW_METRIC,
  PIPELINE_METRICS,
  REJECTED_DIMENSION,
  REJECTED_METRIC,
  sumMetricName,
  type Unit,
} from "./schema";

/** How one dimension's values are bounded: a fixed set, or the first `maxValues` distinct values seen. */
export type DimensionBound = { readonly values: ReadonlySet<string> } | { readonly maxValues: number };

export const dimensionBound = (def: DimensionDef): DimensionBound => (def.values !== undefined ? { values: new Set(def.values) } : { maxValues: def.maxValues });

/** One counter an event feeds: the total (no dimensions) or a per-dimension split. */
export interface CounterRule {
  readonly metric: string;
  readonly dimensions: readonly string[];
  /** Each dimension's bound, parallel to `dimensions`. */
  readonly bounds: readonly DimensionBound[];
  readonly sum?: string;
  /** Decimal places of the summed amounts (units of a sum are 10^-sumDecimals). */
  readonly sumDecimals: number;
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
  /** Values counted under OVERFLOW_VALUE, total and per `<metric>.<field>`. */
  readonly overflow: CounterRule;
  readonly overflowByDimension: CounterRule;
}

const pipelineRule = (metric: string, dimensions: readonly string[] = []): CounterRule => ({
  metric,
  dimensions,
  bounds: dimensions.map(() => ({ maxValues: Number.POSITIVE_INFINITY })),
  sumDecimals: 0,
});

export function analyzerRules(options: { catalog: Catalog; granularity: Granularity }): AnalyzerRules {
  const { catalog } = options;
  const byEvent: Record<string, CounterRule[]> = Object.create(null);
  for (const [metricId, metric] of metricEntries(catalog)) {
    const dimensions = dimensionNames(metric);
    const sumDecimals = metric.sumDecimals ?? DEFAULT_SUM_DECIMALS;
    const rules = (byEvent[metric.event] ??= []);
    rules.push({ metric: metricId, dimensions: [], bounds: [], sum: metric.sum, sumDecimals });
    if (dimensions.length > 0) {
      const bounds = dimensions.map((d) => dimensionBound(metric.dimensions![d]));
      rules.push({ metric: metricId, dimensions, bounds, sum: metric.sum, sumDecimals });
    }
  }
  return {
    namespace: catalog.namespace,
    typeField: catalog.events.typeField,
    timeField: catalog.events.timeField,
    bucketSeconds: GRANULARITY_SECONDS[options.granularity],
    byEvent,
    // The pipeline's own dimension values come from the code, never from events: unbounded is safe.
    counted: pipelineRule(COUNTED_METRIC),
    rejected: pipelineRule(REJECTED_METRIC),
    rejectedByReason: pipelineRule(REJECTED_METRIC, [REJECTED_DIMENSION]),
    overflow: pipelineRule(OVERFLOW_METRIC),
    overflowByDimension: pipelineRule(OVERFLOW_METRIC, [OVERFLOW_DIMENSION]),
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
