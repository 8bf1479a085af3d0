/**
 * `npm run sql`: SQL over the local run's archive, with DuckDB, through a view shaped like the
 * Glue table Athena queries on AWS (same name, columns and types), so a query tried here runs
 * there too.
 *
 *   npm run sql -- "select event_type, count(*) from events group by 1"
 *   npm run sql -- --list                       the named queries
 *   npm run sql -- --query donations-per-bucket-by-platform --from 2026-11-22
 *   npm run sql                                 interactive, when stdin is a terminal
 */
import * as readline from "node:readline";
import { parseArgs } from "node:util";
import { ARCHIVE_PARTITION, archiveColumns, type NamedQuery, namedQueries } from "../catalog/archive";
import type { Catalog } from "../catalog/schema";
import { type ArchiveDb, archiveSpan, openArchive, type QueryResult, runQuery } from "./archive";
import { localArchive, localPipeline, parseRange, runCommand, UsageError } from "./archiveCli";
import { queryParameters, wholeDays } from "./archiveQueries";

const USAGE = `usage: npm run sql -- [--out DIR] [--pipeline NAME] [--csv] "SQL"
       npm run sql -- --query ID [--from ISO] [--to ISO] [--csv]
       npm run sql -- --list
       npm run sql                  interactive when stdin is a terminal, else the statements it reads

  SQL              one statement over the view events: the archive's columns, as the Glue table
                   has them (.schema in the interactive mode lists them), partitioned by day
  --query ID       run a named query: the SQL that gives one family of counters back (see --list)
  --from ISO       its first bucket, e.g. 2026-11-22 or 2026-11-22T05:00 (UTC unless a zone is
                   given; default: the first day the archive holds)
  --to ISO         the end of its range, exclusive (default: the day after the last it holds)
  --list           list the named queries: id and what each counts
  --csv            print CSV (RFC 4180, NULL as an empty field) instead of a table
  --out DIR        the local run's outputs (default: out); the archive is DIR/archive
  --pipeline NAME  whose catalog shapes the view (default: the one DIR/summary.json names)

Interactive: end each statement with ;  .queries lists the named queries, .schema the view's
columns, .quit leaves. Results go to stdout, errors to stderr. Exit code 0, 1 when the SQL fails
or there is no archive yet, 2 when an option is wrong.`;

/** A cell wider than this is cut, so one long raw line doesn't push the table off the screen. */
const MAX_CELL = 60;
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL|REAL)/i;

/** A value as one table cell: NULL spelled out, control characters made visible, long text cut with an ellipsis. */
function cell(value: string | null): string {
  if (value === null) return "NULL";
  const flat = value.replace(/\r?\n/g, "↵").replace(/\t/g, " ");
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

/** An aligned text table: header, separator, rows (numbers right-aligned), then the row count. */
export function formatTable(result: QueryResult): string {
  const right = result.types.map((t) => NUMERIC.test(t));
  const cells = result.rows.map((row) => row.map(cell));
  const widths = result.columns.map((name, i) => Math.max(cell(name).length, ...cells.map((row) => row[i].length)));
  const line = (values: string[], align: boolean[]) => values.map((v, i) => (align[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(" | ").trimEnd();
  const lines = [line(result.columns.map(cell), right), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map((row) => line(row, right))];
  lines.push(`${result.rows.length} row${result.rows.length === 1 ? "" : "s"}`);
  return lines.join("\n");
}

/** CSV as RFC 4180 has it; NULL is an empty field. */
export function formatCsv(result: QueryResult): string {
  const field = (v: string | null) => (v === null ? "" : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [result.columns, ...result.rows].map((row) => row.map(field).join(",")).join("\n");
}

const listQueries = (queries: readonly NamedQuery[]) => {
  const width = Math.max(...queries.map((q) => q.id.length));
  return queries.map((q) => `${q.id.padEnd(width)}  ${q.description}`).join("\n");
};

/** The view's columns with their types and what each holds: the Glue table's, partition last. */
function schema(catalog: Catalog): string {
  const columns = [...archiveColumns(catalog).map((c) => [c.name, c.type, c.comment]), [ARCHIVE_PARTITION, "string", "the partition: the UTC day of the row's bucket, or of its arrival when rejected"]];
  const name = Math.max(...columns.map((c) => c[0].length));
  const type = Math.max(...columns.map((c) => c[1].length));
  return columns.map(([n, t, comment]) => `${n.padEnd(name)}  ${t.padEnd(type)}  ${comment}`).join("\n");
}

/**
 * Statements from a terminal (with prompts) or a pipe (without): each ends with `;`, and a line
 * starting with `.` between statements is a command. A failed statement is reported and the
 * session goes on.
 */
async function session(db: ArchiveDb, catalog: Catalog, print: (s: string) => void, format: (r: QueryResult) => string): Promise<{ statements: number; failed: number }> {
  const tty = process.stdin.isTTY === true;
  const rl = readline.createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
  if (tty) print(`SQL over the archive's view events; end statements with ;  .queries, .schema, .quit`);
  let buffer = "";
  let failed = 0;
  let statements = 0;
  const prompt = () => {
    if (!tty) return;
    rl.setPrompt(buffer === "" ? "sql> " : "  -> ");
    rl.prompt();
  };
  prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (buffer === "" && trimmed.startsWith(".")) {
      statements += 1;
      if (trimmed === ".quit" || trimmed === ".exit") break;
      else if (trimmed === ".queries") print(listQueries(namedQueries(catalog)));
      else if (trimmed === ".schema") print(schema(catalog));
      else process.stderr.write(`unknown command ${trimmed}: .queries, .schema or .quit\n`);
    } else if (trimmed !== "" || buffer !== "") {
      buffer += `${line}\n`;
      if (trimmed.endsWith(";")) {
        const sql = buffer;
        buffer = "";
        statements += 1;
        try {
          print(format(await runQuery(db, sql)));
        } catch (error) {
          failed += 1;
          process.stderr.write(`error: ${(error as Error).message}\n`);
        }
      }
    }
    prompt();
  }
  rl.close();
  if (buffer.trim() !== "") {
    failed += 1;
    process.stderr.write(`error: the last statement has no closing ; and was not run\n`);
  }
  return { statements, failed };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        out: { type: "string", default: "out" },
        pipeline: { type: "string" },
        query: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        list: { type: "boolean", default: false },
        csv: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const print = (s: string) => process.stdout.write(`${s}\n`);
  if (values.help) {
    print(USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`give the SQL as one argument, in quotes (got ${positionals.length} arguments)`);
  const sql = positionals[0];
  if (sql !== undefined && values.query !== undefined) throw new UsageError("give either SQL or --query ID, not both");
  if ((values.from !== undefined || values.to !== undefined) && values.query === undefined) throw new UsageError("--from and --to go with --query ID");
  const range = parseRange(values.from, values.to);
  const out = values.out ?? "out";
  // The archive first: with no run yet, "run npm start" is the one thing to say.
  const archiveDir = values.list ? undefined : localArchive(out);
  const { catalog } = localPipeline(out, values.pipeline);
  const queries = namedQueries(catalog);
  if (values.list) {
    print(listQueries(queries));
    return 0;
  }
  const named = values.query === undefined ? undefined : queries.find((q) => q.id === values.query);
  if (values.query !== undefined && named === undefined) throw new UsageError(`--query ${values.query}: no such named query; they are:\n${listQueries(queries)}`);
  const format = values.csv ? formatCsv : formatTable;

  const db = await openArchive(archiveDir ?? localArchive(out), catalog);
  try {
    if (named !== undefined) {
      const span = await archiveSpan(db);
      const days = span === undefined ? { fromMs: 0, toMs: 0 } : wholeDays(span.firstMs, span.lastMs);
      const parameters = queryParameters(named, range.fromMs ?? days.fromMs, range.toMs ?? days.toMs);
      process.stderr.write(`${named.id}: ${named.description}; buckets ${parameters[2]} to ${parameters[3]}\n`);
      print(format(await runQuery(db, named.sql, parameters)));
      return 0;
    }
    if (sql !== undefined) {
      print(format(await runQuery(db, sql)));
      return 0;
    }
    const { statements, failed } = await session(db, catalog, print, format);
    if (statements === 0 && process.stdin.isTTY !== true) throw new UsageError("no SQL given: pass it as an argument, or pipe statements ending with ; to stdin");
    return failed > 0 ? 1 : 0;
  } finally {
    db.close();
  }
}

if (require.main === module) runCommand(main, USAGE);
