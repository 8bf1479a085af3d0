/**
 * catalog → CloudWatch dashboard bodies, as plain data in CloudWatch's own JSON shape
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
 * The same objects are deployed by the monitoring component and rendered by the local run.
 * Generic over N so resource names may be Pulumi outputs here and strings locally.
 */
import type { AlarmSpec, PipelineNames } from "./alarms";
import { BUCKET_SECONDS, type Bucket, type Catalog, COUNTED_METRIC, countMetricName, REJECTED_DIMENSION, REJECTED_METRIC, sumMetricName } from "./catalog";
import { CatalogError, LIMITS } from "./limits";

export interface MetricOptions {
  readonly id?: string;
  readonly label?: string;
  readonly stat?: string;
  readonly expression?: string;
}
/** `[namespace, metricName, dimName, dimValue, ..., options?]` or `[{ expression }]`. */
export type MetricRow<N> = readonly (string | N | MetricOptions)[];

export interface Annotation {
  readonly label: string;
  readonly value: number;
}

export interface GraphWidget<N> {
  readonly type: "metric";
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title: string;
    readonly region: string;
    readonly view: "timeSeries";
    readonly stacked: false;
    readonly stat: string;
    readonly period: number;
    readonly metrics: readonly MetricRow<N>[];
    readonly annotations?: { readonly horizontal: readonly Annotation[] };
    readonly yAxis: { readonly left: { readonly min: 0 } };
  };
}

export interface TextWidget {
  readonly type: "text";
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: { readonly markdown: string };
}

export type Widget<N> = GraphWidget<N> | TextWidget;

export interface DashboardBody<N> {
  readonly name: string;
  readonly body: { readonly widgets: readonly Widget<N>[] };
}

export interface DashboardOptions<N> {
  readonly catalog: Catalog;
  readonly stack: string;
  readonly region: string;
  readonly names: PipelineNames<N>;
  /** The alarms to show as threshold annotations on their metric's graph. */
  readonly alarms: readonly AlarmSpec<N>[];
  /** @default catalog.bucket */
  readonly bucket?: Bucket;
  /** Split into another dashboard past this many widgets. @default 500 (CloudWatch's limit) */
  readonly maxWidgetsPerDashboard?: number;
}

type Unplaced<N> =
  | { readonly type: "text"; readonly properties: TextWidget["properties"] }
  | { readonly type: "metric"; readonly properties: Omit<GraphWidget<N>["properties"], "region" | "view" | "stacked" | "yAxis"> };

const GRID_WIDTH = 24;
const GRAPH = { width: 8, height: 6 };
const HEADER_HEIGHT = 1;

/** A SEARCH over every value of the metric's dimensions: one line per platform, per reason, ... */
export function searchExpression(options: { namespace: string; metricName: string; dimensions: readonly string[]; stat: string; period: number }): string {
  const schema = [options.namespace, ...options.dimensions].join(",");
  return `SEARCH('{${schema}} MetricName="${options.metricName}"', '${options.stat}', ${options.period})`;
}

function annotationsFor<N>(alarms: readonly AlarmSpec<N>[], namespace: string, metricName: string): Annotation[] {
  return alarms
    .filter((a) => a.namespace === namespace && a.metricName === metricName && Object.keys(a.dimensions).length === 0)
    .map((a) => ({ label: a.name, value: a.threshold }));
}

function graph<N>(title: string, period: number, stat: string, metrics: MetricRow<N>[], annotations: Annotation[] = []): Unplaced<N> {
  if (metrics.length > LIMITS.metricsPerGraph) {
    throw new CatalogError(`graph "${title}": ${metrics.length} metrics, CloudWatch allows ${LIMITS.metricsPerGraph} per graph`);
  }
  return {
    type: "metric",
    properties: { title, stat, period, metrics, ...(annotations.length > 0 ? { annotations: { horizontal: annotations } } : {}) },
  };
}

function catalogSections<N>(options: DashboardOptions<N>): Map<string, Unplaced<N>[]> {
  const { catalog, alarms } = options;
  const period = BUCKET_SECONDS[options.bucket ?? catalog.bucket];
  const ns = catalog.namespace;
  const sections = new Map<string, Unplaced<N>[]>();
  for (const [id, metric] of Object.entries(catalog.metrics)) {
    const group = metric.group ?? "Events";
    const widgets = sections.get(group) ?? [];
    sections.set(group, widgets);
    const series = [{ name: countMetricName(id), title: metric.label }];
    if (metric.sum !== undefined) series.push({ name: sumMetricName(id, metric), title: `${metric.label}: ${metric.sum}` });
    for (const s of series) {
      widgets.push(graph(s.title, period, "Sum", [[ns, s.name, { id: "m1", label: "total" }]], annotationsFor(alarms, ns, s.name)));
      const dimensions = metric.dimensions ?? [];
      if (dimensions.length > 0) {
        const expression = searchExpression({ namespace: ns, metricName: s.name, dimensions, stat: "Sum", period });
        widgets.push(graph(`${s.title} by ${dimensions.join(", ")}`, period, "Sum", [[{ id: "e1", expression, label: "" }]]));
      }
    }
  }
  return sections;
}

function healthSection<N>(options: DashboardOptions<N>): Unplaced<N>[] {
  const { names, alarms, catalog } = options;
  const fns: [string, N][] = [
    ["analyzer", names.analyzerFunction],
    ["forwarder", names.forwarderFunction],
  ];
  const perFunction = (metricName: string, stat: string) =>
    fns.map(([role, fn]): MetricRow<N> => ["AWS/Lambda", metricName, "FunctionName", fn, { label: role, stat }]);
  const rejectedPeriod = Math.max(60, BUCKET_SECONDS[options.bucket ?? catalog.bucket]);
  const rejectedByReason = searchExpression({
    namespace: catalog.namespace,
    metricName: REJECTED_METRIC,
    dimensions: [REJECTED_DIMENSION],
    stat: "Sum",
    period: rejectedPeriod,
  });
  const alarmLines = (subjectMetric: string) =>
    alarms.filter((a) => a.kind === "health" && a.metricName === subjectMetric).map((a) => ({ label: a.name, value: a.threshold }));
  return [
    graph("Function errors", 60, "Sum", perFunction("Errors", "Sum")),
    graph("Function throttles", 60, "Sum", perFunction("Throttles", "Sum")),
    graph("Iterator age (ms)", 60, "Maximum", perFunction("IteratorAge", "Maximum"), alarmLines("IteratorAge").slice(0, 1)),
    graph("Dead-letter queue depth", 300, "Maximum", [
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.analyzerDlq, { label: "analyzer" }],
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.forwarderDlq, { label: "forwarder" }],
    ]),
    graph("Counter table throttles", 60, "Sum", [
      ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", names.table, { label: "writes" }],
      ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", names.table, { label: "reads" }],
    ]),
    graph("Stream writes", 60, "Sum", [
      ["AWS/Kinesis", "IncomingRecords", "StreamName", names.stream, { label: "records in" }],
      ["AWS/Kinesis", "WriteProvisionedThroughputExceeded", "StreamName", names.stream, { label: "throughput exceeded" }],
    ]),
    graph(
      "Records counted and rejected",
      rejectedPeriod,
      "Sum",
      [
        [catalog.namespace, COUNTED_METRIC, { id: "m2", label: "counted" }],
        [catalog.namespace, REJECTED_METRIC, { id: "m1", label: "rejected" }],
        [{ id: "e1", expression: rejectedByReason, label: "" }],
      ],
      annotationsFor(alarms, catalog.namespace, REJECTED_METRIC),
    ),
  ];
}

function layout<N>(items: readonly Unplaced<N>[], region: string): Widget<N>[] {
  const placed: Widget<N>[] = [];
  let x = 0;
  let y = 0;
  for (const item of items) {
    if (item.type === "text") {
      if (x > 0) y += GRAPH.height;
      placed.push({ type: "text", x: 0, y, width: GRID_WIDTH, height: HEADER_HEIGHT, properties: item.properties });
      x = 0;
      y += HEADER_HEIGHT;
      continue;
    }
    if (x + GRAPH.width > GRID_WIDTH) {
      x = 0;
      y += GRAPH.height;
    }
    placed.push({
      type: "metric",
      x,
      y,
      ...GRAPH,
      properties: { ...item.properties, region, view: "timeSeries", stacked: false, yAxis: { left: { min: 0 } } },
    });
    x += GRAPH.width;
  }
  return placed;
}

/**
 * One or more dashboards: a section per catalog group, then the pipeline's health.
 * Past the widget limit the rest goes to `<name>-2`, `<name>-3`, ... rather than failing.
 */
export function buildDashboards<N>(options: DashboardOptions<N>): DashboardBody<N>[] {
  const max = options.maxWidgetsPerDashboard ?? LIMITS.widgetsPerDashboard;
  const header = (text: string): Unplaced<N> => ({ type: "text", properties: { markdown: `## ${text}` } });
  const items: Unplaced<N>[] = [];
  for (const [group, widgets] of catalogSections(options)) items.push(header(group), ...widgets);
  items.push(header("Pipeline health"), ...healthSection(options));
  const baseName = `${options.stack}-${options.catalog.namespace}`.replace(/[^A-Za-z0-9_-]/g, "-");
  const dashboards: DashboardBody<N>[] = [];
  for (let start = 0; start < items.length; start += max) {
    const name = start === 0 ? baseName : `${baseName}-${start / max + 1}`;
    dashboards.push({ name, body: { widgets: layout(items.slice(start, start + max), options.region) } });
  }
  return dashboards;
}
