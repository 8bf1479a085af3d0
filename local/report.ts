/**
 * What the local run leaves in its out directory: the books, the counters, every datum sent,
 * the alarms as CloudWatch would have evaluated them, the mail they would have sent, the dead
 * letters and the deployed dashboards rendered with the local data.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Counter } from "../catalog/item";
import type { Monitoring } from "../dashboards";
import { alarmEmail, evaluateAlarm, type EvaluatedAlarm } from "./alarms";
import { renderDashboardHtml } from "./dashboard";
import type { MetricStore } from "./metricStore";
import type { DeadLetter } from "./pollers";

/** Every file or folder a run writes, so a new run clears exactly these. */
export const OUTPUTS = ["summary.json", "counters.json", "pipeline-counters.json", "metrics.json", "alarms.json", "emails.txt", "dead-letters.jsonl", "dashboard.html", "quarantine", "archive", "state"];

export interface Summary {
  readonly pipeline: string;
  readonly received: number;
  readonly counted: number;
  readonly rejected: { readonly total: number; readonly byReason: Record<string, number> };
  readonly deadLettered: number;
  /** Dead-lettered records replayed from the stream, exactly once. */
  readonly replayed: number;
  readonly balanced: boolean;
  readonly metricsMatchCounters: boolean;
}

/** Evaluates the deployed alarms on the local metrics over the run, with the mail each ALARM would send. */
export function evaluateAlarms(o: { monitoring: Monitoring<string>; store: MetricStore; from: number; to: number; region: string }): { alarms: EvaluatedAlarm[]; emails: string[] } {
  const earliest = Math.min(o.from, ...o.store.datums.map((d) => d.timestamp));
  const alarms = o.monitoring.alarms.map((spec) => evaluateAlarm(spec, o.store, { from: earliest, to: o.to }));
  const emails = alarms.flatMap((alarm, i) => alarm.history.filter((h) => h.to === "ALARM").map((t) => alarmEmail(o.monitoring.alarms[i], t, o.region)));
  return { alarms, emails };
}

export function writeReport(o: {
  outDir: string;
  title: string;
  finishedAt: number;
  summary: Summary;
  counters: readonly Counter[];
  /** The pipeline's own counters: CountedRecords, RejectedRecords, DimensionOverflow. */
  pipelineCounters: readonly Counter[];
  sentDatums: readonly unknown[];
  alarms: readonly EvaluatedAlarm[];
  emails: readonly string[];
  deadLetters: readonly DeadLetter[];
  monitoring: Monitoring<string>;
  store: MetricStore;
}): void {
  const write = (name: string, value: unknown) => fs.writeFileSync(path.join(o.outDir, name), `${JSON.stringify(value, null, 2)}\n`);
  write("summary.json", o.summary);
  write("counters.json", o.counters);
  write("pipeline-counters.json", o.pipelineCounters);
  write("metrics.json", o.sentDatums);
  write("alarms.json", o.alarms);
  fs.writeFileSync(path.join(o.outDir, "emails.txt"), o.emails.join("\n\n---\n\n"));
  if (o.deadLetters.length > 0) fs.writeFileSync(path.join(o.outDir, "dead-letters.jsonl"), `${o.deadLetters.map((l) => JSON.stringify(l)).join("\n")}\n`);
  fs.writeFileSync(
    path.join(o.outDir, "dashboard.html"),
    renderDashboardHtml({ dashboards: o.monitoring.dashboards, store: o.store, title: o.title, generatedAt: new Date(o.finishedAt).toISOString() }),
  );
}
