import { BUCKET_SECONDS, type Bucket, type Catalog, COUNTED_METRIC, REJECTED_DIMENSION, REJECTED_METRIC } from "./catalog";

/** One counter an event feeds: the total (no dimensions) or a per-dimension split. */
export interface CounterRule {
  readonly metric: string;
  readonly dimensions: readonly string[];
  readonly sum?: string;
}

/** What the analyzer needs from the catalog, as plain data it can look up per record. */
export interface AnalyzerRules {
  readonly namespace: string;
  readonly typeField: string;
  readonly timeField: string;
  readonly bucketSeconds: number;
  /** Event type → counters it feeds. A null-prototype object: no `__proto__` surprises. */
  readonly byEvent: Readonly<Record<string, readonly CounterRule[]>>;
  readonly rejectedMetric: string;
  readonly countedMetric: string;
  readonly rejectedDimension: string;
}

export function analyzerRules(options: { catalog: Catalog; bucket?: Bucket }): AnalyzerRules {
  const { catalog } = options;
  const byEvent: Record<string, CounterRule[]> = Object.create(null);
  for (const [metricId, metric] of Object.entries(catalog.metrics)) {
    const dimensions = metric.dimensions ?? [];
    const rules = (byEvent[metric.event] ??= []);
    rules.push({ metric: metricId, dimensions: [], sum: metric.sum });
    if (dimensions.length > 0) rules.push({ metric: metricId, dimensions, sum: metric.sum });
  }
  return {
    namespace: catalog.namespace,
    typeField: catalog.events.typeField,
    timeField: catalog.events.timeField,
    bucketSeconds: BUCKET_SECONDS[options.bucket ?? catalog.bucket],
    byEvent,
    rejectedMetric: REJECTED_METRIC,
    countedMetric: COUNTED_METRIC,
    rejectedDimension: REJECTED_DIMENSION,
  };
}
