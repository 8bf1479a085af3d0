import type { Bucket } from "../../dashboards/catalog";
import type { CounterMode } from "./counters";

/** The environment the analyzer component sets; read once, failing loudly on a bad deploy. */
export interface AnalyzerEnv {
  readonly tableName: string;
  readonly quarantineBucket: string;
  readonly mode: CounterMode;
  readonly bucket: Bucket;
  readonly ttlDays: number;
}

export const ANALYZER_ENV = {
  tableName: "COUNTER_TABLE",
  quarantineBucket: "QUARANTINE_BUCKET",
  mode: "COUNTER_MODE",
  bucket: "BUCKET",
  ttlDays: "COUNTER_TTL_DAYS",
} as const;

export function analyzerEnv(env: NodeJS.ProcessEnv): AnalyzerEnv {
  const get = (key: string): string => {
    const value = env[key];
    if (!value) throw new Error(`environment variable ${key} is not set; the analyzer component sets it`);
    return value;
  };
  const mode = get(ANALYZER_ENV.mode);
  if (mode !== "exactly-once" && mode !== "add") throw new Error(`${ANALYZER_ENV.mode} must be "exactly-once" or "add", not "${mode}"`);
  const bucket = get(ANALYZER_ENV.bucket);
  if (bucket !== "minute" && bucket !== "hour") throw new Error(`${ANALYZER_ENV.bucket} must be "minute" or "hour", not "${bucket}"`);
  const ttlDays = Number(get(ANALYZER_ENV.ttlDays));
  if (!Number.isInteger(ttlDays) || ttlDays < 1) throw new Error(`${ANALYZER_ENV.ttlDays} must be a whole number of days`);
  return { tableName: get(ANALYZER_ENV.tableName), quarantineBucket: get(ANALYZER_ENV.quarantineBucket), mode, bucket, ttlDays };
}
