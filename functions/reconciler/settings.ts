import { GRANULARITIES, type Granularity } from "../../catalog/schema";

/**
 * GetMetricData can take up to 48 hours to show datapoints whose timestamps are more than 24
 * hours old, so a bucket further back than that may look short when it isn't: correcting it
 * would add what is already there. The lookback stays inside a day.
 */
export const MAX_LOOKBACK_HOURS = 23;

/** The longest time between runs: the corrections alarm watches three runs, and an alarm's window is at most a day. */
export const MAX_RECONCILE_EVERY_MINUTES = 480;

/** What the reconciler needs beyond its catalog and clients: where the counters are, and which buckets to check. */
export interface ReconcilerSettings {
  readonly tableName: string;
  /** Buckets that started at most this long ago are checked. */
  readonly lookbackHours: number;
  /**
   * A bucket is checked once it ended at least this long ago, and a counter only when the
   * analyzer last changed it at least this long ago: the forwarder may still be sending it, and
   * CloudWatch takes a little while to show what it was sent.
   */
  readonly settleMinutes: number;
}

/** The environment the reconciler component sets. */
export interface ReconcilerEnv extends ReconcilerSettings {
  readonly granularity: Granularity;
}

export const RECONCILER_ENV = {
  tableName: "COUNTER_TABLE",
  granularity: "GRANULARITY",
  lookbackHours: "RECONCILE_LOOKBACK_HOURS",
  settleMinutes: "RECONCILE_SETTLE_MINUTES",
} as const;

/** Problems of the two windows, each naming what to change; shared by the environment check and the component. */
export function reconcilerSettingsProblems(s: { lookbackHours: number; settleMinutes: number }): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(s.lookbackHours) || s.lookbackHours < 1 || s.lookbackHours > MAX_LOOKBACK_HOURS) {
    problems.push(`lookbackHours ${s.lookbackHours} must be a whole number from 1 to ${MAX_LOOKBACK_HOURS} (GetMetricData may show older datapoints late)`);
  }
  if (!Number.isInteger(s.settleMinutes) || s.settleMinutes < 0 || s.settleMinutes >= s.lookbackHours * 60) {
    problems.push(`settleMinutes ${s.settleMinutes} must be a whole number of minutes, at least 0 and shorter than the lookback`);
  }
  return problems;
}

/** Reads the reconciler's environment once, failing loudly on a bad deploy. */
export function reconcilerEnv(env: NodeJS.ProcessEnv): ReconcilerEnv {
  const get = (key: string): string => {
    const value = env[key];
    if (!value) throw new Error(`environment variable ${key} is not set; the reconciler component sets it`);
    return value;
  };
  const granularity = get(RECONCILER_ENV.granularity) as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new Error(`${RECONCILER_ENV.granularity} must be ${GRANULARITIES.join(" or ")}, not "${granularity}"`);
  const lookbackHours = Number(get(RECONCILER_ENV.lookbackHours));
  const settleMinutes = Number(get(RECONCILER_ENV.settleMinutes));
  const problems = reconcilerSettingsProblems({ lookbackHours, settleMinutes });
  if (problems.length > 0) throw new Error(`${RECONCILER_ENV.lookbackHours}/${RECONCILER_ENV.settleMinutes}: ${problems.join("; ")}`);
  return { tableName: get(RECONCILER_ENV.tableName), granularity, lookbackHours, settleMinutes };
}
