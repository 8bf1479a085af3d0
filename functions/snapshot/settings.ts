import { GRANULARITIES, type Granularity } from "../../catalog/schema";

/** The environment the live app component sets on the snapshot function. */
export const SNAPSHOT_ENV = {
  tableName: "COUNTER_TABLE",
  /** Where capped dimensions' kept values are (`values#<metric>.<field>` items). */
  stateTable: "STATE_TABLE",
  granularity: "GRANULARITY",
  /** The stack and pipeline: with the catalog they name the alarms whose state the snapshot carries. */
  stack: "STACK",
  pipeline: "PIPELINE",
  /** The stack's catalog threshold overrides, JSON `{ "<metric>.<alarm>": number }`. */
  thresholds: "ALARM_THRESHOLDS",
} as const;

export interface SnapshotEnv {
  readonly tableName: string;
  readonly stateTable: string;
  readonly granularity: Granularity;
  readonly stack: string;
  readonly pipeline: string;
  readonly thresholds: Readonly<Record<string, number>>;
}

/** Reads the snapshot function's environment once, failing loudly on a bad deploy. */
export function snapshotEnv(env: NodeJS.ProcessEnv): SnapshotEnv {
  const get = (key: string): string => {
    const value = env[key];
    if (!value) throw new Error(`environment variable ${key} is not set; the live app component sets it`);
    return value;
  };
  const granularity = get(SNAPSHOT_ENV.granularity) as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new Error(`${SNAPSHOT_ENV.granularity} must be ${GRANULARITIES.join(" or ")}, not "${granularity}"`);
  const text = env[SNAPSHOT_ENV.thresholds]?.trim();
  let thresholds: Record<string, number> = {};
  if (text) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${SNAPSHOT_ENV.thresholds} must be JSON like {"<metric>.<alarm>": 5}, not ${text.slice(0, 80)}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "number" || !Number.isFinite(v))) {
      throw new Error(`${SNAPSHOT_ENV.thresholds} must be a JSON object of numbers {"<metric>.<alarm>": 5}, not ${text.slice(0, 80)}`);
    }
    thresholds = parsed as Record<string, number>;
  }
  return { tableName: get(SNAPSHOT_ENV.tableName), stateTable: get(SNAPSHOT_ENV.stateTable), granularity, stack: get(SNAPSHOT_ENV.stack), pipeline: get(SNAPSHOT_ENV.pipeline), thresholds };
}
