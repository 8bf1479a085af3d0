/**
 * The raw archive's shape, from the catalog: one row per record on the stream with the raw line
 * and the analyzer's own reading of it, the columns of the table SQL sees (the Glue table on AWS,
 * a DuckDB view locally), and the queries that give each counter back from the rows.
 *
 * The shipped queries are written in the SQL Athena (Trino) and DuckDB run the same way: double-
 * quoted identifiers, `''` inside string literals, `?` parameters, `WITH`, `DISTINCT`, `UNION ALL`,
 * `count(*)` and `sum` over decimals. Times are ISO 8601 UTC strings, compared as strings.
 */
import {
  type Catalog,
  COUNTED_METRIC,
  DEFAULT_SUM_DECIMALS,
  dimensionNames,
  metricEntries,
  OVERFLOW_DIMENSION,
  OVERFLOW_METRIC,
  OVERFLOW_VALUE,
  REJECTED_DIMENSION,
  REJECTED_METRIC,
} from "./schema";

/** The table's name in its database (Glue) or connection (DuckDB). */
export const ARCHIVE_TABLE = "events";
/** The partition column: the UTC day (`yyyy-MM-dd`) of the row's bucket, or of its arrival when it has none. */
export const ARCHIVE_PARTITION = "day";
/** Where rows are written: `events/day=2026-11-22/<object>.gz`, Hive-style, so both engines read the partition from the path. */
export const ARCHIVE_PREFIX = `${ARCHIVE_TABLE}/`;
/** Where Firehose writes what it could not transform or deliver, apart from the table. */
export const ARCHIVE_ERROR_PREFIX = "errors/";
/** The first day partition projection enumerates. */
export const ARCHIVE_FIRST_DAY = "2024-01-01";

export type ColumnType = "string" | `decimal(38,${number})`;

export interface ArchiveColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly comment: string;
  /** The catalog field a dimension or sum column holds. */
  readonly field?: string;
  readonly kind: "record" | "dimension" | "sum";
  /** Decimal places of a sum column. */
  readonly decimals?: number;
}

const column = (name: string, comment: string): ArchiveColumn => ({ name, type: "string", comment, kind: "record" });

/** The columns every pipeline's archive has, whatever its catalog. */
export const RECORD_COLUMNS: readonly ArchiveColumn[] = [
  column("shard_id", "the Kinesis shard the record was read from"),
  column("sequence_number", "the record's Kinesis sequence number: with shard_id, one record (Firehose may deliver a record twice)"),
  column("arrival_time", "when Kinesis took the record, ISO 8601 UTC"),
  column("arrival_bucket", "the bucket of arrival_time: CountedRecords and RejectedRecords count by it"),
  column("event_type", "the event's type field as read; null when absent or not a string"),
  column("event_time", "the event's time field as the analyzer reads it, ISO 8601 UTC; null when absent or unreadable"),
  column("bucket", "the start of the bucket the record is counted in, ISO 8601 UTC; null when rejected"),
  column("reject_reason", "why the analyzer rejected the record (as in RejectedRecords); null when counted"),
  column("reject_detail", "what exactly was wrong, as the quarantine keeps it; null when counted"),
  column("line", "the record's data as UTF-8 text; null when it is not valid base64 or UTF-8"),
  column("data_base64", "the record's data, base64, only when line is null"),
];

/** A catalog field's column: lower case (Glue lowers names), anything but a-z, 0-9 and _ as _. */
export const columnName = (field: string): string => field.toLowerCase().replace(/[^a-z0-9_]/g, "_");

interface FieldUse {
  readonly field: string;
  readonly kind: "dimension" | "sum";
  decimals: number;
}

function fieldUses(catalog: Catalog): FieldUse[] {
  const uses: FieldUse[] = [];
  const find = (field: string) => uses.find((u) => u.field === field);
  for (const [, metric] of metricEntries(catalog)) {
    for (const field of dimensionNames(metric)) if (find(field) === undefined) uses.push({ field, kind: "dimension", decimals: 0 });
    if (metric.sum !== undefined) {
      const decimals = metric.sumDecimals ?? DEFAULT_SUM_DECIMALS;
      const use = find(metric.sum);
      if (use === undefined) uses.push({ field: metric.sum, kind: "sum", decimals });
      else use.decimals = Math.max(use.decimals, decimals);
    }
  }
  return uses;
}

/**
 * The table's columns, in order: the record's own, then one per dimension field (the value the
 * record is counted under, `(none)` and `(other)` included), then one per summed field (the
 * amount, exact, at the most decimal places any metric sums it with). The partition column is
 * apart: ARCHIVE_PARTITION.
 */
export function archiveColumns(catalog: Catalog): ArchiveColumn[] {
  return [
    ...RECORD_COLUMNS,
    ...fieldUses(catalog).map(
      (u): ArchiveColumn =>
        u.kind === "dimension"
          ? { name: columnName(u.field), type: "string", comment: `dimension ${u.field}: the value the record is counted under`, field: u.field, kind: "dimension" }
          : { name: columnName(u.field), type: `decimal(38,${u.decimals})`, comment: `summed field ${u.field}, exact`, field: u.field, kind: "sum", decimals: u.decimals },
    ),
  ];
}

/** What keeps a catalog from having one archive table its SQL reads exactly as the analyzer counts. */
export function archiveProblems(catalog: Catalog): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>(RECORD_COLUMNS.map((c) => [c.name, "the archive's own column"]));
  owners.set(ARCHIVE_PARTITION, "the archive's partition column");
  const kinds = new Map<string, "dimension" | "sum">();
  // One column holds a field's reading per row: two metrics of one event must read a dimension alike.
  const bounds = new Map<string, { metric: string; bound: string }>();
  for (const [id, metric] of metricEntries(catalog)) {
    const fields: [string, "dimension" | "sum"][] = [...dimensionNames(metric).map((f): [string, "dimension"] => [f, "dimension"]), ...(metric.sum !== undefined ? [[metric.sum, "sum"] as [string, "sum"]] : [])];
    for (const [field, kind] of fields) {
      const where = `metric "${id}" field "${field}"`;
      const name = columnName(field);
      const owner = owners.get(name);
      if (owner !== undefined && owner !== field) problems.push(`${where}: its archive column "${name}" is also ${owner.startsWith("the archive") ? owner : `field "${owner}"'s`}; rename the field`);
      owners.set(name, field);
      const kind0 = kinds.get(field);
      if (kind0 !== undefined && kind0 !== kind) problems.push(`${where}: the field is a dimension of one metric and summed by another; the archive keeps one column per field`);
      kinds.set(field, kind);
      if (kind === "dimension") {
        const def = metric.dimensions![field];
        const bound = def.values !== undefined ? JSON.stringify(def.values) : `capped:${id}`;
        const key = `${metric.event}\u0000${field}`;
        const seen = bounds.get(key);
        if (seen !== undefined && seen.bound !== bound) {
          problems.push(`${where}: metric "${seen.metric}" counts the same event by "${field}" with other bounds; give both the same allowed values, or one of them the dimension`);
        }
        bounds.set(key, { metric: id, bound });
      }
    }
  }
  return problems;
}

/** Glue and Athena names: lower case letters, digits and _. */
export const glueName = (...parts: string[]): string => parts.join("_").toLowerCase().replace(/[^a-z0-9_]/g, "_");

/** A named query: the SQL that gives one family of counters back from the archive. */
export interface NamedQuery {
  /** Stable and readable: `donations-per-bucket-by-platform`. */
  readonly id: string;
  /** The counter metric its rows match. */
  readonly metric: string;
  /** The catalog's dimension names its rows carry (the counters' own), in order. */
  readonly dimensions: readonly string[];
  readonly hasSum: boolean;
  /** Which time the counters go by: the event's bucket, or the arrival's (the pipeline's own counters). */
  readonly time: "bucket" | "arrival_bucket";
  /**
   * What its rows hold, in order: `bucket`, the dimensions, `count`, then `sum` when it has one.
   * Read results by position: an engine may give the names back in another case.
   */
  readonly columns: readonly string[];
  readonly description: string;
  readonly sql: string;
}

/** The four `?` of every named query, in order. */
export const QUERY_PARAMETERS = [
  "first day partition to read, yyyy-MM-dd",
  "last day partition to read, yyyy-MM-dd",
  "from bucket (inclusive), ISO 8601 UTC, e.g. 2026-11-22T00:00:00.000Z",
  "to bucket (exclusive), ISO 8601 UTC",
] as const;

const q = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** The rows of the range, each record once (Firehose delivers at least once), with the columns asked for. */
function deduplicated(columns: readonly string[], time: "bucket" | "arrival_bucket", where: string): string {
  const selected = ["shard_id", "sequence_number", ...new Set(columns)].map(q).join(", ");
  return [
    `WITH e AS (`,
    `  SELECT DISTINCT ${selected}`,
    `  FROM ${q(ARCHIVE_TABLE)}`,
    `  WHERE ${q(ARCHIVE_PARTITION)} BETWEEN ? AND ? AND ${q(time)} >= ? AND ${q(time)} < ?${where === "" ? "" : `\n    AND ${where}`}`,
    `)`,
  ].join("\n");
}

/**
 * A query's comment lines. Catalog text is the user's: a line break would end the comment and run
 * the rest as SQL, and a `?` would read as one more parameter, so neither reaches the SQL.
 */
function header(description: string): string {
  const safe = description.replace(/[\p{Cc}\u2028\u2029]+/gu, " ").replace(/\?/g, "");
  return [`-- ${safe}`, `-- Parameters, in order: ${QUERY_PARAMETERS.join("; ")}.`].join("\n");
}

/**
 * The named queries of a catalog: per metric, count (and sum) per bucket in total and per
 * dimension values, as the counters hold them; and the pipeline's own CountedRecords,
 * RejectedRecords (total, per reason) and DimensionOverflow (total, per `<metric>.<field>`).
 * Each returns `bucket`, the dimensions under the counters' names, `count` and, with a sum, `sum`.
 */
export function namedQueries(catalog: Catalog): NamedQuery[] {
  const queries: NamedQuery[] = [];
  const overflowBranches: { metric: string; field: string; event: string }[] = [];
  for (const [id, metric] of metricEntries(catalog)) {
    const dims = dimensionNames(metric);
    const sumColumn = metric.sum === undefined ? undefined : columnName(metric.sum);
    const splits: (readonly string[])[] = dims.length === 0 ? [[]] : [[], dims];
    for (const split of splits) {
      const columns = ["bucket", ...split.map(columnName), ...(sumColumn === undefined ? [] : [sumColumn])];
      const keys = ["bucket", ...split.map(columnName)].map(q);
      const outputs = [q("bucket"), ...split.map((f) => `${q(columnName(f))} AS ${q(f)}`), `count(*) AS ${q("count")}`, ...(sumColumn === undefined ? [] : [`sum(${q(sumColumn)}) AS ${q("sum")}`])];
      const what = `${metric.label} (${id}): ${sumColumn === undefined ? "count" : `count and sum of ${metric.sum}`} of "${metric.event}" events per bucket${split.length === 0 ? "" : `, per ${split.join(" and ")}`}`;
      queries.push({
        id: `${id}-per-bucket${split.length === 0 ? "" : `-by-${split.join("-")}`}`,
        metric: id,
        dimensions: split,
        hasSum: sumColumn !== undefined,
        time: "bucket",
        columns: ["bucket", ...split, "count", ...(sumColumn === undefined ? [] : ["sum"])],
        description: what,
        sql: [
          header(what),
          deduplicated(columns, "bucket", `${q("reject_reason")} IS NULL AND ${q("event_type")} = ${literal(metric.event)}`),
          `SELECT ${outputs.join(", ")}`,
          `FROM e`,
          `GROUP BY ${keys.join(", ")}`,
          `ORDER BY ${keys.join(", ")}`,
        ].join("\n"),
      });
    }
    for (const field of dims) overflowBranches.push({ metric: id, field, event: metric.event });
  }

  const pipeline = (metric: string, suffix: string, description: string, sql: string, dimensions: string[] = []): void => {
    const time = metric === OVERFLOW_METRIC ? "bucket" : "arrival_bucket";
    queries.push({ id: `${metric}-per-bucket${suffix}`, metric, dimensions, hasSum: false, time, columns: ["bucket", ...dimensions, "count"], description, sql });
  };
  const arrival = (description: string, where: string, extra: string[]) =>
    [
      header(description),
      deduplicated(["arrival_bucket", ...extra], "arrival_bucket", where),
      `SELECT ${[`${q("arrival_bucket")} AS ${q("bucket")}`, ...extra.map((c) => `${q(c)} AS ${q(REJECTED_DIMENSION)}`), `count(*) AS ${q("count")}`].join(", ")}`,
      `FROM e`,
      `GROUP BY ${["arrival_bucket", ...extra].map(q).join(", ")}`,
      `ORDER BY ${["arrival_bucket", ...extra].map(q).join(", ")}`,
    ].join("\n");
  pipeline(COUNTED_METRIC, "", `${COUNTED_METRIC}: records counted, per bucket of arrival`, arrival(`${COUNTED_METRIC}: records counted, per bucket of arrival`, `${q("reject_reason")} IS NULL`, []));
  const rejected = `${REJECTED_METRIC}: records rejected, per bucket of arrival`;
  pipeline(REJECTED_METRIC, "", rejected, arrival(rejected, `${q("reject_reason")} IS NOT NULL`, []));
  const byReason = `${rejected}, per reason`;
  pipeline(REJECTED_METRIC, `-by-${REJECTED_DIMENSION}`, byReason, arrival(byReason, `${q("reject_reason")} IS NOT NULL`, ["reject_reason"]), [REJECTED_DIMENSION]);

  if (overflowBranches.length > 0) {
    // One pass over the rows: each row meets the (event, <metric>.<field>) pairs that could overflow,
    // and counts once per pair whose field it holds as (other). (A UNION per pair would read the
    // days once per pair: Athena inlines the WITH into each branch, and each read counts against the cap.)
    const fields = [...new Set(overflowBranches.map((b) => columnName(b.field)))];
    const pairs = overflowBranches.map((b) => `(${literal(b.event)}, ${literal(`${b.metric}.${b.field}`)})`).join(", ");
    const value = `CASE b.${q(OVERFLOW_DIMENSION)} ${overflowBranches.map((b) => `WHEN ${literal(`${b.metric}.${b.field}`)} THEN e.${q(columnName(b.field))}`).join(" ")} END`;
    for (const split of [[], [OVERFLOW_DIMENSION]]) {
      const description = `${OVERFLOW_METRIC}: dimension values counted under ${OVERFLOW_VALUE}, per bucket${split.length === 0 ? "" : ", per <metric>.<field>"}`;
      const keys = ["bucket", ...split].map(q).join(", ");
      pipeline(
        OVERFLOW_METRIC,
        split.length === 0 ? "" : `-by-${OVERFLOW_DIMENSION}`,
        description,
        [
          header(description),
          deduplicated(["event_type", "bucket", ...fields], "bucket", `${q("reject_reason")} IS NULL`),
          `SELECT ${keys}, count(*) AS ${q("count")}`,
          `FROM (`,
          `  SELECT e.${q("bucket")} AS ${q("bucket")}, b.${q(OVERFLOW_DIMENSION)} AS ${q(OVERFLOW_DIMENSION)}`,
          `  FROM e CROSS JOIN (VALUES ${pairs}) AS b(${q("event")}, ${q(OVERFLOW_DIMENSION)})`,
          `  WHERE e.${q("event_type")} = b.${q("event")} AND ${value} = ${literal(OVERFLOW_VALUE)}`,
          `) AS o`,
          `GROUP BY ${keys}`,
          `ORDER BY ${keys}`,
        ].join("\n"),
        split,
      );
    }
  }
  return queries;
}
