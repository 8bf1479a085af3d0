/**
 * Charts people can read, at any width down to a phone's: an even time axis with ticks on round
 * times, every bucket drawn (an empty one is a true zero), the bucket in progress dashed and
 * hollow rather than drawn as a drop, thresholds as dashed lines, and legends in HTML that wrap
 * instead of squeezing the plot.
 */
import { Chart, Filler, LinearScale, LineController, LineElement, PointElement, type ScriptableLineSegmentContext, Tooltip } from "chart.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Filler);

export const PALETTE = ["#1f5fa8", "#d9730d", "#2e8540", "#c62828", "#6a3fb5", "#8c564b", "#c2185b", "#5f6b7a", "#9a8700", "#00838f"];
/** The total's line, darker and thicker than any split. */
export const TOTAL_COLOR = "#16191f";
/** Alarm thresholds: dashed, in the alarm's red. */
export const THRESHOLD_COLOR = "#c62828";

export interface SeriesLine {
  readonly label: string;
  readonly color: string;
  /** One value per bucket, evenly spaced. */
  readonly points: readonly { x: number; y: number }[];
  readonly emphasis?: boolean;
}

export interface ChartSpec {
  readonly lines: readonly SeriesLine[];
  readonly fromMs: number;
  readonly lastMs: number;
  readonly bucketMs: number;
  /** Buckets starting at or after this are still filling: dashed, hollow. */
  readonly partialFromMs: number;
  readonly thresholds: readonly { label: string; value: number }[];
  /** How a value is written on the axis and in tooltips. */
  readonly format: (value: number) => string;
}

const STEPS_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440];

/** Round tick times over [fromMs, lastMs]: the smallest step from STEPS_MIN giving at most `maxTicks`. */
export function evenTicks(fromMs: number, lastMs: number, maxTicks: number): number[] {
  const span = Math.max(1, lastMs - fromMs);
  const stepMs = (STEPS_MIN.find((m) => span / (m * 60_000) <= maxTicks - 1) ?? STEPS_MIN[STEPS_MIN.length - 1]) * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / stepMs) * stepMs; t <= lastMs; t += stepMs) ticks.push(t);
  return ticks;
}

const clock = (ms: number, withDate: boolean): string => {
  const d = new Date(ms);
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  return withDate && d.getHours() === 0 && d.getMinutes() === 0 ? `${d.getMonth() + 1}/${d.getDate()}` : hm;
};

/** A chart in `canvas`, drawn once and then updated in place. */
export class SeriesChart {
  /** The Chart.js chart underneath, for checks that read what it draws. */
  readonly chart: Chart<"line", { x: number; y: number }[]>;
  private spec: ChartSpec;

  constructor(private readonly canvas: HTMLCanvasElement, spec: ChartSpec) {
    this.spec = spec;
    this.chart = new Chart(canvas, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: "index", intersect: false, axis: "x" },
        // Room for the hollow point of the bucket in progress at the right edge.
        layout: { padding: { right: 6, top: 4 } },
        scales: {
          x: {
            type: "linear",
            grid: { color: "#eef0f2" },
            afterBuildTicks: (axis) => {
              const width = axis.chart.width || 300;
              axis.ticks = evenTicks(this.spec.fromMs, this.spec.lastMs, Math.max(3, Math.min(7, Math.floor(width / 70)))).map((value) => ({ value }));
            },
            ticks: { autoSkip: false, maxRotation: 0, font: { size: 11 }, callback: (v) => clock(Number(v), this.spec.lastMs - this.spec.fromMs > 6 * 3_600_000) },
          },
          y: {
            beginAtZero: true,
            grace: "8%",
            grid: { color: "#eef0f2" },
            ticks: { maxTicksLimit: 5, font: { size: 11 }, callback: (v) => this.spec.format(Number(v)) },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? `${clock(items[0].parsed.x ?? 0, false)}${(items[0].parsed.x ?? 0) >= this.spec.partialFromMs ? " (in progress)" : ""}` : ""),
              label: (item) => `${item.dataset.label}: ${this.spec.format(item.parsed.y ?? 0)}`,
            },
          },
        },
      },
    });
    this.update(spec);
  }

  update(spec: ChartSpec): void {
    this.spec = spec;
    const partial = spec.partialFromMs;
    const dashed = (ctx: ScriptableLineSegmentContext) => ((ctx.p1.parsed.x ?? 0) >= partial ? [4, 3] : undefined);
    const datasets = spec.lines.map((line) => ({
      label: line.label,
      data: line.points.map((p) => ({ x: p.x, y: p.y })),
      borderColor: line.color,
      backgroundColor: line.color,
      borderWidth: line.emphasis ? 2.5 : 1.5,
      tension: 0,
      spanGaps: false,
      // Only the bucket in progress gets a point: hollow, so it reads as "not done yet".
      pointRadius: line.points.map((p) => (p.x >= partial ? 3 : 0)),
      pointBackgroundColor: "#ffffff",
      pointBorderColor: line.color,
      // Drawn past the plot's edge by a point's radius, so the last bucket's point isn't cut in half.
      clip: 5,
      segment: { borderDash: dashed },
    }));
    for (const t of spec.thresholds) {
      datasets.push({
        label: t.label,
        data: [
          { x: spec.fromMs, y: t.value },
          { x: spec.lastMs, y: t.value },
        ],
        borderColor: THRESHOLD_COLOR,
        backgroundColor: THRESHOLD_COLOR,
        borderWidth: 1,
        tension: 0,
        spanGaps: false,
        pointRadius: [0, 0],
        pointBackgroundColor: THRESHOLD_COLOR,
        pointBorderColor: THRESHOLD_COLOR,
        clip: 0,
        segment: { borderDash: () => [6, 4] },
      });
    }
    this.chart.data.datasets = datasets;
    const x = this.chart.options.scales!.x!;
    x.min = spec.fromMs;
    x.max = spec.lastMs;
    this.chart.update("none");
    // Where the plot landed, on the element, so a layout check can read it without reaching into the chart.
    const g = this.geometry();
    this.canvas.dataset.plot = JSON.stringify(g);
  }

  /** Where the plot and its axes sit, for the layout checks. */
  geometry(): { width: number; height: number; area: { left: number; right: number; top: number; bottom: number }; xTicks: number } {
    const a = this.chart.chartArea;
    return { width: this.chart.width, height: this.chart.height, area: { left: a.left, right: a.right, top: a.top, bottom: a.bottom }, xTicks: this.chart.scales.x.ticks.length };
  }

  destroy(): void {
    this.chart.destroy();
  }
}

/** One entry of a legend: a line's label and swatch, with a figure beside it, or a threshold's (dashed). */
export interface LegendItem {
  readonly label: string;
  readonly color: string;
  readonly value?: string;
  readonly dashed?: boolean;
}

/** A legend as an HTML list that wraps, redrawn only when something in it changed. */
export function renderLegend(ul: HTMLElement, items: readonly LegendItem[]): void {
  const signature = JSON.stringify(items);
  if (ul.dataset.signature === signature) return;
  ul.dataset.signature = signature;
  const span = (className: string, text?: string) => {
    const e = document.createElement("span");
    e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  ul.replaceChildren(
    ...items.map(({ label, color, value, dashed }) => {
      const li = document.createElement("li");
      li.title = value ? `${label}: ${value}` : label;
      const swatch = span(dashed ? "swatch dashed" : "swatch");
      swatch.style.setProperty("--swatch", color);
      li.append(swatch, span("label", label));
      if (value) li.append(span("value", value));
      return li;
    }),
  );
}

const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
/** A value on an axis or in a legend: compact from ten thousand up, two decimals at most below. */
export const axisNumber = (n: number): string => (Math.abs(n) >= 10_000 ? compact.format(n) : String(Math.round(n * 100) / 100));
