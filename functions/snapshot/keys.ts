/**
 * What a snapshot reads, as pure functions of the page model: the counter keys (never a Scan),
 * the range asked for, the alarms whose state it carries.
 */
import type { MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { counterKey } from "../../catalog/item";
import { DEFAULT_RANGE, type LiveAlarmState, type LiveModel, SNAPSHOT_RANGES, type SnapshotRange } from "../../catalog/live";

/** A capped dimension, whose kept values are in the state table (`keptValuesKey(metric, field)`). */
export interface CappedDimension {
  readonly metric: string;
  readonly field: string;
}

/** `<metric>.<field>`, as kept values are looked up. */
export const dimensionId = (metric: string, field: string): string => `${metric}.${field}`;

export function cappedDimensions(model: LiveModel): CappedDimension[] {
  return model.metrics.flatMap((m) => m.dimensions.filter((d) => d.capped).map((d) => ({ metric: m.id, field: d.name })));
}

/**
 * Every counter key the page may show: each metric's total; for a metric with dimensions, every
 * combination of its dimensions' values in key order (the listed values, the missing and overflow
 * values, and for a capped dimension the values kept so far); and the pipeline's own counted and
 * rejected totals and rejections per reason. A key no event reached costs one empty Query page
 * (half a read unit); the combinations multiply, so a metric with several capped dimensions near
 * their caps costs a Query per combination.
 */
export function snapshotKeys(model: LiveModel, kept: ReadonlyMap<string, readonly string[]> = new Map()): string[] {
  const keys: string[] = [];
  for (const metric of model.metrics) {
    keys.push(counterKey(metric.id, [], []));
    if (metric.dimensions.length === 0) continue;
    const names = metric.dimensions.map((d) => d.name);
    const values = metric.dimensions.map((d) => [...new Set([...d.known, ...(d.capped ? (kept.get(dimensionId(metric.id, d.name)) ?? []) : [])])]);
    let combos: string[][] = [[]];
    for (const list of values) combos = combos.flatMap((combo) => list.map((v) => [...combo, v]));
    for (const combo of combos) keys.push(counterKey(metric.id, names, combo));
  }
  const { counted, rejected, rejectedBy, reasons } = model.health;
  keys.push(counterKey(counted, [], []), counterKey(rejected, [], []));
  for (const reason of reasons) keys.push(counterKey(rejected, [rejectedBy], [reason]));
  return keys;
}

/** The range a page asked for (`?range=`), the default when it asked for none. */
export function parseRange(value: string | undefined): { range: SnapshotRange } | { error: string } {
  if (value === undefined) return { range: DEFAULT_RANGE };
  if (Object.hasOwn(SNAPSHOT_RANGES, value)) return { range: value as SnapshotRange };
  return { error: `range must be one of ${Object.keys(SNAPSHOT_RANGES).join(", ")}, not "${value.slice(0, 40)}"` };
}

/** The deployed names of the catalog's alarms, in the page's order. */
export const modelAlarmNames = (model: LiveModel): string[] => model.metrics.flatMap((m) => m.alarms.map((a) => a.name));

/** DescribeAlarms takes at most 100 names a call. */
export const ALARM_NAMES_PER_CALL = 100;

export function alarmBatches(names: readonly string[], size = ALARM_NAMES_PER_CALL): string[][] {
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += size) batches.push(names.slice(i, i + size));
  return batches;
}

const STATES: readonly string[] = ["OK", "ALARM", "INSUFFICIENT_DATA"] satisfies LiveAlarmState["state"][];

/** An alarm as DescribeAlarms describes it → its state for the page; undefined for a state the page doesn't know. */
export function alarmState(a: MetricAlarm): LiveAlarmState | undefined {
  if (a.AlarmName === undefined || a.StateValue === undefined || !STATES.includes(a.StateValue)) return undefined;
  const since = a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp;
  return {
    name: a.AlarmName,
    state: a.StateValue as LiveAlarmState["state"],
    ...(a.StateReason === undefined ? {} : { reason: a.StateReason }),
    ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
  };
}
