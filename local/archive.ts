/**
 * The local archive: the layout Firehose writes on AWS (gzipped JSON lines under
 * `events/day=<yyyy-MM-dd>/`), written under the run's out directory by the archiver's own
 * transformation, and read with DuckDB through a view with the Glue table's name and columns.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { ARCHIVE_ERROR_PREFIX, ARCHIVE_PARTITION, ARCHIVE_PREFIX, ARCHIVE_TABLE, archiveColumns } from "../catalog/archive";
import type { Catalog } from "../catalog/schema";
import type { TransformedRecord } from "../functions/archiver/process";

/** The archive's folder under a run's out directory. */
export const ARCHIVE_DIR = "archive";

/**
 * Writes one delivery's rows as Firehose does: one gzipped object per day partition, named
 * `<stream>-1-<yyyy-MM-dd-HH-mm-ss>-<id>.gz` after the delivery time. Returns the files written.
 */
export function writeDelivery(archiveDir: string, o: { deliveryStream: string; deliveredAtMs: number; id: string; rows: readonly Pick<TransformedRecord, "line" | "day">[] }): string[] {
  const byDay = new Map<string, string[]>();
  for (const r of o.rows) {
    const lines = byDay.get(r.day);
    if (lines === undefined) byDay.set(r.day, [r.line]);
    else lines.push(r.line);
  }
  const stamp = new Date(o.deliveredAtMs).toISOString().slice(0, 19).replace(/[T:]/g, "-");
  const files: string[] = [];
  for (const [day, lines] of [...byDay].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const dir = path.join(archiveDir, ARCHIVE_PREFIX, `${ARCHIVE_PARTITION}=${day}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${o.deliveryStream}-1-${stamp}-${o.id}.gz`);
    fs.writeFileSync(file, gzipSync(lines.join("")));
    files.push(file);
  }
  return files;
}

/**
 * Records the archiver answered ProcessingFailed, kept as Firehose keeps them: JSON lines with the
 * record's data under `errors/processing-failed/day=<delivery day>/`, apart from the table.
 */
export function writeErrors(archiveDir: string, o: { deliveryStream: string; deliveredAtMs: number; id: string; records: readonly { recordId: string; data: string; errorCode: string }[] }): string {
  const dir = path.join(archiveDir, ARCHIVE_ERROR_PREFIX, "processing-failed", `${ARCHIVE_PARTITION}=${new Date(o.deliveredAtMs).toISOString().slice(0, 10)}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${o.deliveryStream}-1-${new Date(o.deliveredAtMs).toISOString().slice(0, 19).replace(/[T:]/g, "-")}-${o.id}.gz`);
  const lines = o.records.map((r) => `${JSON.stringify({ attemptsMade: 1, arrivalTimestamp: o.deliveredAtMs, errorCode: r.errorCode, errorMessage: "the archiver answered ProcessingFailed", rawData: r.data })}\n`);
  fs.writeFileSync(file, gzipSync(lines.join("")));
  return file;
}

const duckType = (type: string) => (type === "string" ? "VARCHAR" : type.toUpperCase().replace(/\s/g, ""));
const sqlString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** The archive's objects, as DuckDB reads them (forward slashes, any platform). */
function objectsGlob(archiveDir: string): string {
  return `${path.resolve(archiveDir).split(path.sep).join("/")}/${ARCHIVE_PREFIX}${ARCHIVE_PARTITION}=*/*.gz`;
}

/** How many objects the table's part of the archive holds (Firehose's error output is apart). */
export function archiveObjects(archiveDir: string): number {
  const partitionDir = path.join(archiveDir, ARCHIVE_PREFIX);
  return fs.existsSync(partitionDir) ? fs.readdirSync(partitionDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".gz")).length : 0;
}

export interface ArchiveDb {
  readonly connection: DuckDBConnection;
  /** Objects the view reads. */
  readonly objects: number;
  close(): void;
}

/**
 * An in-memory DuckDB whose view `events` is the Glue table: the same columns and types, the
 * `day` partition read from the path. An archive with no object yet gives an empty view.
 */
export async function openArchive(archiveDir: string, catalog: Catalog): Promise<ArchiveDb> {
  const columns = archiveColumns(catalog);
  const objects = archiveObjects(archiveDir);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const q = (name: string) => `"${name}"`;
  const view =
    objects === 0
      ? `SELECT ${[...columns.map((c) => `CAST(NULL AS ${duckType(c.type)}) AS ${q(c.name)}`), `CAST(NULL AS VARCHAR) AS ${q(ARCHIVE_PARTITION)}`].join(", ")} WHERE false`
      : `SELECT ${[...columns.map((c) => q(c.name)), q(ARCHIVE_PARTITION)].join(", ")} FROM read_json(${sqlString(objectsGlob(archiveDir))}, format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = {${sqlString(ARCHIVE_PARTITION)}: 'VARCHAR'}, columns = {${columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckType(c.type))}`).join(", ")}})`;
  await connection.run(`CREATE VIEW ${q(ARCHIVE_TABLE)} AS ${view}`);
  return {
    connection,
    objects,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A value as text: decimals exact, dates and timestamps in ISO form, null as null. */
export function valueText(value: DuckDBValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  return String(value);
}

export interface QueryResult {
  readonly columns: string[];
  readonly types: string[];
  readonly rows: (string | null)[][];
}

/** Runs one statement (with `?` parameters) and returns every row as text. */
export async function runQuery(db: ArchiveDb, sql: string, parameters: readonly string[] = []): Promise<QueryResult> {
  const reader = await db.connection.runAndReadAll(sql, parameters.length > 0 ? [...parameters] : undefined);
  return {
    columns: reader.columnNames(),
    types: reader.columnTypes().map(String),
    rows: reader.getRows().map((row) => row.map(valueText)),
  };
}

/**
 * The first and last bucket start the archive holds, counted or by arrival (epoch ms), for a
 * default range; undefined when it holds no row.
 */
export async function archiveSpan(db: ArchiveDb): Promise<{ firstMs: number; lastMs: number } | undefined> {
  const { rows } = await runQuery(db, `SELECT least(min("bucket"), min("arrival_bucket")), greatest(max("bucket"), max("arrival_bucket")) FROM "${ARCHIVE_TABLE}"`);
  const [first, last] = rows[0] ?? [];
  if (first === null || first === undefined || last === null || last === undefined) return undefined;
  return { firstMs: Date.parse(first), lastMs: Date.parse(last) };
}
