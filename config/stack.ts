/**
 * Stack config: read raw, validated all at once before any resource is declared, with errors
 * that name the key and the fix. Types and defaults live in Pulumi.yaml's `config:` schema,
 * which the CLI applies; this module only checks what arrives.
 */
import { assertNoProblems, type Catalog, CATALOG_NAME, catalogProblems, GRANULARITIES, GRANULARITY_SECONDS, type Granularity, metricEntries, minCounterTtlDays, WINDOWS } from "../catalog";
import { alarmKey } from "../dashboards/alarms";
import type { CounterMode } from "../functions/analyzer/counters";
import { MAX_LOOKBACK_HOURS, MAX_RECONCILE_EVERY_MINUTES } from "../functions/reconciler/settings";

export const PROJECT = "realtime-analytics";

export type StreamMode = "provisioned" | "on-demand";
export type StartingPosition = "LATEST" | "TRIM_HORIZON";

export interface MappingSettings {
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly startingPosition: StartingPosition;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeSeconds: number;
  readonly parallelizationFactor: number;
}

export interface FunctionSettings {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

/** One pipeline's settings, resolved: the stack's shared keys plus the pipeline's own thresholds. */
export interface PipelineSettings {
  readonly stream: { readonly mode: StreamMode; readonly shardCount: number; readonly retentionHours: number };
  readonly granularity: Granularity;
  readonly counterMode: CounterMode;
  readonly counterTtlDays: number;
  readonly protectData: boolean;
  readonly analyzer: FunctionSettings & { readonly mapping: MappingSettings };
  readonly forwarder: FunctionSettings & { readonly mapping: MappingSettings };
  readonly logRetentionDays: number;
  readonly quarantineRetentionDays: number;
  /** The raw event archive: how long it keeps records, how often Firehose writes, what one query may scan. */
  readonly archive: { readonly retentionDays: number; readonly bufferSeconds: number; readonly scanLimitMb: number };
  readonly alarmEmails: readonly string[];
  /** Who may sign in to the live app: one Cognito user (and an email invite) each. */
  readonly dashboardViewers: readonly string[];
  /** This pipeline's catalog threshold overrides, keyed `<metricId>.<alarmName>`. */
  readonly alarmThresholds: Readonly<Record<string, number>>;
  readonly iteratorAgeAlarmMs: number;
  readonly rejectedRecordsAlarmThreshold: number;
  /** The reconciler's schedule and windows. */
  readonly reconcile: { readonly everyMinutes: number; readonly lookbackHours: number; readonly settleMinutes: number };
}

/** A pipeline of the stack: its name (also its catalog's), its catalog and its settings. */
export interface PipelineConfig {
  readonly name: string;
  readonly catalog: Catalog;
  readonly settings: PipelineSettings;
}

/** Every key of the project's config, with the type Pulumi.yaml declares for it. */
export const CONFIG_KEYS = {
  pipelines: "array",
  streamMode: "string",
  shardCount: "integer",
  streamRetentionHours: "integer",
  granularity: "string",
  counterMode: "string",
  counterTtlDays: "integer",
  protectData: "boolean",
  startingPosition: "string",
  maximumRetryAttempts: "integer",
  maximumRecordAgeSeconds: "integer",
  analyzerBatchSize: "integer",
  analyzerBatchingWindowSeconds: "integer",
  analyzerParallelizationFactor: "integer",
  analyzerMemoryMb: "integer",
  analyzerTimeoutSeconds: "integer",
  forwarderBatchSize: "integer",
  forwarderBatchingWindowSeconds: "integer",
  forwarderMemoryMb: "integer",
  forwarderTimeoutSeconds: "integer",
  logRetentionDays: "integer",
  quarantineRetentionDays: "integer",
  archiveRetentionDays: "integer",
  archiveBufferSeconds: "integer",
  athenaScanLimitMb: "integer",
  alarmEmails: "array",
  dashboardViewers: "array",
  alarmThresholds: "array",
  iteratorAgeAlarmMs: "integer",
  rejectedRecordsAlarmThreshold: "integer",
  reconcileEveryMinutes: "integer",
  reconcileLookbackHours: "integer",
  reconcileSettleMinutes: "integer",
} as const;
export type ConfigKey = keyof typeof CONFIG_KEYS;

/** Keys that were renamed: a stack file still setting one would otherwise be ignored silently. */
export const RENAMED_KEYS: Readonly<Record<string, ConfigKey>> = { bucket: "granularity" };

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Firehose's buffering interval range, in seconds. */
export const ARCHIVE_BUFFER_SECONDS = { min: 60, max: 900 } as const;
/** Athena refuses a smaller per-query scan cutoff than 10 MB. */
export const MIN_SCAN_LIMIT_MB = 10;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`stack config has ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

// A pragmatic address check: one @, a dot in the domain, no spaces. SNS confirms the rest by mail.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Validates raw config values (strings as `pulumi config` stores them, or parsed JSON for
 * arrays), loads each pipeline's catalog with `loadCatalog` and checks the thresholds against
 * them. Throws one ConfigError listing every config problem, then a CatalogError for a catalog
 * that doesn't fit the settings.
 */
export function parseConfig(raw: (key: string) => unknown, loadCatalog: (name: string) => Catalog): PipelineConfig[] {
  const problems: string[] = [];
  const fail = (key: string, message: string, fix: string) => problems.push(`${PROJECT}:${key} ${message}. Fix: ${fix}`);
  for (const [old, renamed] of Object.entries(RENAMED_KEYS)) {
    if (raw(old) !== undefined) fail(old, `was renamed ${renamed}`, `pulumi config rm ${old} && pulumi config set ${renamed} ${String(raw(old))}`);
  }

  const text = (key: ConfigKey): string | undefined => {
    const v = raw(key);
    if (v === undefined) {
      fail(key, "is not set", `declare it in Pulumi.yaml's config: block or run \`pulumi config set ${key} <value>\``);
      return undefined;
    }
    return String(v);
  };
  const oneOf = <T extends string>(key: ConfigKey, allowed: readonly T[]): T => {
    const v = text(key);
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) {
      fail(key, `is "${v}", not one of ${allowed.join(", ")}`, `pulumi config set ${key} ${allowed[0]}`);
    }
    return v as T;
  };
  const int = (key: ConfigKey, min: number, max: number, why = ""): number => {
    const v = text(key);
    if (v === undefined) return Number.NaN;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
      fail(key, `is ${JSON.stringify(v)}, must be a whole number from ${min} to ${max}${why}`, `pulumi config set ${key} ${Math.max(min, Math.min(max, Math.round(Number.isFinite(n) ? n : min)))}`);
    }
    return n;
  };
  const bool = (key: ConfigKey): boolean => {
    const v = text(key);
    if (v !== undefined && v !== "true" && v !== "false") fail(key, `is "${v}", not true or false`, `pulumi config set ${key} false`);
    return v === "true";
  };
  const list = (key: ConfigKey): string[] => {
    let v = raw(key);
    if (typeof v === "string") {
      try {
        v = JSON.parse(v);
      } catch {
        // reported below
      }
    }
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      fail(key, "must be a list of strings", `pulumi config set --path '${key}[0]' <value>`);
      return [];
    }
    return v as string[];
  };

  const streamMode = oneOf<StreamMode>("streamMode", ["provisioned", "on-demand"]);
  const shardCount = int("shardCount", 1, 500);
  const retentionHours = int("streamRetentionHours", 24, 8760);
  const granularity = oneOf<Granularity>("granularity", GRANULARITIES);
  const counterMode = oneOf<CounterMode>("counterMode", ["exactly-once", "add"]);
  const counterTtlDays = int("counterTtlDays", 1, 3650);
  const protectData = bool("protectData");
  const startingPosition = oneOf<StartingPosition>("startingPosition", ["LATEST", "TRIM_HORIZON"]);
  const maximumRetryAttempts = int("maximumRetryAttempts", 0, 10_000, " (finite, so a poison batch reaches the dead-letter queue)");
  const maximumRecordAgeSeconds = int(
    "maximumRecordAgeSeconds",
    60,
    WINDOWS.maxRecordAgeSeconds,
    " (so a counted change still reaches CloudWatch's 14-day window: events are counted up to 13 days old, and each of the two mappings may take this long)",
  );
  const minTtl = minCounterTtlDays(retentionHours);
  if (Number.isInteger(counterTtlDays) && Number.isInteger(retentionHours) && counterTtlDays < minTtl) {
    fail(
      "counterTtlDays",
      `is ${counterTtlDays}, but a counter can still be written ${minTtl - 1}+ days after its bucket (events up to 13 days late, then replays for the ${retentionHours} h the stream keeps them), and an item that expired first would count a retry again`,
      `pulumi config set counterTtlDays ${minTtl}`,
    );
  }

  const mapping = (prefix: "analyzer" | "forwarder", parallelizationFactor: number): MappingSettings => ({
    batchSize: int(`${prefix}BatchSize`, 1, 10_000),
    batchingWindowSeconds: int(`${prefix}BatchingWindowSeconds`, 0, 300),
    startingPosition,
    maximumRetryAttempts,
    maximumRecordAgeSeconds,
    parallelizationFactor,
  });
  const parallelizationFactor = int("analyzerParallelizationFactor", 1, 10);
  if (counterMode === "exactly-once" && parallelizationFactor > 1) {
    fail(
      "analyzerParallelizationFactor",
      `is ${parallelizationFactor}, but exactly-once counters need per-shard order (factor 1)`,
      "pulumi config set analyzerParallelizationFactor 1 (add shards for throughput), or set counterMode add and accept drift under retries",
    );
  }
  const analyzer = {
    memoryMb: int("analyzerMemoryMb", 128, 10_240),
    timeoutSeconds: int("analyzerTimeoutSeconds", 1, 900),
    mapping: mapping("analyzer", parallelizationFactor),
  };
  const forwarder = {
    memoryMb: int("forwarderMemoryMb", 128, 10_240),
    timeoutSeconds: int("forwarderTimeoutSeconds", 1, 900),
    mapping: mapping("forwarder", 1),
  };
  for (const [prefix, fn] of [
    ["analyzer", analyzer],
    ["forwarder", forwarder],
  ] as const) {
    // A full batch must finish well inside the timeout, or every retry times out the same way.
    const needed = Math.ceil(10 + fn.mapping.batchSize / 500);
    if (fn.timeoutSeconds < needed) {
      fail(`${prefix}TimeoutSeconds`, `is ${fn.timeoutSeconds}s, too short for a ${fn.mapping.batchSize}-record batch (needs at least ${needed}s)`, `pulumi config set ${prefix}TimeoutSeconds ${needed}`);
    }
  }

  const logRetentionDays = int("logRetentionDays", 1, 3653);
  if (Number.isInteger(logRetentionDays) && !LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    const nearest = LOG_RETENTION_DAYS.find((d) => d >= logRetentionDays) ?? 3653;
    fail("logRetentionDays", `is ${logRetentionDays}, which CloudWatch Logs does not offer (${LOG_RETENTION_DAYS.join(", ")})`, `pulumi config set logRetentionDays ${nearest}`);
  }
  const quarantineRetentionDays = int("quarantineRetentionDays", 1, 3650);
  const archive = {
    retentionDays: int("archiveRetentionDays", 1, 3650, " (days S3 keeps an archived record)"),
    bufferSeconds: int("archiveBufferSeconds", ARCHIVE_BUFFER_SECONDS.min, ARCHIVE_BUFFER_SECONDS.max, " (Firehose's buffering interval range)"),
    // Athena refuses a cutoff under 10 MB; 1 TiB is already $5 a query.
    scanLimitMb: int("athenaScanLimitMb", MIN_SCAN_LIMIT_MB, 1_048_576, " (Athena's smallest per-query cutoff is 10 MB)"),
  };

  const emails = (key: "alarmEmails" | "dashboardViewers", example: string): string[] => {
    const addresses = list(key);
    addresses.forEach((email, i) => {
      if (!EMAIL.test(email)) fail(key, `[${i}] "${email}" is not an email address`, `pulumi config set --path '${key}[${i}]' ${example}`);
    });
    if (new Set(addresses.map((e) => e.toLowerCase())).size !== addresses.length) fail(key, "lists an address twice", "remove the duplicate");
    return addresses;
  };
  const alarmEmails = emails("alarmEmails", "ops@example.com");
  const dashboardViewers = emails("dashboardViewers", "someone@example.com");

  const pipelines = pipelineCatalogs(list("pipelines"), loadCatalog, fail);
  const alarmThresholds = thresholdsByPipeline(list("alarmThresholds"), pipelines, fail);
  const iteratorAgeAlarmMs = int("iteratorAgeAlarmMs", 1000, 604_800_000);
  const rejectedRecordsAlarmThreshold = int("rejectedRecordsAlarmThreshold", 1, 1_000_000_000);
  const reconcile = {
    everyMinutes: int("reconcileEveryMinutes", 1, MAX_RECONCILE_EVERY_MINUTES, " (three runs are the corrections alarm's window, at most a day)"),
    lookbackHours: int("reconcileLookbackHours", 1, MAX_LOOKBACK_HOURS, " (GetMetricData may show datapoints older than a day late)"),
    settleMinutes: int("reconcileSettleMinutes", 1, 720),
  };
  // Every bucket must be checked by at least one run between settling and leaving the lookback, and
  // the forwarder may deliver a change as late as maximumRecordAgeSeconds after it was made: a
  // bucket must stay in the lookback that long, or a late resend would never be corrected.
  const reconcileSpan = GRANULARITY_SECONDS[granularity] / 60 + reconcile.settleMinutes + reconcile.everyMinutes + Math.ceil(maximumRecordAgeSeconds / 60);
  if (reconcile.lookbackHours * 60 < reconcileSpan) {
    fail(
      "reconcileLookbackHours",
      `is ${reconcile.lookbackHours}, shorter than a bucket + reconcileSettleMinutes + reconcileEveryMinutes + maximumRecordAgeSeconds (${reconcileSpan} min), so some buckets would never be reconciled, or not after a late delivery`,
      `pulumi config set reconcileLookbackHours ${Math.min(MAX_LOOKBACK_HOURS, Math.ceil(reconcileSpan / 60))}`,
    );
  }
  // A forwarder behind by less than its alarm's iterator age is normal: the reconciler must wait that long, or it adds what is on its way.
  if (reconcile.settleMinutes * 60_000 < iteratorAgeAlarmMs) {
    fail(
      "reconcileSettleMinutes",
      `is ${reconcile.settleMinutes}, shorter than iteratorAgeAlarmMs (${iteratorAgeAlarmMs} ms), so the reconciler could add increments the forwarder is still sending`,
      `pulumi config set reconcileSettleMinutes ${Math.ceil(iteratorAgeAlarmMs / 60_000)}`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const shared = {
    stream: { mode: streamMode, shardCount, retentionHours },
    granularity,
    counterMode,
    counterTtlDays,
    protectData,
    analyzer,
    forwarder,
    logRetentionDays,
    quarantineRetentionDays,
    archive,
    alarmEmails,
    dashboardViewers,
    iteratorAgeAlarmMs,
    rejectedRecordsAlarmThreshold,
    reconcile,
  };
  return pipelines.map(({ name, catalog }) => {
    assertNoProblems(`catalog "${name}"`, catalogProblems(catalog, { granularity }));
    return { name, catalog, settings: { ...shared, alarmThresholds: alarmThresholds.get(name) ?? {} } };
  });
}

type Fail = (key: ConfigKey, message: string, fix: string) => void;

/** The `pipelines` list: each entry names a catalog, which names the pipeline. */
function pipelineCatalogs(names: readonly string[], loadCatalog: (name: string) => Catalog, fail: Fail): { name: string; catalog: Catalog }[] {
  if (names.length === 0) fail("pipelines", "is empty", "pulumi config set --path 'pipelines[0]' analytics");
  const pipelines: { name: string; catalog: Catalog }[] = [];
  const namespaces = new Map<string, string>();
  names.forEach((name, i) => {
    const at = `[${i}] "${name}"`;
    if (!CATALOG_NAME.test(name)) {
      fail("pipelines", `${at} is not a pipeline name (lowercase letters and digits, starting with a letter, at most 20 characters)`, `name the catalog file catalog/catalogs/<name>.ts accordingly`);
      return;
    }
    if (pipelines.some((p) => p.name === name)) {
      fail("pipelines", `${at} is listed twice`, "remove the duplicate");
      return;
    }
    let catalog: Catalog;
    try {
      catalog = loadCatalog(name);
    } catch (error) {
      fail("pipelines", `${at}: ${(error as Error).message}`, "list a catalog that exists");
      return;
    }
    const owner = namespaces.get(catalog.namespace);
    if (owner !== undefined) {
      fail("pipelines", `${at}: its catalog's namespace "${catalog.namespace}" is also "${owner}"'s, so their metrics would mix`, `give catalog "${name}" a namespace of its own`);
    }
    namespaces.set(catalog.namespace, name);
    pipelines.push({ name, catalog });
  });
  return pipelines;
}

/**
 * `alarmThresholds` entries, `[<pipeline>/]<metric>.<alarm>=<number>`, by pipeline. Without a
 * pipeline the entry applies to the one pipeline whose catalog has that alarm.
 */
function thresholdsByPipeline(entries: readonly string[], pipelines: readonly { name: string; catalog: Catalog }[], fail: Fail): Map<string, Record<string, number>> {
  const byPipeline = new Map<string, Record<string, number>>();
  entries.forEach((entry, i) => {
    const at = `[${i}] "${entry}"`;
    const m = /^(?:([^/=\s]+)\/)?([^./=\s]+)\.([^=\s]+)=(.+)$/.exec(entry);
    if (!m) {
      fail("alarmThresholds", `${at} is not [<pipeline>/]<metric>.<alarm>=<number>`, `pulumi config set --path 'alarmThresholds[${i}]' pageViews.low=5`);
      return;
    }
    const [, pipelineName, metricId, alarmName, value] = m;
    const threshold = Number(value);
    if (value.trim() === "" || !Number.isFinite(threshold) || threshold < 0) {
      fail("alarmThresholds", `${at}: threshold must be a number of at least 0`, `pulumi config set --path 'alarmThresholds[${i}]' ${pipelineName ? `${pipelineName}/` : ""}${metricId}.${alarmName}=5`);
      return;
    }
    let candidates = pipelines;
    if (pipelineName !== undefined) {
      candidates = pipelines.filter((p) => p.name === pipelineName);
      if (candidates.length === 0) {
        fail("alarmThresholds", `${at} names pipeline "${pipelineName}", which the stack lacks (it has ${pipelines.map((p) => p.name).join(", ")})`, "use one of the stack's pipelines");
        return;
      }
    }
    const withMetric = candidates.filter((p) => p.catalog.metrics[metricId] !== undefined);
    if (withMetric.length === 0) {
      const where = candidates.length === 1 ? `the catalog lacks (it has ${metricEntries(candidates[0].catalog).map(([id]) => id).join(", ")})` : "no pipeline's catalog has";
      fail("alarmThresholds", `${at} names metric "${metricId}", which ${where}`, "use a catalog metric id, or add the metric to the catalog");
      return;
    }
    const withAlarm = withMetric.filter((p) => p.catalog.metrics[metricId].alarms?.[alarmName] !== undefined);
    if (withAlarm.length === 0) {
      const known = [...new Set(withMetric.flatMap((p) => Object.keys(p.catalog.metrics[metricId].alarms ?? {})))];
      fail("alarmThresholds", `${at}: metric "${metricId}" has no alarm "${alarmName}" (${known.length ? `it has ${known.join(", ")}` : "it has none"})`, "use one of its alarms, or declare the alarm in the catalog");
      return;
    }
    if (withAlarm.length > 1) {
      fail("alarmThresholds", `${at} matches the pipelines ${withAlarm.map((p) => p.name).join(" and ")}`, `say which: ${withAlarm[0].name}/${metricId}.${alarmName}=${value}`);
      return;
    }
    const own = byPipeline.get(withAlarm[0].name) ?? {};
    own[alarmKey(metricId, alarmName)] = threshold;
    byPipeline.set(withAlarm[0].name, own);
  });
  return byPipeline;
}
