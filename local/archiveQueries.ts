/**
 * The named queries against the counters: what to pass each query for a range of buckets, and
 * every difference between what the archive's rows add up to and what the counters hold. Pure:
 * the rows come from DuckDB locally or Athena on AWS, the counters from counters.json or the table.
 */
import type { NamedQuery } from "../catalog/archive";
import { sameDecimal } from "../catalog/decimal";
import { seriesKey, sortedDimensions } from "./books";
import type { Counter } from "../catalog/item";
import { WINDOWS } from "../catalog/limits";
import {
  type Catalog,
  COUNTED_METRIC,
  dimensionNames,
  metricEntries,
  MISSING_VALUE,
  OVERFLOW_DIMENSION,
  OVERFLOW_METRIC,
  OVERFLOW_VALUE,
  REJECT_REASONS,
  REJECTED_DIMENSION,
  REJECTED_METRIC,
} from "../catalog/schema";

export const DAY_MS = 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();
const dayOf = (ms: number) => iso(ms).slice(0, 10);

/**
 * A query's four parameters for the buckets [fromMs, toMs): the day partitions that can hold
 * those buckets' rows, then the range itself. A counted record is kept under its event bucket's
 * day, while CountedRecords counts it by arrival, and the event may be up to
 * WINDOWS.countMaxAgeMs before and countMaxAheadMs after its arrival (a day more absorbs the
 * bucket's own length): those days are read too. A rejected record is kept under its arrival's
 * day and counted by arrival bucket; everything else by its event bucket.
 */
export function queryParameters(query: NamedQuery, fromMs: number, toMs: number): [string, string, string, string] {
  const widen = query.metric === COUNTED_METRIC;
  const firstMs = widen ? fromMs - WINDOWS.countMaxAgeMs - DAY_MS : fromMs;
  const lastMs = Math.max(firstMs, widen ? toMs - 1 + WINDOWS.countMaxAheadMs + DAY_MS : toMs - 1);
  return [dayOf(firstMs), dayOf(lastMs), iso(fromMs), iso(toMs)];
}

/** An instant given on the command line: ISO 8601, a time without a zone meaning UTC (as events read). NaN when it is none. */
export function parseInstant(text: string): number {
  const zoned = /T.*(Z|[+-]\d\d:?\d\d)$/i.test(text) || !text.includes("T") ? text : `${text}Z`;
  return /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(zoned) : Number.NaN;
}

/** The UTC days covering [fromMs, toMs]: a default range that reads as whole days. */
export function wholeDays(fromMs: number, lastMs: number): { fromMs: number; toMs: number } {
  return { fromMs: Math.floor(fromMs / DAY_MS) * DAY_MS, toMs: Math.floor(lastMs / DAY_MS) * DAY_MS + DAY_MS };
}

/** One named query's result, every value as text (as DuckDB's valueText and Athena give them). */
export interface QueryRows {
  readonly query: NamedQuery;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** A counter as one side holds it: count and, for metrics with a sum, the exact decimal sum. */
export interface Tally {
  readonly count: number;
  readonly sum?: string;
}

export type DifferenceKind = "missing-from-archive" | "missing-from-counters" | "count" | "sum";

export interface Difference {
  readonly kind: DifferenceKind;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly bucket: string;
  readonly counters?: Tally;
  readonly archive?: Tally;
  /** The difference in one readable line. */
  readonly line: string;
}

/** Sums compared exactly; an absent sum is 0. */
const sameSum = (a: string | undefined, b: string | undefined) => sameDecimal(a ?? "0", b ?? "0");

/** The family a counter belongs to: its metric and its dimension names (a total has none). */
const familyKey = (metric: string, names: readonly string[]) => `${metric}\u0000${[...names].sort().join("\u0000")}`;
/** Bucket starts in one spelling (Athena and DuckDB give back the text the row holds). */
const bucketText = (bucket: string) => (Number.isNaN(Date.parse(bucket)) ? bucket : iso(Date.parse(bucket)));

interface Entry {
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly bucket: string;
  readonly hasSum: boolean;
  readonly tally: Tally;
}

const entryKey = (e: Pick<Entry, "metric" | "dimensions" | "bucket">) => seriesKey(e.metric, e.bucket, e.dimensions);

/** The archive's side: one entry per row of every query, under the counter it must equal. */
function archiveEntries(results: readonly QueryRows[]): Entry[] {
  return results.flatMap(({ query, columns, rows }) => {
    // By position: Athena may give the names back lower-cased.
    if (columns.length !== query.columns.length) throw new Error(`query ${query.id} returned ${columns.length} columns (${columns.join(", ")}), not ${query.columns.join(", ")}`);
    const at = (name: string) => query.columns.indexOf(name);
    const bucket = at("bucket");
    const count = at("count");
    const dims = query.dimensions.map((name) => [name, at(name)] as const);
    const sum = query.hasSum ? at("sum") : -1;
    return rows.map(
      (row): Entry => ({
        metric: query.metric,
        // A dimension column is never null for a counted row; shown as such if it were, it can't match a counter.
        dimensions: Object.fromEntries(dims.map(([name, i]) => [name, row[i] ?? "NULL"])),
        bucket: bucketText(row[bucket] ?? ""),
        hasSum: query.hasSum,
        tally: { count: Number(row[count] ?? 0), ...(query.hasSum && row[sum] !== null ? { sum: row[sum] } : {}) },
      }),
    );
  });
}

const describe = (e: Pick<Entry, "metric" | "dimensions" | "bucket">) => {
  const dims = Object.entries(sortedDimensions(e.dimensions));
  return `${e.metric}${dims.length === 0 ? "" : ` {${dims.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`} @ ${e.bucket}`;
};
const tallyText = (t: Tally, hasSum: boolean) => `count ${t.count}${hasSum ? `, sum ${t.sum ?? "0"}` : ""}`;

/**
 * Every difference between the counters and the archive's rows over the buckets [fromMs, toMs):
 * a counter the archive has no row for, a row no counter holds, a count or an exact sum that
 * differ. Counters outside the range are left out; so are the families of `failed` queries,
 * whose rows could not be read (anything else without rows shows as missing from the archive).
 */
export function compareWithArchive(o: {
  readonly results: readonly QueryRows[];
  readonly counters: readonly Counter[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly failed?: readonly NamedQuery[];
}): Difference[] {
  const inRange = (bucket: string) => {
    const ms = Date.parse(bucket);
    return ms >= o.fromMs && ms < o.toMs;
  };
  const unread = new Set((o.failed ?? []).map((q) => familyKey(q.metric, q.dimensions)));
  const withSum = new Set<string>();
  for (const { query } of o.results) if (query.hasSum) withSum.add(familyKey(query.metric, query.dimensions));
  for (const query of o.failed ?? []) if (query.hasSum) withSum.add(familyKey(query.metric, query.dimensions));

  const archive = new Map<string, Entry>();
  for (const e of archiveEntries(o.results)) if (inRange(e.bucket)) archive.set(entryKey(e), e);
  const counters = new Map<string, Entry>();
  for (const c of o.counters) {
    const family = familyKey(c.metric, Object.keys(c.dimensions));
    const bucket = bucketText(c.bucket);
    if (!inRange(bucket) || unread.has(family)) continue;
    const sum = c.sumText ?? (c.sum === undefined ? undefined : String(c.sum));
    const e: Entry = { metric: c.metric, dimensions: c.dimensions, bucket, hasSum: withSum.has(family) || sum !== undefined, tally: { count: c.count, ...(sum === undefined ? {} : { sum }) } };
    counters.set(entryKey(e), e);
  }

  const differences: Difference[] = [];
  const empty = (t: Tally) => t.count === 0 && sameSum(t.sum, "0");
  for (const key of [...new Set([...counters.keys(), ...archive.keys()])].sort()) {
    const c = counters.get(key);
    const a = archive.get(key);
    const at = (c ?? a)!;
    const hasSum = (c?.hasSum ?? false) || (a?.hasSum ?? false);
    const base = { metric: at.metric, dimensions: sortedDimensions(at.dimensions), bucket: at.bucket, ...(c ? { counters: c.tally } : {}), ...(a ? { archive: a.tally } : {}) };
    if (a === undefined) {
      if (!empty(c!.tally)) differences.push({ ...base, kind: "missing-from-archive", line: `${describe(at)}: the counters hold ${tallyText(c!.tally, hasSum)}, the archive has no row` });
    } else if (c === undefined) {
      if (!empty(a.tally)) differences.push({ ...base, kind: "missing-from-counters", line: `${describe(at)}: no counter, the archive has ${tallyText(a.tally, hasSum)}` });
    } else {
      if (c.tally.count !== a.tally.count) differences.push({ ...base, kind: "count", line: `${describe(at)}: count ${c.tally.count} in the counters vs ${a.tally.count} in the archive` });
      if (hasSum && !sameSum(c.tally.sum, a.tally.sum)) {
        differences.push({ ...base, kind: "sum", line: `${describe(at)}: sum ${c.tally.sum ?? "0"} in the counters vs ${a.tally.sum ?? "0"} in the archive` });
      }
    }
  }
  return differences;
}

/** One counter partition key to read: a metric and its dimension values, in the key's order. */
export interface CounterSeries {
  readonly metric: string;
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/**
 * The values a counter family's dimension can take that are known without reading anything:
 * allowed values with "(none)" and "(other)", every reject reason, every `<metric>.<field>` that
 * can overflow. A capped dimension's kept values are decided at run time, so only "(none)" and
 * "(other)" are known ahead.
 */
function knownValues(catalog: Catalog, metric: string, name: string): string[] {
  if (metric === REJECTED_METRIC && name === REJECTED_DIMENSION) return [...REJECT_REASONS];
  if (metric === OVERFLOW_METRIC && name === OVERFLOW_DIMENSION) return metricEntries(catalog).flatMap(([id, m]) => dimensionNames(m).map((f) => `${id}.${f}`));
  const def = catalog.metrics[metric]?.dimensions?.[name];
  return [...(def?.values ?? []), MISSING_VALUE, OVERFLOW_VALUE];
}

/**
 * Every counter key to Query for the families of `queries`: each total, and for each split every
 * combination of its dimensions' known values and the values its rows in `results` hold. The table
 * can't list a partition's keys without a Scan, so these are the keys looked at. A key that a
 * Query finds counters under and no query returned a row for means records the table counted but
 * the archive doesn't hold (Firehose not yet delivered, or delivered under errors/, or read
 * differently from the analyzer): it shows as missing from the archive. A capped dimension's
 * values come from the registry (`kept`), which holds every value ever counted under its own name.
 */
export function counterSeries(
  catalog: Catalog,
  queries: readonly NamedQuery[],
  results: readonly QueryRows[],
  /** Capped dimensions' kept values by `<metric>.<field>`, from the state table's registry. */
  kept: ReadonlyMap<string, readonly string[]> = new Map(),
): CounterSeries[] {
  const series = new Map<string, CounterSeries>();
  for (const query of queries) {
    const names = query.dimensions;
    const options = names.map((name) => new Set([...knownValues(catalog, query.metric, name), ...(kept.get(`${query.metric}.${name}`) ?? [])]));
    for (const r of results.filter((x) => x.query.id === query.id)) {
      names.forEach((name, i) => {
        const column = query.columns.indexOf(name);
        for (const row of r.rows) if (column >= 0 && row[column] !== null) options[i].add(row[column]!);
      });
    }
    let combinations: string[][] = [[]];
    for (const values of options) combinations = combinations.flatMap((head) => [...values].map((v) => [...head, v]));
    for (const values of combinations) series.set(JSON.stringify([query.metric, names, values]), { metric: query.metric, names, values });
  }
  return [...series.values()];
}
