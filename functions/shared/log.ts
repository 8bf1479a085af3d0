/** One JSON object per line, the shape CloudWatch Logs Insights queries best. */
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";
export type LogFields = Record<string, unknown>;
export type Logger = (level: LogLevel, message: string, fields?: LogFields) => void;

const RANK: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/**
 * Writes entries at or above `minLevel`; by default the level Lambda's `applicationLogLevel`
 * sets in AWS_LAMBDA_LOG_LEVEL, else INFO.
 */
export function jsonLogger(
  service: string,
  write: (line: string) => void = (line) => process.stdout.write(line),
  minLevel: LogLevel = (process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase() as LogLevel | undefined) ?? "INFO",
): Logger {
  const min = RANK[minLevel] ?? RANK.INFO;
  return (level, message, fields = {}) => {
    if (RANK[level] < min) return;
    write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, service, message, ...fields })}\n`);
  };
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
