/**
 * One Athena query, start to rows: StartQueryExecution with execution parameters, polling
 * GetQueryExecution until it ends, then every page of GetQueryResults as text.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  StartQueryExecutionCommand,
} from "@aws-sdk/client-athena";

export interface AthenaTarget {
  /** The Glue database the archive's table is in. */
  readonly database: string;
  /** The workgroup: where results go and the per-query scan cap. */
  readonly workgroup: string;
}

export interface AthenaRows {
  readonly queryExecutionId: string;
  readonly columns: string[];
  readonly types: string[];
  readonly rows: (string | null)[][];
  readonly bytesScanned: number;
}

/** A query that ended other than SUCCEEDED, with Athena's reason (the workgroup's scan cap, a syntax error). */
export class AthenaQueryError extends Error {
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    readonly reason: string,
    readonly bytesScanned: number,
  ) {
    super(`Athena query ${queryExecutionId} ${state}: ${reason} (${bytesScanned.toLocaleString("en-US")} bytes scanned)`);
    this.name = "AthenaQueryError";
  }
}

/**
 * Athena substitutes execution parameters into the statement as SQL: a string must be given as a
 * quoted literal, or it is read as a number or an identifier.
 */
export const athenaString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Waits between polls: short at first (most small queries end within a second), then backing off. */
export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
}
const DEFAULT_BACKOFF: Backoff = { firstMs: 250, maxMs: 5000 };
/** GetQueryResults' largest page. */
const PAGE_ROWS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function failureReason(execution: QueryExecution | undefined): string {
  const status = execution?.Status;
  const error = status?.AthenaError;
  const detail = error?.ErrorMessage !== undefined && error.ErrorMessage !== status?.StateChangeReason ? error.ErrorMessage : undefined;
  return [status?.StateChangeReason, detail].filter((s) => s !== undefined && s !== "").join("; ") || "Athena gave no reason";
}

/**
 * Runs one statement whose `?` take `parameters` (plain strings, quoted here) and returns its
 * rows as text, null where Athena returns no value. Throws AthenaQueryError when the query
 * fails or is cancelled; `onWait` hears each poll, for progress.
 */
export async function runAthenaQuery(
  client: AthenaClient,
  o: { sql: string; parameters: readonly string[]; target: AthenaTarget; backoff?: Backoff; onWait?: (state: string, waitedMs: number) => void },
): Promise<AthenaRows> {
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: o.sql,
      ...(o.parameters.length > 0 ? { ExecutionParameters: o.parameters.map(athenaString) } : {}),
      QueryExecutionContext: { Database: o.target.database },
      WorkGroup: o.target.workgroup,
    }),
  );
  const id = started.QueryExecutionId;
  if (id === undefined) throw new Error("Athena started a query without an id");

  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  let delay = backoff.firstMs;
  let waited = 0;
  let execution: QueryExecution | undefined;
  for (;;) {
    await sleep(delay);
    waited += delay;
    delay = Math.min(backoff.maxMs, delay * 2);
    execution = (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution;
    const state = execution?.Status?.State ?? "UNKNOWN";
    if (state === "SUCCEEDED") break;
    const bytes = execution?.Statistics?.DataScannedInBytes ?? 0;
    if (state === "FAILED" || state === "CANCELLED") throw new AthenaQueryError(id, state, failureReason(execution), bytes);
    o.onWait?.(state, waited);
  }

  let columns: string[] = [];
  let types: string[] = [];
  const rows: (string | null)[][] = [];
  let NextToken: string | undefined;
  let first = true;
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken, MaxResults: PAGE_ROWS }));
    const info = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    if (first) {
      columns = info.map((c) => c.Name ?? "");
      types = info.map((c) => c.Type ?? "");
    }
    // A SELECT's first page starts with the column names as a row.
    const pageRows = (page.ResultSet?.Rows ?? []).slice(first ? 1 : 0);
    for (const row of pageRows) rows.push((row.Data ?? []).map((d) => d.VarCharValue ?? null));
    first = false;
    NextToken = page.NextToken;
  } while (NextToken);
  return { queryExecutionId: id, columns, types, rows, bytesScanned: execution?.Statistics?.DataScannedInBytes ?? 0 };
}
