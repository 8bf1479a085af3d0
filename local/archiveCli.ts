/**
 * What the archive's command-line tools (npm run sql, npm run reconcile) share: finding the local
 * run's pipeline and archive, reading a range, and the error that says what to fix.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCatalog } from "../catalog/load";
import type { Catalog } from "../catalog/schema";
import { ARCHIVE_DIR, archiveObjects } from "./archive";
import { parseInstant } from "./archiveQueries";

/** An option or input the user has to fix; exits 2 with the usage (or 1 for a missing run). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly code = 2,
  ) {
    super(message);
  }
}

/** The local run that writes to `out`. */
const startCommand = (out: string) => (path.resolve(out) === path.resolve("out") ? "npm start" : `npm start -- --out ${out}`);

/** The pipeline the local run in `out` ran: --pipeline, else its summary.json's. */
export function localPipeline(out: string, given: string | undefined): { name: string; catalog: Catalog } {
  let name = given;
  if (name === undefined) {
    const summary = path.join(out, "summary.json");
    if (!fs.existsSync(summary)) throw new UsageError(`no summary.json in ${out}: run ${startCommand(out)} first, or pass --pipeline NAME`, 1);
    name = (JSON.parse(fs.readFileSync(summary, "utf8")) as { pipeline?: string }).pipeline;
    if (typeof name !== "string") throw new UsageError(`${summary} names no pipeline: run npm start again, or pass --pipeline NAME`, 1);
  }
  try {
    return { name, catalog: loadCatalog(name) };
  } catch (error) {
    throw new UsageError(`--pipeline ${name}: ${(error as Error).message}`);
  }
}

/** The archive under a local run's out directory, or a UsageError saying how to get one. */
export function localArchive(out: string): string {
  const dir = path.join(out, ARCHIVE_DIR);
  if (archiveObjects(dir) === 0) throw new UsageError(`no archive under ${dir}: run ${startCommand(out)} first`, 1);
  return dir;
}

export function parseRange(from: string | undefined, to: string | undefined): { fromMs?: number; toMs?: number } {
  const read = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const ms = parseInstant(text);
    if (Number.isNaN(ms)) throw new UsageError(`--${name} ${text}: not an ISO 8601 time; e.g. 2026-11-22 or 2026-11-22T05:00Z`);
    return ms;
  };
  const fromMs = read("from", from);
  const toMs = read("to", to);
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw new UsageError(`--to ${to} is not after --from ${from}`);
  return { fromMs, toMs };
}


/**
 * Runs a command's `main` when its file is the entry point: exits with its code, or with the
 * UsageError's (the usage after a wrong option), or 1 with the error's message.
 */
export function runCommand(main: () => Promise<number>, usage: string): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`error: ${error.message}\n${error.code === 2 ? `\n${usage}\n` : ""}`);
        process.exit(error.code);
      }
      // For npm run sql, DuckDB's own message says what is wrong with the SQL (a parser or binder error).
      process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
