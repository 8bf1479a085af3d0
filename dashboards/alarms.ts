import {
  type AlarmDef,
  BUCKET_SECONDS,
  type Bucket,
  type Catalog,
  countMetricName,
  type MissingData,
  REJECTED_METRIC,
  type Statistic,
  sumMetricName,
} from "./catalog";

export type Comparison =
  | "LessThanThreshold"
  | "LessThanOrEqualToThreshold"
  | "GreaterThanThreshold"
  | "GreaterThanOrEqualToThreshold";

/** The resources the pipeline-health alarms and widgets watch, by name. */
export interface PipelineNames<N> {
  readonly analyzerFunction: N;
  readonly forwarderFunction: N;
  readonly analyzerDlq: N;
  readonly forwarderDlq: N;
  readonly table: N;
  readonly stream: N;
}

/** A CloudWatch alarm as plain data: deployed by the alerting component, evaluated by the local run. */
export interface AlarmSpec<N = string> {
  /** `<stack>-<metric>-<alarm>`: stable and readable. */
  readonly name: string;
  readonly kind: "catalog" | "health";
  /** The catalog metric id (catalog alarms) or the health check's subject. */
  readonly subject: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, N>>;
  readonly statistic: Statistic;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly treatMissingData: MissingData;
}

export interface AlarmOptions<N> {
  readonly catalog: Catalog;
  readonly stack: string;
  readonly names: PipelineNames<N>;
  /** Overrides of catalog thresholds, keyed `<metricId>.<alarmName>`. */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** @default catalog.bucket */
  readonly bucket?: Bucket;
  /** Iterator age (ms) above which a mapping is falling behind. @default 60000 */
  readonly iteratorAgeMs?: number;
  /** Rejected records per period that raise the alarm. @default 1 */
  readonly rejectedThreshold?: number;
}

export function boundOf(def: AlarmDef): { threshold: number; comparison: Comparison } {
  if (def.below !== undefined) return { threshold: def.below, comparison: "LessThanThreshold" };
  if (def.atOrBelow !== undefined) return { threshold: def.atOrBelow, comparison: "LessThanOrEqualToThreshold" };
  if (def.above !== undefined) return { threshold: def.above, comparison: "GreaterThanThreshold" };
  return { threshold: def.atOrAbove, comparison: "GreaterThanOrEqualToThreshold" };
}

export const alarmKey = (metricId: string, alarmName: string): string => `${metricId}.${alarmName}`;

/** The catalog's threshold alarms, thresholds overridden where the stack says so. */
export function catalogAlarms<N>(options: AlarmOptions<N>): AlarmSpec<N>[] {
  const { catalog, stack, thresholds = {} } = options;
  const bucketSeconds = BUCKET_SECONDS[options.bucket ?? catalog.bucket];
  const specs: AlarmSpec<N>[] = [];
  for (const [metricId, metric] of Object.entries(catalog.metrics)) {
    for (const [alarmName, def] of Object.entries(metric.alarms ?? {})) {
      const bound = boundOf(def);
      const series = def.series ?? "count";
      specs.push({
        name: `${stack}-${metricId}-${alarmName}`,
        kind: "catalog",
        subject: metricId,
        description: def.description ?? `${metric.label}: ${alarmName}`,
        namespace: catalog.namespace,
        metricName: series === "sum" ? sumMetricName(metricId, metric) : countMetricName(metricId),
        dimensions: {},
        statistic: def.statistic ?? "Sum",
        period: def.periodSeconds ?? bucketSeconds,
        evaluationPeriods: def.evaluationPeriods,
        datapointsToAlarm: def.datapointsToAlarm ?? def.evaluationPeriods,
        threshold: thresholds[alarmKey(metricId, alarmName)] ?? bound.threshold,
        comparison: bound.comparison,
        treatMissingData: def.missingData ?? "missing",
      });
    }
  }
  return specs;
}

/** The pipeline's own health: every stage's failure mode has an alarm. */
export function healthAlarms<N>(options: AlarmOptions<N>): AlarmSpec<N>[] {
  const { catalog, stack, names } = options;
  const iteratorAgeMs = options.iteratorAgeMs ?? 60_000;
  const rejectedPeriod = Math.max(300, BUCKET_SECONDS[options.bucket ?? catalog.bucket]);
  const atLeast = (threshold: number) => ({ threshold, comparison: "GreaterThanOrEqualToThreshold" as const });
  const health = (
    subject: string,
    check: string,
    description: string,
    metric: Pick<AlarmSpec<N>, "namespace" | "metricName" | "dimensions" | "statistic">,
    rest: Partial<AlarmSpec<N>> & Pick<AlarmSpec<N>, "threshold" | "comparison">,
  ): AlarmSpec<N> => ({
    name: `${stack}-${subject}-${check}`,
    kind: "health",
    subject,
    description,
    period: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 1,
    treatMissingData: "notBreaching",
    ...metric,
    ...rest,
  });
  const functions = [
    ["analyzer", names.analyzerFunction, names.analyzerDlq],
    ["forwarder", names.forwarderFunction, names.forwarderDlq],
  ] as const;
  const specs: AlarmSpec<N>[] = [];
  for (const [role, functionName, queueName] of functions) {
    const lambda = (metricName: string, statistic: Statistic) => ({
      namespace: "AWS/Lambda",
      metricName,
      dimensions: { FunctionName: functionName },
      statistic,
    });
    specs.push(
      health(role, "errors", `The ${role} function failed invocations.`, lambda("Errors", "Sum"), atLeast(1)),
      health(role, "throttles", `The ${role} function was throttled.`, lambda("Throttles", "Sum"), atLeast(1)),
      health(
        role,
        "iterator-age",
        `The ${role} mapping is falling behind its stream (iterator age over ${iteratorAgeMs} ms).`,
        lambda("IteratorAge", "Maximum"),
        { ...atLeast(iteratorAgeMs), evaluationPeriods: 3, datapointsToAlarm: 3 },
      ),
      health(
        role,
        "dlq-depth",
        `Batches the ${role} mapping gave up on are waiting in its dead-letter queue.`,
        {
          namespace: "AWS/SQS",
          metricName: "ApproximateNumberOfMessagesVisible",
          dimensions: { QueueName: queueName },
          statistic: "Maximum",
        },
        { ...atLeast(1), period: 300, evaluationPeriods: 1 },
      ),
    );
  }
  specs.push(
    health(
      "table",
      "write-throttles",
      "The counter table throttled writes.",
      { namespace: "AWS/DynamoDB", metricName: "WriteThrottleEvents", dimensions: { TableName: names.table }, statistic: "Sum" },
      atLeast(1),
    ),
    health(
      "stream",
      "write-throughput-exceeded",
      "Producers hit the stream's write throughput: add shards or switch to on-demand.",
      {
        namespace: "AWS/Kinesis",
        metricName: "WriteProvisionedThroughputExceeded",
        dimensions: { StreamName: names.stream },
        statistic: "Sum",
      },
      atLeast(1),
    ),
    health(
      "analyzer",
      "rejected-records",
      "Records were rejected and quarantined: look in the quarantine bucket.",
      { namespace: catalog.namespace, metricName: REJECTED_METRIC, dimensions: {}, statistic: "Sum" },
      { ...atLeast(options.rejectedThreshold ?? 1), period: rejectedPeriod, evaluationPeriods: 1 },
    ),
  );
  return specs;
}

export function buildAlarms<N>(options: AlarmOptions<N>): AlarmSpec<N>[] {
  return [...catalogAlarms(options), ...healthAlarms(options)];
}
