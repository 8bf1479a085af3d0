import { GRANULARITIES, type Granularity } from "../../catalog/schema";
import type { CounterMode } from "./counters";

/** What the analyzer needs beyond its catalog and clients: where to write, and how. */
export interface AnalyzerSettings {
  readonly tableName: string;
  readonly quarantineBucket: string;
  readonly mode: CounterMode;
  readonly ttlDays: number;
}

/** The environment the analyzer component sets. */
export interface AnalyzerEnv extends AnalyzerSettings {
  readonly granularity: Granularity;
  /** The pipeline's state table: capped dimensions' kept values and the unapplied ledger. */
  readonly stateTable: string;
}

export const ANALYZER_ENV = {
  tableName: "COUNTER_TABLE",
  quarantineBucket: "QUARANTINE_BUCKET",
  mode: "COUNTER_MODE",
  granularity: "GRANULARITY",
  ttlDays: "COUNTER_TTL_DAYS",
  stateTable: "STATE_TABLE",
} as const;

/** Reads the analyzer's environment once, failing loudly on a bad deploy. */
export function analyzerEnv(env: NodeJS.ProcessEnv): AnalyzerEnv {
  const get = (key: string): string => {
    const value = env[key];
    if (!value) throw new Error(`environment variable ${key} is not set; the analyzer component sets it`);
    return value;
  };
  const mode = get(ANALYZER_ENV.mode);
  if (mode !== "exactly-once" && mode !== "add") throw new Error(`${ANALYZER_ENV.mode} must be "exactly-once" or "add", not "${mode}"`);
  const granularity = get(ANALYZER_ENV.granularity) as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new Error(`${ANALYZER_ENV.granularity} must be ${GRANULARITIES.join(" or ")}, not "${granularity}"`);
  const ttlDays = Number(get(ANALYZER_ENV.ttlDays));
  if (!Number.isInteger(ttlDays) || ttlDays < 1) throw new Error(`${ANALYZER_ENV.ttlDays} must be a whole number of days`);
  return { tableName: get(ANALYZER_ENV.tableName), quarantineBucket: get(ANALYZER_ENV.quarantineBucket), mode, granularity, ttlDays, stateTable: get(ANALYZER_ENV.stateTable) };
}
