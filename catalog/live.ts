/**
 * The live app's contract: what the snapshot endpoint answers, what the publisher pushes, what
 * the page is generated from, and the runtime config it loads. One definition for the deployed
 * functions, the local server and the browser code, so the two sides can't drift.
 *
 * Both the snapshot and the pushes carry counter *parts* (one per counter, bucket and Kinesis
 * shard, as the table keeps them) with their absolute values and the shard's high-water mark,
 * never increments. A part with a higher mark supersedes one with a lower mark, so the page
 * converges to the table whatever arrives twice, late or out of order (a push published before
 * the snapshot was read but delivered after it changes nothing).
 */
import { type CounterPart, fromMark } from "./item";
import type { Unit } from "./schema";

/** One counter part: a counter (metric, dimension values, bucket) as one Kinesis shard counted into it. */
export interface LivePart {
  /** The counter's partition key (`counterKey`). */
  readonly key: string;
  readonly metric: string;
  readonly dims: Readonly<Record<string, string>>;
  /** The bucket's start, ISO 8601 UTC. */
  readonly bucket: string;
  /** The Kinesis shard the part counts for. */
  readonly shard: string;
  readonly count: number;
  /** The exact decimal sum, for metrics that sum a field. */
  readonly sum?: string;
  /** The last Kinesis sequence number applied, without the table's zero padding; absent in `add` mode. */
  readonly mark?: string;
}

/** A counter part as the live app carries it: the exact sum's text, the mark without its padding. */
export function livePart(p: CounterPart): LivePart {
  return {
    key: p.key,
    metric: p.metric,
    dims: p.dimensions,
    bucket: p.bucket,
    shard: p.shard,
    count: p.count,
    ...(p.sumText === undefined ? {} : { sum: p.sumText }),
    ...(p.mark === undefined ? {} : { mark: fromMark(p.mark) }),
  };
}

/** Orders two marks (decimal strings without leading zeros): negative when `a` is older. */
export function compareMarks(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether `next` should replace `held` for the same part: a newer mark; without marks to go by
 * (a table counting with a bare ADD keeps none), a count at least as high, since counts only grow.
 */
export function supersedes(next: LivePart, held: LivePart | undefined): boolean {
  if (held === undefined) return true;
  if (next.mark === undefined || held.mark === undefined) return next.count >= held.count;
  return compareMarks(next.mark, held.mark) >= 0;
}

/** A part's identity: one per counter key, bucket and shard. */
export const partId = (p: Pick<LivePart, "key" | "bucket" | "shard">): string => `${p.key}\u0000${p.bucket}\u0000${p.shard}`;

/** What one push carries: the parts a batch of table changes left, as they now are. */
export interface LiveEvent {
  readonly parts: readonly LivePart[];
}

/** A catalog alarm's state as CloudWatch holds it. */
export interface LiveAlarmState {
  /** The alarm's name, `<stack>-<pipeline>-<metric>-<alarm>`. */
  readonly name: string;
  readonly state: "OK" | "ALARM" | "INSUFFICIENT_DATA";
  readonly reason?: string;
  /** When it last changed state, ISO 8601. */
  readonly since?: string;
}

/** The ranges a page may ask for, in hours. */
export const SNAPSHOT_RANGES = { "1h": 1, "6h": 6, "24h": 24 } as const;
export type SnapshotRange = keyof typeof SNAPSHOT_RANGES;
export const DEFAULT_RANGE: SnapshotRange = "1h";

/** What `GET /api/snapshot?range=1h` answers. */
export interface Snapshot {
  /** When the table was read, ISO 8601. */
  readonly readAt: string;
  readonly range: SnapshotRange;
  /** The first bucket's start and the last (current) bucket's start, ISO 8601, both included. */
  readonly from: string;
  readonly to: string;
  readonly parts: readonly LivePart[];
  readonly alarms: readonly LiveAlarmState[];
}

/** The bucket starts a range covers at `nowMs`: from the oldest whole bucket in it to the current one. */
export function snapshotWindow(range: SnapshotRange, nowMs: number, bucketSeconds: number): { fromMs: number; lastMs: number } {
  const bucketMs = bucketSeconds * 1000;
  const lastMs = Math.floor(nowMs / bucketMs) * bucketMs;
  const fromMs = Math.max(0, lastMs - SNAPSHOT_RANGES[range] * 3_600_000 + bucketMs);
  return { fromMs, lastMs };
}

/** A dimension as the page draws it, with the values it knows before any counter exists. */
export interface LiveDimension {
  readonly name: string;
  /** Listed values, then the missing and overflow values; for a capped dimension only those two. */
  readonly known: readonly string[];
  /** Whether more values may be kept (a capped dimension: the first `maxValues` seen). */
  readonly capped: boolean;
}

export interface LiveAlarm {
  /** The deployed alarm's name (`catalogAlarms`), so its state can be looked up. */
  readonly name: string;
  /** The catalog's alarm name, e.g. "low". */
  readonly alarm: string;
  readonly series: "count" | "sum";
  /** The threshold as deployed: the catalog's or the stack's override. */
  readonly threshold: number;
  readonly comparison: "<" | "<=" | ">" | ">=";
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly description?: string;
}

export interface LiveMetric {
  readonly id: string;
  readonly label: string;
  readonly group: string;
  /** The summed field and its unit, for metrics that sum one. */
  readonly sum?: { readonly field: string; readonly unit: Unit; readonly decimals: number };
  readonly dimensions: readonly LiveDimension[];
  readonly alarms: readonly LiveAlarm[];
}

/** The page's model, generated from the pipeline's catalog and the stack's settings at build time. */
export interface LiveModel {
  readonly stack: string;
  readonly pipeline: string;
  readonly namespace: string;
  readonly bucketSeconds: number;
  readonly metrics: readonly LiveMetric[];
  /** The pipeline's own counters the page shows beside the catalog's, on scales of their own. */
  readonly health: { readonly counted: string; readonly rejected: string; readonly rejectedBy: string; readonly reasons: readonly string[] };
}

/** Where a page finds its data: written beside the page at deploy time, served by the local server locally. */
export interface LiveConfig {
  /** The snapshot endpoint, absolute or relative to the page (`api/snapshot`). */
  readonly snapshotUrl: string;
  /** AppSync Events (or the local server speaking its protocol). */
  readonly events: {
    /** `wss://<realtime dns>/event/realtime` (locally `ws://127.0.0.1:<port>/event/realtime`). */
    readonly realtimeUrl: string;
    /** The API's HTTP host, which AppSync wants in every authorization header. */
    readonly httpHost: string;
    /** The channel the publisher publishes to, `/<namespace>/<path>`. */
    readonly channel: string;
  };
  /** Cognito sign-in (hosted UI, authorization code with PKCE); absent locally (loopback only). */
  readonly auth?: {
    readonly region: string;
    readonly userPoolId: string;
    readonly clientId: string;
    /** The hosted UI's origin, `https://<prefix>.auth.<region>.amazoncognito.com`. */
    readonly domain: string;
  };
}

/** The AppSync Events channel namespace every pipeline's app uses, and the channel in it. */
export const LIVE_NAMESPACE = "live";
export const LIVE_CHANNEL = `/${LIVE_NAMESPACE}/counters`;
/** The snapshot's path under the site (CloudFront routes `/api/*` to the HTTP API). */
export const SNAPSHOT_PATH = "/api/snapshot";
