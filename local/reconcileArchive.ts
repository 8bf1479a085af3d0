/**
 * `npm run reconcile`: the counters against the archive. Every named query is run over the
 * archive for a range of buckets, and each row it returns must equal the counter of the same
 * metric, dimensions and bucket; every difference is printed, then a summary line.
 *
 *   npm run reconcile                          the local run's: DuckDB over out/archive against
 *                                              out/counters.json and out/pipeline-counters.json
 *   npm run reconcile -- --stack dev           a deployed stack's: Athena over the Glue table
 *                                              against the counter table (Query per key)
 *
 * Differences and the summary go to stdout, progress to stderr. Exit 0 when there is none, 1 when
 * there are differences (or a query failed), 2 when an option is wrong.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { AthenaClient } from "@aws-sdk/client-athena";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { keptValuesKey, STATE, STATE_TABLE } from "../catalog/state";
import { type NamedQuery, namedQueries } from "../catalog/archive";
import { type Counter, counterKey } from "../catalog/item";
import { type Catalog, dimensionNames, metricEntries } from "../catalog/schema";
import { queryCounters } from "../functions/shared/queryCounters";
import { type ArchiveDb, archiveSpan, openArchive, runQuery } from "./archive";
import { localArchive, localPipeline, parseRange, runCommand, UsageError } from "./archiveCli";
import { compareWithArchive, counterSeries, type CounterSeries, DAY_MS, type Difference, queryParameters, type QueryRows, wholeDays } from "./archiveQueries";
import { AthenaQueryError, type AthenaTarget, type Backoff, runAthenaQuery } from "./athena";
import { readStack, StackError, stackOutputs } from "./stackConfig";

const USAGE = `usage: npm run reconcile -- [--out DIR] [--pipeline NAME] [--from ISO] [--to ISO]
       npm run reconcile -- --stack NAME [--outputs FILE] [--pipeline NAME] [--from ISO] [--to ISO]

  Runs every named query over the archive and compares its rows with the counters.

  --out DIR        the local run's outputs (default: out): archive/, counters.json, pipeline-counters.json
  --pipeline NAME  locally, whose catalog (default: the one in DIR/summary.json);
                   with --stack, only this pipeline (default: every pipeline of the stack)
  --from ISO       first bucket compared, e.g. 2026-11-22 or 2026-11-22T05:00 (UTC unless a zone is given)
  --to ISO         end of the range, exclusive. Default range: locally, the whole days of every
                   bucket in the counters and the archive; with --stack, the buckets whose counters
                   and rows can't have expired (counterTtlDays, archiveRetentionDays) up to the
                   start of the hour before this one
  --stack NAME     a deployed stack: Athena (its glueDatabase, athenaWorkgroup) against its counter
                   table, from \`pulumi stack output --json --stack NAME\`
  --outputs FILE   that command's output saved to a file, instead of asking the Pulumi CLI

Differences and the summary go to stdout, progress to stderr. Exit code 0 when the counters equal
the archive, 1 when they differ or a query failed, 2 when an option is wrong.`;

/** A query that returned no rows to compare, and why. */
export interface QueryFailure {
  readonly query: NamedQuery;
  readonly message: string;
}

export interface Reconciliation {
  readonly pipeline: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly queries: number;
  readonly differences: Difference[];
  readonly failures: QueryFailure[];
  /** Counters and archive rows inside the range, compared. */
  readonly counters: number;
  readonly rows: number;
  readonly bytesScanned?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const n = (value: number) => value.toLocaleString("en-US");

/** Every named query over the local archive, with DuckDB. */
export async function duckdbResults(db: ArchiveDb, queries: readonly NamedQuery[], fromMs: number, toMs: number): Promise<QueryRows[]> {
  const results: QueryRows[] = [];
  for (const query of queries) results.push({ query, ...(await runQuery(db, query.sql, queryParameters(query, fromMs, toMs))) });
  return results;
}

/** Every named query in Athena, one after another (a workgroup caps concurrent queries); a failed one is reported, not thrown. */
export async function athenaResults(o: {
  athena: AthenaClient;
  target: AthenaTarget;
  queries: readonly NamedQuery[];
  fromMs: number;
  toMs: number;
  say: (line: string) => void;
  backoff?: Backoff;
}): Promise<{ results: QueryRows[]; failures: QueryFailure[]; bytesScanned: number }> {
  const results: QueryRows[] = [];
  const failures: QueryFailure[] = [];
  let bytesScanned = 0;
  for (const [i, query] of o.queries.entries()) {
    const label = `query ${i + 1} of ${o.queries.length} (${query.id})`;
    try {
      const run = await runAthenaQuery(o.athena, {
        sql: query.sql,
        parameters: queryParameters(query, o.fromMs, o.toMs),
        target: o.target,
        backoff: o.backoff,
        onWait: (state, waitedMs) => {
          if (waitedMs >= 5000) o.say(`${label}: ${state.toLowerCase()} for ${Math.round(waitedMs / 1000)} s`);
        },
      });
      bytesScanned += run.bytesScanned;
      results.push({ query, columns: run.columns, rows: run.rows });
      o.say(`${label}: ${n(run.rows.length)} rows, ${n(run.bytesScanned)} bytes scanned`);
    } catch (error) {
      if (!(error instanceof AthenaQueryError)) throw error;
      bytesScanned += error.bytesScanned;
      failures.push({ query, message: error.message });
      o.say(`${label}: ${error.state}`);
    }
  }
  return { results, failures, bytesScanned };
}

/** Queries in flight at once: enough to hide latency, few enough not to spike an on-demand table. */
const QUERY_CONCURRENCY = 8;

/** Each series' counters over the buckets [fromMs, toMs): one Query per partition key (never a Scan). */
export async function readSeriesCounters(o: { dynamo: DynamoDBClient; tableName: string; series: readonly CounterSeries[]; fromMs: number; toMs: number; say: (line: string) => void }): Promise<Counter[]> {
  const counters: Counter[] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < o.series.length) {
      const s = o.series[next++];
      // The range's end is exclusive: its last bucket starts before toMs.
      const found = await queryCounters(o.dynamo, { tableName: o.tableName, partitionKey: counterKey(s.metric, s.names, s.values), fromMs: o.fromMs, lastMs: o.toMs - 1 });
      counters.push(...found.counters);
      done += 1;
      if (done % 100 === 0) o.say(`counter keys read: ${n(done)} of ${n(o.series.length)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, o.series.length) }, worker));
  return counters;
}

const inRange = (bucket: string, fromMs: number, toMs: number) => Date.parse(bucket) >= fromMs && Date.parse(bucket) < toMs;

function reconciliation(o: { pipeline: string; fromMs: number; toMs: number; queries: readonly NamedQuery[]; results: QueryRows[]; failures: QueryFailure[]; counters: readonly Counter[]; bytesScanned?: number }): Reconciliation {
  const differences = compareWithArchive({ results: o.results, counters: o.counters, fromMs: o.fromMs, toMs: o.toMs, failed: o.failures.map((f) => f.query) });
  return {
    pipeline: o.pipeline,
    fromMs: o.fromMs,
    toMs: o.toMs,
    queries: o.queries.length,
    differences,
    failures: o.failures,
    counters: o.counters.filter((c) => inRange(c.bucket, o.fromMs, o.toMs)).length,
    rows: o.results.reduce((sum, r) => sum + r.rows.length, 0),
    ...(o.bytesScanned === undefined ? {} : { bytesScanned: o.bytesScanned }),
  };
}

/** Each capped dimension's kept values, `<metric>.<field>` → values, read from the registry. */
export async function keptValues(dynamo: DynamoDBClient, stateTable: string, catalog: Catalog): Promise<Map<string, string[]>> {
  const kept = new Map<string, string[]>();
  for (const [id, metric] of metricEntries(catalog)) {
    for (const field of dimensionNames(metric)) {
      if (metric.dimensions![field].values !== undefined) continue;
      const item = await dynamo.send(new GetItemCommand({ TableName: stateTable, Key: { [STATE_TABLE.partitionKey]: { S: keptValuesKey(id, field) } }, ConsistentRead: true }));
      kept.set(`${id}.${field}`, item.Item?.[STATE.values]?.SS ?? []);
    }
  }
  return kept;
}

/** A deployed pipeline: Athena over its archive, then a Query per counter key its rows and catalog name. */
export async function reconcileDeployed(o: {
  pipeline: string;
  catalog: Catalog;
  athena: AthenaClient;
  dynamo: DynamoDBClient;
  target: AthenaTarget;
  tableName: string;
  /** The pipeline's state table: its registry lists every kept value of a capped dimension. */
  stateTable?: string;
  fromMs: number;
  toMs: number;
  say: (line: string) => void;
  backoff?: Backoff;
}): Promise<Reconciliation> {
  const queries = namedQueries(o.catalog);
  const { results, failures, bytesScanned } = await athenaResults({ ...o, queries });
  const kept = o.stateTable === undefined ? new Map<string, string[]>() : await keptValues(o.dynamo, o.stateTable, o.catalog);
  const series = counterSeries(
    o.catalog,
    queries.filter((q) => !failures.some((f) => f.query.id === q.id)),
    results,
    kept,
  );
  o.say(`${o.pipeline}: reading ${n(series.length)} counter keys from ${o.tableName}`);
  const counters = await readSeriesCounters({ dynamo: o.dynamo, tableName: o.tableName, series, fromMs: o.fromMs, toMs: o.toMs, say: o.say });
  return reconciliation({ pipeline: o.pipeline, fromMs: o.fromMs, toMs: o.toMs, queries, results, failures, counters, bytesScanned });
}

/** The local run's: DuckDB over its archive against the counters it wrote. */
export async function reconcileLocal(o: { pipeline: string; catalog: Catalog; archiveDir: string; counters: readonly Counter[]; fromMs?: number; toMs?: number }): Promise<Reconciliation> {
  const db = await openArchive(o.archiveDir, o.catalog);
  try {
    let { fromMs, toMs } = o;
    if (fromMs === undefined || toMs === undefined) {
      const span = await archiveSpan(db);
      const buckets = [...o.counters.map((c) => Date.parse(c.bucket)), ...(span === undefined ? [] : [span.firstMs, span.lastMs])].filter((ms) => !Number.isNaN(ms));
      const days = buckets.length === 0 ? { fromMs: 0, toMs: 0 } : wholeDays(Math.min(...buckets), Math.max(...buckets));
      fromMs ??= days.fromMs;
      toMs ??= days.toMs;
    }
    const queries = namedQueries(o.catalog);
    const results = await duckdbResults(db, queries, fromMs, toMs);
    return reconciliation({ pipeline: o.pipeline, fromMs, toMs, queries, results, failures: [], counters: o.counters });
  } finally {
    db.close();
  }
}

/** The lines a reconciliation prints: each failure and difference, then the summary. */
export function reportLines(r: Reconciliation): string[] {
  const range = `${iso(r.fromMs)} to ${iso(r.toMs)}`;
  const lines = [...r.failures.map((f) => `${r.pipeline}: ${f.query.id} FAILED, not compared: ${f.message}`), ...r.differences.map((d) => `${r.pipeline}: ${d.line}`)];
  const scanned = r.bytesScanned === undefined ? "" : `, ${n(r.bytesScanned)} bytes scanned`;
  const compared = `${n(r.counters)} counters, ${n(r.rows)} archive rows, ${r.queries - r.failures.length} of ${r.queries} queries, buckets ${range}${scanned}`;
  if (r.differences.length === 0 && r.failures.length === 0) {
    lines.push(`${r.pipeline}: no differences: the counters equal the archive (${compared})`);
  } else {
    const kinds = new Map<string, number>();
    for (const d of r.differences) kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
    const parts = [...kinds].map(([kind, count]) => `${count} ${kind}`);
    if (r.failures.length > 0) parts.push(`${r.failures.length} failed ${r.failures.length === 1 ? "query" : "queries"}`);
    lines.push(`${r.pipeline}: ${n(r.differences.length)} difference${r.differences.length === 1 ? "" : "s"} (${parts.join(", ")}) (${compared})`);
  }
  return lines;
}

function readCountersFile(file: string): Counter[] {
  if (!fs.existsSync(file)) throw new UsageError(`no ${path.basename(file)} in ${path.dirname(file)}: run npm start first`, 1);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Counter[];
}

interface StackOutputs {
  readonly pipelines?: Record<string, { counterTableName?: string; stateTableName?: string; glueDatabase?: string; athenaWorkgroup?: string }>;
}

/** A counter's buckets live counterTtlDays; the newest hour is left for Firehose's buffer (up to 15 min) and late batches. */
const SETTLE_MS = 3_600_000;

async function deployed(values: { stack: string; outputs?: string; pipeline?: string; from?: string; to?: string }, say: (line: string) => void): Promise<Reconciliation[]> {
  let stack: ReturnType<typeof readStack>;
  try {
    stack = readStack(values.stack);
  } catch (error) {
    if (error instanceof StackError) throw new UsageError(`--stack ${values.stack}: ${error.message}`);
    throw error;
  }
  const pipelines = values.pipeline === undefined ? stack.pipelines : stack.pipelines.filter((p) => p.name === values.pipeline);
  if (pipelines.length === 0) throw new UsageError(`--pipeline ${values.pipeline}: stack ${values.stack} has no such pipeline (it has ${stack.pipelines.map((p) => p.name).join(", ")})`);
  const range = parseRange(values.from, values.to);
  const outputs = stackOutputs(values.stack, values.outputs) as StackOutputs;
  const athena = new AthenaClient({ region: stack.region });
  const dynamo = new DynamoDBClient({ region: stack.region });
  const reports: Reconciliation[] = [];
  for (const pipeline of pipelines) {
    const out = outputs.pipelines?.[pipeline.name];
    if (out?.counterTableName === undefined || out.glueDatabase === undefined || out.athenaWorkgroup === undefined) {
      throw new UsageError(`stack ${values.stack} has no counterTableName, glueDatabase and athenaWorkgroup outputs for pipeline ${pipeline.name}; deploy it (pulumi up) first`, 1);
    }
    const nowMs = Date.now();
    // Neither side may have expired: counters live counterTtlDays, archived rows archiveRetentionDays.
    const keptDays = Math.min(pipeline.settings.counterTtlDays, pipeline.settings.archive.retentionDays);
    const fromMs = range.fromMs ?? Math.ceil((nowMs - keptDays * DAY_MS) / DAY_MS) * DAY_MS;
    const toMs = range.toMs ?? Math.floor((nowMs - SETTLE_MS) / 3_600_000) * 3_600_000;
    say(`${pipeline.name}: ${namedQueries(pipeline.catalog).length} named queries in Athena (${out.glueDatabase}, workgroup ${out.athenaWorkgroup}), buckets ${iso(fromMs)} to ${iso(toMs)}`);
    reports.push(
      await reconcileDeployed({ pipeline: pipeline.name, catalog: pipeline.catalog, athena, dynamo, target: { database: out.glueDatabase, workgroup: out.athenaWorkgroup }, tableName: out.counterTableName, stateTable: out.stateTableName, fromMs, toMs, say }),
    );
  }
  return reports;
}

async function local(values: { out: string; pipeline?: string; from?: string; to?: string }, say: (line: string) => void): Promise<Reconciliation[]> {
  const range = parseRange(values.from, values.to);
  const archiveDir = localArchive(values.out);
  const { name, catalog } = localPipeline(values.out, values.pipeline);
  const counters = [...readCountersFile(path.join(values.out, "counters.json")), ...readCountersFile(path.join(values.out, "pipeline-counters.json"))];
  say(`${name}: ${namedQueries(catalog).length} named queries over ${archiveDir} against ${n(counters.length)} counters`);
  return [await reconcileLocal({ pipeline: name, catalog, archiveDir, counters, ...range })];
}

async function main(): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let values;
  try {
    values = parseArgs({
      options: {
        out: { type: "string", default: "out" },
        pipeline: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        stack: { type: "string" },
        outputs: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.outputs !== undefined && values.stack === undefined) throw new UsageError("--outputs goes with --stack NAME");
  const reports = values.stack !== undefined ? await deployed({ ...values, stack: values.stack }, say) : await local({ ...values, out: values.out ?? "out" }, say);
  for (const r of reports) for (const line of reportLines(r)) process.stdout.write(`${line}\n`);
  return reports.some((r) => r.differences.length > 0 || r.failures.length > 0) ? 1 : 0;
}

if (require.main === module) runCommand(main, USAGE);
