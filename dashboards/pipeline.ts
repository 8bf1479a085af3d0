import { type Catalog, type Granularity } from "../catalog";
import { type AlarmSpec, catalogAlarms } from "./alarms";
import { archiveHealth, functionHealth, type Health, reconcilerHealth, recordsHealth, streamHealth, tableHealth } from "./health";
import { catalogSections, type DashboardBody, packDashboards } from "./widgets";

/** The resources a pipeline's health watches, by name. */
export interface PipelineResources<N> {
  readonly stream: N;
  readonly table: N;
  /** Every stream-fed function, with the role that names its alarms (`analyzer`, `forwarder`, ...). */
  readonly functions: readonly { readonly role: string; readonly functionName: N; readonly dlqName: N }[];
  /** The scheduled function that corrects CloudWatch to the counters. */
  readonly reconciler: { readonly functionName: N };
  /** The raw archive: its Firehose delivery stream, its archiver and its buffer. */
  readonly archive: { readonly deliveryStreamName: N; readonly archiverFunctionName: N; readonly bufferSeconds: number };
}

export interface MonitoringOptions<N> {
  readonly stack: string;
  readonly pipeline: string;
  readonly catalog: Catalog;
  readonly granularity: Granularity;
  /** The region the dashboards' graphs read from. */
  readonly region: string;
  readonly resources: PipelineResources<N>;
  /** Overrides of catalog thresholds, keyed `<metricId>.<alarmName>`. */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** Iterator age (ms) that means a mapping is falling behind. */
  readonly iteratorAgeMs: number;
  /** Rejected records per period that raise the alarm. */
  readonly rejectedThreshold: number;
  /** Minutes between reconciler runs: its health has one datapoint per run. */
  readonly reconcileEveryMinutes: number;
}

export interface Monitoring<N> {
  readonly alarms: AlarmSpec<N>[];
  readonly dashboards: DashboardBody<N>[];
}

/** `<stack>-<pipeline>`: the start of every alarm and dashboard name of one pipeline. */
export const monitoringPrefix = (stack: string, pipeline: string): string => `${stack}-${pipeline}`;

/**
 * Everything a pipeline is watched with: the catalog's alarms and graphs, then each resource's
 * health. The monitoring component deploys it; the local run evaluates and renders it.
 */
export function pipelineMonitoring<N>(o: MonitoringOptions<N>): Monitoring<N> {
  const prefix = monitoringPrefix(o.stack, o.pipeline);
  const own = catalogAlarms({ catalog: o.catalog, prefix, granularity: o.granularity, thresholds: o.thresholds });
  const health: Health<N>[] = [
    streamHealth({ prefix, streamName: o.resources.stream }),
    ...o.resources.functions.map((f) => functionHealth({ prefix, role: f.role, functionName: f.functionName, dlqName: f.dlqName, iteratorAgeMs: o.iteratorAgeMs })),
    tableHealth({ prefix, tableName: o.resources.table }),
    recordsHealth({ prefix, namespace: o.catalog.namespace, granularity: o.granularity, rejectedThreshold: o.rejectedThreshold }),
    reconcilerHealth({ prefix, namespace: o.catalog.namespace, functionName: o.resources.reconciler.functionName, everyMinutes: o.reconcileEveryMinutes }),
    archiveHealth({ prefix, ...o.resources.archive }),
  ];
  const sections = [...catalogSections({ catalog: o.catalog, granularity: o.granularity, alarms: own }), ...health.map((h) => h.section)];
  return {
    alarms: [...own, ...health.flatMap((h) => h.alarms)],
    dashboards: packDashboards({ name: prefix, region: o.region, sections }),
  };
}
