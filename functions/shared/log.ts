/** One JSON object per line, the shape CloudWatch Logs Insights queries best. */
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";
export type LogFields = Record<string, unknown>;
export type Logger = (level: LogLevel, message: string, fields?: LogFields) => void;

const RANK: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/** The level a name gives (Lambda's `applicationLogLevel` arrives as AWS_LAMBDA_LOG_LEVEL), else INFO. */
export function logLevel(name: string | undefined): LogLevel {
  const upper = name?.toUpperCase();
  return upper !== undefined && upper in RANK ? (upper as LogLevel) : "INFO";
}

/** Writes entries at or above `level` as JSON lines. */
export function jsonLogger(service: string, options: { level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const min = RANK[options.level ?? "INFO"];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  return (level, message, fields = {}) => {
    if (RANK[level] < min) return;
    write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, service, message, ...fields })}\n`);
  };
}

/** A logger that adds `fields` (the Lambda request id, say) to every entry. */
export function withFields(log: Logger, fields: LogFields): Logger {
  return (level, message, more = {}) => log(level, message, { ...fields, ...more });
}

/** Collects entries in memory: for tests and for the local run's summaries. */
export function memoryLogger(): Logger & { entries: ({ level: LogLevel; message: string } & LogFields)[] } {
  const entries: ({ level: LogLevel; message: string } & LogFields)[] = [];
  const logger = ((level: LogLevel, message: string, fields: LogFields = {}) => {
    entries.push({ level, message, ...fields });
  }) as Logger & { entries: typeof entries };
  logger.entries = entries;
  return logger;
}

/** Errors worth retrying: throttling and the service's own trouble, never a bad request. */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|ServiceUnavailable|InternalServer|TimeoutError|ECONNRESET|ECONNREFUSED|socket hang up/i.test(
    `${e?.name ?? ""} ${(error as Error)?.message ?? ""}`,
  );
}
