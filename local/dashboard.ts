/**
 * Renders the deployed dashboard definitions (the same objects `pipelineMonitoring` gives the
 * monitoring component) with the local metrics, as one HTML file that opens offline:
 * Chart.js is inlined, the data is embedded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DashboardBody, MetricOptions, MetricRow, Widget } from "../dashboards";
import type { MetricStore, Stat } from "./metricStore";

export interface RenderedDataset {
  readonly label: string;
  readonly points: [number, number][];
}

export interface RenderedWidget {
  readonly type: "metric" | "text";
  readonly title: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly markdown?: string;
  readonly datasets?: RenderedDataset[];
  readonly annotations?: { label: string; value: number }[];
  /** The CloudWatch metric names the widget shows (search expressions included). */
  readonly metrics?: string[];
}

const isOptions = (v: unknown): v is MetricOptions => typeof v === "object" && v !== null;

/** The datasets one widget shows: its metric rows and search expressions resolved against the store. */
export function resolveWidget(widget: Widget<string>, store: MetricStore): RenderedWidget {
  const base = { x: widget.x, y: widget.y, width: widget.width, height: widget.height };
  if (widget.type === "text") return { ...base, type: "text", title: "", markdown: widget.properties.markdown };
  const p = widget.properties;
  const datasets: RenderedDataset[] = [];
  const metrics: string[] = [];
  for (const row of p.metrics as readonly MetricRow<string>[]) {
    const last = row[row.length - 1];
    const options = isOptions(last) ? last : {};
    if (options.expression) {
      const name = /MetricName="([^"]+)"/.exec(options.expression)?.[1] ?? options.expression;
      metrics.push(name);
      for (const s of store.search(options.expression)) {
        datasets.push({ label: Object.values(s.dimensions).join(" / ") || name, points: [...s.points] });
      }
      continue;
    }
    const parts = row.filter((v): v is string => typeof v === "string");
    const [namespace, metricName, ...dims] = parts;
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]] = dims[i + 1];
    metrics.push(metricName);
    const s = store.series({ namespace, metricName, dimensions, stat: (options.stat ?? p.stat) as Stat, period: options.period ?? p.period });
    datasets.push({ label: options.label || metricName, points: [...s.points] });
  }
  return { ...base, type: "metric", title: p.title, datasets, annotations: [...(p.annotations?.horizontal ?? [])], metrics };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderDashboardHtml(options: { dashboards: readonly DashboardBody<string>[]; store: MetricStore; title: string; generatedAt: string }): string {
  // The UMD build is not in chart.js's export map; find it beside the package's main entry.
  const chartJs = fs.readFileSync(path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8");
  const pages = options.dashboards.map((d) => ({ name: d.name, widgets: d.body.widgets.map((w) => resolveWidget(w, options.store)) }));
  // JSON inside a <script> tag: escape "<" so no string can close the tag.
  const data = JSON.stringify(pages).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(options.title)}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f2f3f3; color: #16191f; }
  header { background: #232f3e; color: #fff; padding: 12px 20px; }
  header h1 { font-size: 18px; margin: 0; }
  header p { margin: 4px 0 0; font-size: 12px; color: #d5dbdb; }
  h2.dashboard { font-size: 15px; margin: 16px 20px 0; }
  .grid { display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: 42px; gap: 8px; padding: 12px 20px 24px; }
  .widget { background: #fff; border: 1px solid #d5dbdb; border-radius: 4px; padding: 8px 10px; display: flex; flex-direction: column; min-width: 0; }
  .widget.text { background: transparent; border: none; padding: 0; justify-content: flex-end; }
  .widget.text h2 { font-size: 16px; margin: 0; }
  .widget h3 { font-size: 13px; margin: 0 0 6px; font-weight: 600; }
  .widget .chart { position: relative; flex: 1; min-height: 0; }
  .widget .empty { color: #687078; font-size: 12px; margin: auto; }
</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1><p>Rendered from the deployed dashboard definitions with the local run's metrics · ${escapeHtml(options.generatedAt)}</p></header>
<main id="dashboards"></main>
<script>${chartJs}</script>
<script>
const pages = ${data};
const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const clock = (ms) => new Date(ms).toISOString().slice(11, 16);
const root = document.getElementById("dashboards");
for (const page of pages) {
  // One time range for every graph of a dashboard, as CloudWatch draws them.
  const allX = page.widgets.flatMap((w) => (w.datasets || []).flatMap((d) => d.points.map((p) => p[0])));
  const pad = 60000;
  const range = { min: Math.min(...allX) - pad, max: Math.max(...allX) + pad };
  const heading = document.createElement("h2");
  heading.className = "dashboard";
  heading.textContent = page.name;
  root.appendChild(heading);
  const grid = document.createElement("div");
  grid.className = "grid";
  root.appendChild(grid);
  for (const w of page.widgets) {
    const el = document.createElement("section");
    el.className = "widget " + w.type;
    el.style.gridColumn = (w.x + 1) + " / span " + w.width;
    el.style.gridRow = (w.y + 1) + " / span " + w.height;
    grid.appendChild(el);
    if (w.type === "text") {
      const h = document.createElement("h2");
      h.textContent = w.markdown.replace(/^#+\\s*/, "");
      el.appendChild(h);
      continue;
    }
    el.dataset.title = w.title;
    el.dataset.metrics = w.metrics.join(",");
    const points = w.datasets.reduce((n, d) => n + d.points.length, 0);
    el.dataset.points = String(points);
    const title = document.createElement("h3");
    title.textContent = w.title;
    el.appendChild(title);
    const box = document.createElement("div");
    box.className = "chart";
    el.appendChild(box);
    if (points === 0) {
      const empty = document.createElement("div");
      empty.className = "empty";
      empty.textContent = "No data for this period";
      box.appendChild(empty);
      continue;
    }
    const canvas = document.createElement("canvas");
    box.appendChild(canvas);
    const [minX, maxX] = [range.min, range.max];
    const datasets = w.datasets.map((d, i) => ({
      label: d.label, data: d.points.map(([x, y]) => ({ x, y })), borderColor: palette[i % palette.length],
      backgroundColor: palette[i % palette.length], pointRadius: 2, borderWidth: 1.5, tension: 0,
    }));
    for (const a of w.annotations) {
      datasets.push({ label: a.label + " (" + a.value + ")", data: [{ x: minX, y: a.value }, { x: maxX, y: a.value }],
        borderColor: "#d13212", backgroundColor: "#d13212", borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 });
    }
    el.chart = new Chart(canvas, {
      type: "line",
      data: { datasets },
      options: {
        animation: false, maintainAspectRatio: false, parsing: true,
        scales: { x: { type: "linear", min: range.min, max: range.max, ticks: { callback: (v) => clock(v), maxTicksLimit: 6 } }, y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 10, font: { size: 10 } } } },
      },
    });
  }
}
document.body.dataset.rendered = "true";
</script>
</body>
</html>
`;
}
