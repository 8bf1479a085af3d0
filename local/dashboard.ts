/**
 * Renders the deployed dashboard definitions (the same objects `pipelineMonitoring` gives the
 * monitoring component) with the local metrics, as one HTML file that opens offline: the
 * preview's code (the live app's charts, Chart.js with them) is inlined, the data is embedded.
 */
import type { DashboardBody, MetricOptions, MetricRow, Widget } from "../dashboards";
import { bundleBrowserCode, chartStyles } from "../web/build";
import type { PreviewData, PreviewDataset, PreviewWidget } from "../web/preview";
import type { MetricStore, Stat } from "./metricStore";

const isOptions = (v: unknown): v is MetricOptions => typeof v === "object" && v !== null;

/** The datasets one widget shows: its metric rows and search expressions resolved against the store. */
export function resolveWidget(widget: Widget<string>, store: MetricStore): PreviewWidget {
  const base = { x: widget.x, y: widget.y, width: widget.width, height: widget.height };
  if (widget.type === "text") return { ...base, type: "text", title: "", markdown: widget.properties.markdown };
  const p = widget.properties;
  const datasets: PreviewDataset[] = [];
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
  return { ...base, type: "metric", title: p.title, period: p.period, datasets, annotations: [...(p.annotations?.horizontal ?? [])], metrics };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderDashboardHtml(options: { dashboards: readonly DashboardBody<string>[]; store: MetricStore; title: string; generatedAt: string }): string {
  const preview: PreviewData = {
    pages: options.dashboards.map((d) => ({ name: d.name, widgets: d.body.widgets.map((w) => resolveWidget(w, options.store)) })),
    generatedAtMs: Date.parse(options.generatedAt),
  };
  // JSON inside a <script> element: "<" escaped so no string can close the element.
  const data = JSON.stringify(preview).replace(/</g, "\\u003c");
  // The same escape for the code: a "</script" inside it must not end the element.
  const code = bundleBrowserCode("dashboardPreview.ts").replace(/<\/script/gi, "<\\/script");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f2f3f3; color: #16191f; }
  header { background: #232f3e; color: #fff; padding: 12px 20px; }
  header h1 { font-size: 18px; margin: 0; }
  header p { margin: 4px 0 0; font-size: 12px; color: #d5dbdb; }
  h2.dashboard { font-size: 15px; margin: 16px 20px 0; }
  .grid { display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: 42px; gap: 8px; padding: 12px 20px 24px; }
  .widget { background: #fff; border: 1px solid #d5dbdb; border-radius: 4px; padding: 8px 10px; display: flex; flex-direction: column; min-width: 0; min-height: 0; }
  .widget.text { background: transparent; border: none; padding: 0; justify-content: flex-end; }
  .widget.text h2 { font-size: 16px; margin: 0; }
  .widget h3 { font-size: 13px; margin: 0 0 6px; font-weight: 600; }
  .widget .plot { position: relative; flex: 1; min-height: 0; }
  .widget .empty { color: #687078; font-size: 12px; margin: auto; }
  .widget .legend { flex: none; max-height: 3.2em; overflow: hidden; }
${chartStyles()}</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1><p>Rendered from the deployed dashboard definitions with the local run's metrics · ${escapeHtml(options.generatedAt)}</p></header>
<main id="dashboards"></main>
<script type="application/json" id="preview">${data}</script>
<script>${code}</script>
</body>
</html>
`;
}
