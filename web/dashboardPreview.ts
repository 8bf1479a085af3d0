/**
 * The local dashboard preview's page: each deployed CloudWatch dashboard on its 24-column grid,
 * every graph drawn as the live app draws its charts (an even time axis, the period in progress
 * dashed instead of drawn as a drop, thresholds dashed, legends in HTML that wrap).
 */
import { axisNumber, PALETTE, renderLegend, SeriesChart, THRESHOLD_COLOR } from "./charts";
import type { PreviewData, PreviewWidget } from "./preview";

const data = JSON.parse(document.getElementById("preview")?.textContent ?? "null") as PreviewData;
const root = document.getElementById("dashboards")!;

const make = <K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

function drawGraph(section: HTMLElement, w: PreviewWidget, range: { fromMs: number; lastMs: number }): void {
  const datasets = w.datasets ?? [];
  section.dataset.title = w.title;
  section.dataset.metrics = (w.metrics ?? []).join(",");
  const points = datasets.reduce((n, d) => n + d.points.length, 0);
  section.dataset.points = String(points);
  section.append(make("h3", "", w.title));
  const box = make("div", "plot");
  section.append(box);
  if (points === 0) {
    box.append(make("div", "empty", "No data for this period"));
    return;
  }
  const periodMs = (w.period ?? 60) * 1000;
  const lines = datasets.map((d, i) => ({ label: d.label, color: PALETTE[i % PALETTE.length], points: d.points.map(([x, y]) => ({ x, y })) }));
  const thresholds = (w.annotations ?? []).map((a) => ({ label: `${a.label} (${a.value})`, value: a.value }));
  const canvas = make("canvas", "");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", w.title);
  box.append(canvas);
  const chart = new SeriesChart(canvas, {
    lines,
    fromMs: range.fromMs,
    lastMs: range.lastMs,
    bucketMs: periodMs,
    partialFromMs: Math.floor(data.generatedAtMs / periodMs) * periodMs,
    thresholds,
    format: axisNumber,
  });
  (section as HTMLElement & { chart?: unknown }).chart = chart.chart;
  const legend = make("ul", "legend");
  section.append(legend);
  renderLegend(legend, [
    ...lines.map((l) => ({ label: l.label, color: l.color })),
    ...thresholds.map((t) => ({ label: t.label, color: THRESHOLD_COLOR, dashed: true })),
  ]);
}

for (const page of data.pages) {
  // One time range for every graph of a dashboard, as CloudWatch draws them.
  const xs = page.widgets.flatMap((w) => (w.datasets ?? []).flatMap((d) => d.points.map((p) => p[0])));
  // A minute either side, so a lone point is not drawn on the frame.
  const range = { fromMs: Math.min(...xs, data.generatedAtMs) - 60_000, lastMs: Math.max(...xs, data.generatedAtMs) + 60_000 };
  root.append(make("h2", "dashboard", page.name));
  const grid = make("div", "grid");
  root.append(grid);
  for (const w of page.widgets) {
    const section = make("section", `widget ${w.type}`);
    section.style.gridColumn = `${w.x + 1} / span ${w.width}`;
    section.style.gridRow = `${w.y + 1} / span ${w.height}`;
    grid.append(section);
    if (w.type === "text") section.append(make("h2", "", (w.markdown ?? "").replace(/^#+\s*/, "")));
    else drawGraph(section, w, range);
  }
}
document.body.dataset.rendered = "true";
