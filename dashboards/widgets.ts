/**
 * Dashboard bodies as plain data in CloudWatch's own JSON shape
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
 * The same objects are deployed by the monitoring component and rendered by the local run.
 * Generic over N so resource names may be Pulumi outputs there and strings here.
 */
import { type Catalog, CatalogError, countMetricName, dimensionNames, GRANULARITY_SECONDS, type Granularity, LIMITS, metricEntries, sumMetricName } from "../catalog";
import type { AlarmSpec } from "./alarms";

export interface MetricOptions {
  readonly id?: string;
  readonly label?: string;
  readonly stat?: string;
  readonly period?: number;
  readonly expression?: string;
}
/** `[namespace, metricName, dimName, dimValue, ..., options?]` or `[{ expression }]`. */
export type MetricRow<N> = readonly (string | N | MetricOptions)[];

export interface Annotation {
  readonly label: string;
  readonly value: number;
}

/** A graph before layout: what it shows, not where. */
export interface GraphSpec<N> {
  readonly title: string;
  readonly stat: string;
  readonly period: number;
  readonly metrics: readonly MetricRow<N>[];
  readonly annotations?: { readonly horizontal: readonly Annotation[] };
}

export interface GraphWidget<N> {
  readonly type: "metric";
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: GraphSpec<N> & {
    readonly region: string;
    readonly view: "timeSeries";
    readonly stacked: false;
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

/** A titled run of graphs: a catalog group or one resource's health. Dashboards split between sections. */
export interface Section<N> {
  readonly title: string;
  readonly graphs: readonly GraphSpec<N>[];
}

const GRID_WIDTH = 24;
const GRAPH = { width: 8, height: 6 };
const HEADER_HEIGHT = 1;

/** A SEARCH over every value of the metric's dimensions: one line per platform, per reason, ... */
export function searchExpression(options: { namespace: string; metricName: string; dimensions: readonly string[]; stat: string; period: number }): string {
  const schema = [options.namespace, ...options.dimensions].join(",");
  return `SEARCH('{${schema}} MetricName="${options.metricName}"', '${options.stat}', ${options.period})`;
}

export function graph<N>(spec: { title: string; stat: string; period: number; metrics: MetricRow<N>[]; annotations?: readonly Annotation[] }): GraphSpec<N> {
  if (spec.metrics.length > LIMITS.metricsPerGraph) {
    throw new CatalogError(`graph "${spec.title}": ${spec.metrics.length} metrics, CloudWatch allows ${LIMITS.metricsPerGraph} per graph`);
  }
  const { annotations = [], ...rest } = spec;
  return { ...rest, ...(annotations.length > 0 ? { annotations: { horizontal: annotations } } : {}) };
}

/** Thresholds of the alarms on a metric's undimensioned series, to draw on its graph. */
function annotationsFor<N>(alarms: readonly AlarmSpec<N>[], namespace: string, metricName: string): Annotation[] {
  return alarms
    .filter((a) => a.namespace === namespace && a.metricName === metricName && Object.keys(a.dimensions).length === 0)
    .map((a) => ({ label: a.name, value: a.threshold }));
}

/** One section per catalog group: a graph per series (count, sum), and one per dimension split. */
export function catalogSections(options: { catalog: Catalog; granularity: Granularity; alarms: readonly AlarmSpec<never>[] }): Section<never>[] {
  const { catalog, alarms } = options;
  const period = GRANULARITY_SECONDS[options.granularity];
  const ns = catalog.namespace;
  const groups = new Map<string, GraphSpec<never>[]>();
  for (const [id, metric] of metricEntries(catalog)) {
    const group = metric.group ?? "Events";
    const graphs = groups.get(group) ?? [];
    groups.set(group, graphs);
    const series = [{ name: countMetricName(id), title: metric.label }];
    if (metric.sum !== undefined) series.push({ name: sumMetricName(id, metric), title: `${metric.label}: ${metric.sum}` });
    for (const s of series) {
      graphs.push(graph<never>({ title: s.title, period, stat: "Sum", metrics: [[ns, s.name, { id: "m1", label: "total" }]], annotations: annotationsFor(alarms, ns, s.name) }));
      const dimensions = dimensionNames(metric);
      if (dimensions.length > 0) {
        const expression = searchExpression({ namespace: ns, metricName: s.name, dimensions, stat: "Sum", period });
        graphs.push(graph<never>({ title: `${s.title} by ${dimensions.join(", ")}`, period, stat: "Sum", metrics: [[{ id: "e1", expression, label: "" }]] }));
      }
    }
  }
  return [...groups].map(([title, graphs]) => ({ title, graphs }));
}

type Item<N> = { readonly header: string } | { readonly graph: GraphSpec<N> };

function layout<N>(items: readonly Item<N>[], region: string): Widget<N>[] {
  const placed: Widget<N>[] = [];
  let x = 0;
  let y = 0;
  for (const item of items) {
    if ("header" in item) {
      if (x > 0) y += GRAPH.height;
      placed.push({ type: "text", x: 0, y, width: GRID_WIDTH, height: HEADER_HEIGHT, properties: { markdown: `## ${item.header}` } });
      x = 0;
      y += HEADER_HEIGHT;
      continue;
    }
    if (x + GRAPH.width > GRID_WIDTH) {
      x = 0;
      y += GRAPH.height;
    }
    placed.push({ type: "metric", x, y, ...GRAPH, properties: { ...item.graph, region, view: "timeSeries", stacked: false, yAxis: { left: { min: 0 } } } });
    x += GRAPH.width;
  }
  return placed;
}

/**
 * Packs sections into as few dashboards as fit CloudWatch's widget limit, splitting only
 * between sections; a section is cut only when it alone exceeds the limit (its parts keep the
 * header, marked "continued"). Dashboards are `<name>`, `<name>-2`, ...
 */
export function packDashboards<N>(options: { name: string; region: string; sections: readonly Section<N>[]; maxWidgets?: number }): DashboardBody<N>[] {
  const max = options.maxWidgets ?? LIMITS.widgetsPerDashboard;
  const pages: Item<N>[][] = [];
  let page: Item<N>[] = [];
  const newPage = () => {
    if (page.length > 0) pages.push(page);
    page = [];
  };
  for (const section of options.sections) {
    if (page.length + 1 + section.graphs.length > max) newPage();
    if (1 + section.graphs.length <= max) {
      page.push({ header: section.title }, ...section.graphs.map((g) => ({ graph: g })));
      continue;
    }
    // Too big for any one dashboard: cut it into full dashboards, each headed.
    for (let start = 0; start < section.graphs.length; start += max - 1) {
      newPage();
      page.push({ header: start === 0 ? section.title : `${section.title} (continued)` }, ...section.graphs.slice(start, start + max - 1).map((g) => ({ graph: g })));
    }
  }
  newPage();
  const base = options.name.replace(/[^A-Za-z0-9_-]/g, "-");
  return pages.map((items, i) => ({ name: i === 0 ? base : `${base}-${i + 1}`, body: { widgets: layout(items, options.region) } }));
}
