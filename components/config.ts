/**
 * Stack config: read raw, validated all at once before any resource is declared, with errors
 * that name the key and the fix. Types and defaults live in Pulumi.yaml's `config:` schema,
 * which the CLI applies; this module only checks what arrives.
 */
import { alarmKey, type Bucket, type Catalog } from "../dashboards";
import type { CounterMode } from "../functions/analyzer/counters";

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

export interface PipelineSettings {
  readonly stream: { readonly mode: StreamMode; readonly shardCount: number; readonly retentionHours: number };
  readonly bucket: Bucket;
  readonly counterMode: CounterMode;
  readonly counterTtlDays: number;
  readonly protectData: boolean;
  readonly analyzer: FunctionSettings & { readonly mapping: MappingSettings };
  readonly forwarder: FunctionSettings & { readonly mapping: MappingSettings };
  readonly logRetentionDays: number;
  readonly quarantineRetentionDays: number;
  readonly alarmEmails: readonly string[];
  readonly alarmThresholds: Readonly<Record<string, number>>;
  readonly iteratorAgeAlarmMs: number;
  readonly rejectedRecordsAlarmThreshold: number;
}

/** Every key of the project's config, with the type Pulumi.yaml declares for it. */
export const CONFIG_KEYS = {
  streamMode: "string",
  shardCount: "integer",
  streamRetentionHours: "integer",
  bucket: "string",
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
  alarmEmails: "array",
  alarmThresholds: "array",
  iteratorAgeAlarmMs: "integer",
  rejectedRecordsAlarmThreshold: "integer",
} as const;
export type ConfigKey = keyof typeof CONFIG_KEYS;

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

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
 * arrays) against the catalog. Throws one ConfigError listing every problem.
 */
export function parseConfig(raw: (key: ConfigKey) => unknown, catalog: Catalog): PipelineSettings {
  const problems: string[] = [];
  const fail = (key: ConfigKey, message: string, fix: string) => problems.push(`${PROJECT}:${key} ${message}. Fix: ${fix}`);

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
  const bucket = oneOf<Bucket>("bucket", ["minute", "hour"]);
  const counterMode = oneOf<CounterMode>("counterMode", ["exactly-once", "add"]);
  const counterTtlDays = int("counterTtlDays", 1, 3650);
  const protectData = bool("protectData");
  const startingPosition = oneOf<StartingPosition>("startingPosition", ["LATEST", "TRIM_HORIZON"]);
  const maximumRetryAttempts = int("maximumRetryAttempts", 0, 10_000, " (finite, so a poison batch reaches the dead-letter queue)");
  const maximumRecordAgeSeconds = int("maximumRecordAgeSeconds", 60, 604_800, " (finite)");

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

  const alarmEmails = list("alarmEmails");
  alarmEmails.forEach((email, i) => {
    if (!EMAIL.test(email)) fail("alarmEmails", `[${i}] "${email}" is not an email address`, `pulumi config set --path 'alarmEmails[${i}]' ops@example.com`);
  });
  if (new Set(alarmEmails.map((e) => e.toLowerCase())).size !== alarmEmails.length) {
    fail("alarmEmails", "lists an address twice", "remove the duplicate");
  }

  const alarmThresholds: Record<string, number> = {};
  list("alarmThresholds").forEach((entry, i) => {
    const at = `[${i}] "${entry}"`;
    const m = /^([^.=\s]+)\.([^=\s]+)=(.+)$/.exec(entry);
    if (!m) {
      fail("alarmThresholds", `${at} is not <metric>.<alarm>=<number>`, `pulumi config set --path 'alarmThresholds[${i}]' pageViews.low=5`);
      return;
    }
    const [, metricId, alarmName, value] = m;
    const metric = catalog.metrics[metricId];
    if (metric === undefined) {
      fail("alarmThresholds", `${at} names metric "${metricId}", which the catalog lacks (it has ${Object.keys(catalog.metrics).join(", ")})`, "use a catalog metric id, or add the metric to dashboards/catalog.ts");
      return;
    }
    if (metric.alarms?.[alarmName] === undefined) {
      const known = Object.keys(metric.alarms ?? {});
      fail("alarmThresholds", `${at}: metric "${metricId}" has no alarm "${alarmName}" (${known.length ? `it has ${known.join(", ")}` : "it has none"})`, "use one of its alarms, or declare the alarm in dashboards/catalog.ts");
      return;
    }
    const threshold = Number(value);
    if (value.trim() === "" || !Number.isFinite(threshold) || threshold < 0) {
      fail("alarmThresholds", `${at}: threshold must be a number of at least 0`, `pulumi config set --path 'alarmThresholds[${i}]' ${metricId}.${alarmName}=5`);
      return;
    }
    alarmThresholds[alarmKey(metricId, alarmName)] = threshold;
  });
  const iteratorAgeAlarmMs = int("iteratorAgeAlarmMs", 1000, 604_800_000);
  const rejectedRecordsAlarmThreshold = int("rejectedRecordsAlarmThreshold", 1, 1_000_000_000);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    stream: { mode: streamMode, shardCount, retentionHours },
    bucket,
    counterMode,
    counterTtlDays,
    protectData,
    analyzer,
    forwarder,
    logRetentionDays,
    quarantineRetentionDays,
    alarmEmails,
    alarmThresholds,
    iteratorAgeAlarmMs,
    rejectedRecordsAlarmThreshold,
  };
}
