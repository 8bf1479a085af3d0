/**
 * catalog → the live app's page model: its sections, labels, units, dimensions and alarms, the
 * alarms named and thresholded exactly as the monitoring component deploys them.
 */
import type { LiveDimension, LiveMetric, LiveModel } from "../catalog/live";
import { type Catalog, COUNTED_METRIC, dimensionNames, GRANULARITY_SECONDS, type Granularity, metricEntries, MISSING_VALUE, OVERFLOW_VALUE, REJECT_REASONS, REJECTED_DIMENSION, REJECTED_METRIC, sumMetricName } from "../catalog/schema";
import { catalogAlarms } from "./alarms";
import { monitoringPrefix } from "./pipeline";

const SYMBOLS = { LessThanThreshold: "<", LessThanOrEqualToThreshold: "<=", GreaterThanThreshold: ">", GreaterThanOrEqualToThreshold: ">=" } as const;

export function liveModel(o: { catalog: Catalog; stack: string; pipeline: string; granularity: Granularity; thresholds?: Readonly<Record<string, number>> }): LiveModel {
  const alarms = catalogAlarms({ catalog: o.catalog, prefix: monitoringPrefix(o.stack, o.pipeline), granularity: o.granularity, thresholds: o.thresholds });
  const metrics = metricEntries(o.catalog).map(([id, metric]): LiveMetric => {
    const dimensions = dimensionNames(metric).map((name): LiveDimension => {
      const def = metric.dimensions![name];
      return { name, known: [...(def.values ?? []), MISSING_VALUE, OVERFLOW_VALUE], capped: def.values === undefined };
    });
    return {
      id,
      label: metric.label,
      group: metric.group ?? "Events",
      ...(metric.sum === undefined ? {} : { sum: { field: metric.sum, unit: metric.sumUnit ?? "None", decimals: metric.sumDecimals ?? 2 } }),
      dimensions,
      alarms: alarms
        .filter((a) => a.subject === id)
        .map((a) => ({
          name: a.name,
          alarm: a.name.slice(monitoringPrefix(o.stack, o.pipeline).length + id.length + 2),
          series: metric.sum !== undefined && a.metricName === sumMetricName(id, metric) ? "sum" : "count",
          threshold: a.threshold,
          comparison: SYMBOLS[a.comparison],
          periodSeconds: a.period,
          evaluationPeriods: a.evaluationPeriods,
          description: a.description,
        })),
    };
  });
  return {
    stack: o.stack,
    pipeline: o.pipeline,
    namespace: o.catalog.namespace,
    bucketSeconds: GRANULARITY_SECONDS[o.granularity],
    metrics,
    health: { counted: COUNTED_METRIC, rejected: REJECTED_METRIC, rejectedBy: REJECTED_DIMENSION, reasons: [...REJECT_REASONS] },
  };
}
