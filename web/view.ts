/**
 * The page, generated from the pipeline's model: a card per catalog metric in its catalog
 * section (label, totals over the range, the bucket in progress, the chart, the legend, the
 * state of each of its alarms), then the pipeline's own counters, with rejects on a scale of
 * their own. Text goes in with textContent only: dimension values come from untrusted events.
 */
import type { LiveAlarmState, LiveMetric, LiveModel } from "../catalog/live";
import { counterKey } from "../catalog/item";
import { axisNumber, type ChartSpec, type LegendItem, PALETTE, renderLegend, SeriesChart, type SeriesLine, THRESHOLD_COLOR, TOTAL_COLOR } from "./charts";
import { type Point, type PartStore, totals } from "./store";

export interface Window {
  readonly fromMs: number;
  readonly lastMs: number;
  readonly bucketMs: number;
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

const countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const formatCount = (n: number): string => countFormat.format(n);

/** An exact decimal string with grouping and the metric's decimals, without going through a float for the digits. */
export function formatDecimal(text: string, decimals: number): string {
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const places = Math.max(decimals, fraction.replace(/0+$/, "").length);
  return `${negative ? "-" : ""}${grouped}${places > 0 ? `.${fraction.padEnd(places, "0").slice(0, places)}` : ""}`;
}

const rangeWords = (w: Window): string => {
  const hours = Math.round((w.lastMs - w.fromMs + w.bucketMs) / 3_600_000);
  return `last ${hours} h`;
};
const bucketWords = (bucketMs: number): string => (bucketMs >= 3_600_000 ? "this hour" : "this minute");

interface Series {
  readonly key: string;
  readonly label: string;
  readonly total: boolean;
}

/** One card: a metric (or one of the pipeline's own counters) with its charts. */
class Card {
  readonly root: HTMLElement;
  private readonly charts: { chart?: SeriesChart; box: HTMLElement; legend: HTMLElement; series: "count" | "sum" }[] = [];
  private readonly totalsEl: Record<string, HTMLElement> = {};
  private readonly alarmEls = new Map<string, HTMLElement>();

  constructor(
    private readonly o: {
      id: string;
      label: string;
      metric?: LiveMetric;
      /** The series to draw: the total first, then splits. */
      series: (store: PartStore) => Series[];
      sumLabel?: string;
      decimals?: number;
      note?: string;
    },
  ) {
    this.root = el("article", { class: "card", "data-metric": o.id });
    const head = el("header");
    head.append(el("h3", {}, o.label));
    const alarms = el("div", { class: "alarms" });
    for (const a of o.metric?.alarms ?? []) {
      const badge = el("span", { class: "alarm", "data-alarm": a.alarm, "data-state": "INSUFFICIENT_DATA", title: a.description ?? "" }, `${a.alarm}: …`);
      this.alarmEls.set(a.name, badge);
      alarms.append(badge);
    }
    head.append(alarms);
    this.root.append(head);
    const dl = el("dl", { class: "totals" });
    const total = (name: string, label: string) => {
      const box = el("div");
      const dt = el("dt", {}, label);
      const dd = el("dd", { [name.startsWith("current") ? "data-current" : "data-total"]: name.replace(/^current-/, ""), "data-value": "0" }, "0");
      box.append(dt, dd);
      dl.append(box);
      this.totalsEl[name] = dd;
      return dt;
    };
    this.totalsEl.countLabel = total("count", "Count");
    if (o.sumLabel !== undefined) this.totalsEl.sumLabel = total("sum", o.sumLabel);
    this.totalsEl.currentLabel = total("current-count", "This minute");
    this.root.append(dl);
    for (const series of o.sumLabel === undefined ? (["count"] as const) : (["count", "sum"] as const)) {
      const figure = el("figure", { class: "chart", "data-series": series });
      if (o.sumLabel !== undefined) figure.append(el("figcaption", {}, series === "count" ? "Count per bucket" : `${o.sumLabel} per bucket`));
      const box = el("div", { class: "plot" });
      const legend = el("ul", { class: "legend" });
      figure.append(box, legend);
      this.root.append(figure);
      this.charts.push({ box, legend, series });
    }
    if (o.note !== undefined) this.root.append(el("p", { class: "note" }, o.note));
  }

  render(store: PartStore, w: Window, partialFromMs: number): void {
    const series = this.o.series(store);
    const pointsOf = new Map<string, Point[]>(series.map((s) => [s.key, store.series(s.key, w)]));
    const head = series.find((s) => s.total);
    const headPoints = head === undefined ? [] : (pointsOf.get(head.key) ?? []);
    const sum = totals(headPoints);
    const current = headPoints.find((p) => p.x >= partialFromMs);
    this.set("count", sum.count, formatCount(sum.count));
    this.totalsEl.countLabel.textContent = `Count, ${rangeWords(w)}`;
    if (this.o.sumLabel !== undefined) {
      this.set("sum", sum.sum ?? "0", formatDecimal(sum.sum ?? "0", this.o.decimals ?? 0));
      this.totalsEl.sumLabel.textContent = `${this.o.sumLabel}, ${rangeWords(w)}`;
    }
    this.set("current-count", current?.count ?? 0, formatCount(current?.count ?? 0));
    this.totalsEl.currentLabel.textContent = `${bucketWords(w.bucketMs)[0].toUpperCase()}${bucketWords(w.bucketMs).slice(1)} (in progress)`;

    for (const c of this.charts) {
      const lines = series.map((s, i) => ({
        label: s.label,
        color: s.total ? TOTAL_COLOR : PALETTE[(i - 1 + PALETTE.length) % PALETTE.length],
        emphasis: s.total,
        points: (pointsOf.get(s.key) ?? []).map((p) => ({ x: p.x, y: c.series === "sum" ? Number(p.sum ?? 0) : p.count })),
        exact: pointsOf.get(s.key) ?? [],
      }));
      const thresholds = (this.o.metric?.alarms ?? [])
        .filter((a) => a.series === c.series && a.periodSeconds * 1000 === w.bucketMs)
        .map((a) => ({ label: `${a.alarm} (${a.comparison} ${a.threshold})`, value: a.threshold }));
      const spec: ChartSpec = { lines, fromMs: w.fromMs, lastMs: w.lastMs, bucketMs: w.bucketMs, partialFromMs, thresholds, format: axisNumber };
      if (c.chart === undefined) {
        const canvas = el("canvas", { role: "img", "aria-label": `${this.o.label}: ${c.series} per bucket` });
        c.box.append(canvas);
        c.chart = new SeriesChart(canvas, spec);
      } else c.chart.update(spec);
      this.renderLegend(c.legend, lines, thresholds, c.series);
    }
  }

  /** Shows a figure, and keeps it exact (a count, or a decimal sum as the table holds it) in `data-value`. */
  private set(name: string, value: number | string, text: string): void {
    const dd = this.totalsEl[name];
    if (dd.textContent !== text) dd.textContent = text;
    dd.dataset.value = String(value);
  }

  private renderLegend(ul: HTMLElement, lines: readonly (SeriesLine & { exact: readonly Point[] })[], thresholds: readonly { label: string }[], series: "count" | "sum"): void {
    const items: LegendItem[] = lines.map((l) => {
      // The line's total over the range, exact: a sum is added as decimals, with the metric's places.
      const total = totals(l.exact);
      return { label: l.label, color: l.color, value: series === "sum" ? formatDecimal(total.sum ?? "0", this.o.decimals ?? 0) : formatCount(total.count) };
    });
    for (const t of thresholds) items.push({ label: t.label, color: THRESHOLD_COLOR, dashed: true });
    renderLegend(ul, items);
  }

  showAlarms(states: ReadonlyMap<string, LiveAlarmState>): void {
    for (const a of this.o.metric?.alarms ?? []) {
      const badge = this.alarmEls.get(a.name);
      if (badge === undefined) continue;
      const s = states.get(a.name);
      const state = s?.state ?? "INSUFFICIENT_DATA";
      badge.dataset.state = state;
      badge.textContent = `${a.alarm}: ${state === "INSUFFICIENT_DATA" ? "no data" : state === "ALARM" ? "ALARM" : "OK"}`;
      badge.title = [a.description, `${a.comparison} ${a.threshold} for ${a.evaluationPeriods} × ${a.periodSeconds / 60} min`, s?.reason].filter(Boolean).join("\n");
    }
  }
}

/** A dimension value list as a label: `iOS`, or `iOS / DE` for several dimensions. */
const valuesLabel = (dims: Readonly<Record<string, string>>, names: readonly string[]): string => names.map((n) => dims[n] ?? "").join(" / ");

export class LiveView {
  private readonly cards: Card[] = [];
  readonly status: HTMLElement;
  readonly updated: HTMLElement;
  readonly rangeButtons: HTMLButtonElement[] = [];
  readonly signOut: HTMLButtonElement;
  readonly message: HTMLElement;

  constructor(private readonly model: LiveModel, root: HTMLElement) {
    const header = el("header", { class: "top" });
    const title = el("div", { class: "title" });
    title.append(el("h1", {}, `${model.pipeline} · live counters`), el("p", { class: "sub" }, `${model.stack} · ${model.namespace} · ${model.bucketSeconds >= 3600 ? "hourly" : "per-minute"} buckets`));
    const controls = el("div", { class: "controls" });
    this.status = el("span", { class: "status", "data-state": "connecting", role: "status" }, "Connecting…");
    const ranges = el("div", { class: "ranges", role: "group", "aria-label": "Time range" });
    for (const r of ["1h", "6h", "24h"]) {
      const b = el("button", { type: "button", "data-range": r, "aria-pressed": "false" }, r.replace("h", " h"));
      this.rangeButtons.push(b);
      ranges.append(b);
    }
    this.signOut = el("button", { type: "button", class: "signout", hidden: "" }, "Sign out");
    controls.append(this.status, ranges, this.signOut);
    header.append(title, controls);
    this.message = el("p", { class: "message", hidden: "" });
    const main = el("main");
    const groups = new Map<string, HTMLElement>();
    for (const metric of model.metrics) {
      let cards = groups.get(metric.group);
      if (cards === undefined) {
        const section = el("section", { class: "group" });
        section.append(el("h2", {}, metric.group));
        cards = el("div", { class: "cards" });
        section.append(cards);
        main.append(section);
        groups.set(metric.group, cards);
      }
      const names = metric.dimensions.map((d) => d.name);
      const card = new Card({
        id: metric.id,
        label: metric.label,
        metric,
        sumLabel: metric.sum === undefined ? undefined : `Sum of ${metric.sum.field}${metric.sum.unit === "None" || metric.sum.unit === "Count" ? "" : ` (${metric.sum.unit})`}`,
        decimals: metric.sum?.decimals,
        series: (store) => [
          { key: counterKey(metric.id, [], []), label: "Total", total: true },
          ...(names.length === 0
            ? []
            : store
                .keysOf(metric.id)
                .filter((k) => names.every((n) => n in k.dims))
                .sort((a, b) => (a.key < b.key ? -1 : 1))
                .map((k) => ({ key: k.key, label: valuesLabel(k.dims, names), total: false }))),
        ],
      });
      this.cards.push(card);
      cards.append(card.root);
    }
    const health = el("section", { class: "group health" });
    health.append(el("h2", {}, "Pipeline"));
    const healthCards = el("div", { class: "cards" });
    health.append(healthCards);
    const h = model.health;
    const counted = new Card({ id: h.counted, label: "Counted records", series: () => [{ key: counterKey(h.counted, [], []), label: "Counted", total: true }] });
    const rejected = new Card({
      id: h.rejected,
      label: "Rejected records",
      note: "On a scale of their own: kept with their reason in the quarantine store.",
      series: (store) => [
        { key: counterKey(h.rejected, [], []), label: "Total", total: true },
        ...store
          .keysOf(h.rejected)
          .filter((k) => h.rejectedBy in k.dims)
          .sort((a, b) => (a.key < b.key ? -1 : 1))
          .map((k) => ({ key: k.key, label: k.dims[h.rejectedBy], total: false })),
      ],
    });
    this.cards.push(counted, rejected);
    healthCards.append(counted.root, rejected.root);
    main.append(health);
    this.updated = el("span", { class: "updated" }, "");
    const footer = el("footer");
    footer.append(el("span", {}, "Exact counts, straight from the counter table. "), this.updated);
    root.replaceChildren(header, this.message, main, footer);
  }

  render(store: PartStore, w: Window): void {
    for (const card of this.cards) card.render(store, w, w.lastMs);
  }

  showAlarms(states: readonly LiveAlarmState[]): void {
    const byName = new Map(states.map((s) => [s.name, s]));
    for (const card of this.cards) card.showAlarms(byName);
  }

  setStatus(state: string, text: string): void {
    this.status.dataset.state = state;
    this.status.textContent = text;
    document.body.dataset.status = state;
  }

  setRange(range: string): void {
    for (const b of this.rangeButtons) b.setAttribute("aria-pressed", String(b.dataset.range === range));
  }

  say(text: string | undefined): void {
    this.message.hidden = text === undefined;
    this.message.textContent = text ?? "";
  }

  get metricCount(): number {
    return this.model.metrics.length;
  }
}
