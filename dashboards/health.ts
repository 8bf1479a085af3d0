/**
 * Pipeline health, one definition per resource kind. Each returns its alarms and its graphs
 * from the same watched metrics, so an alarm always has a graph of exactly the series it
 * evaluates (metric, dimensions, statistic, period), with its threshold drawn on it.
 * A new stage adds its health by calling these.
 */
import { COUNTED_METRIC, GRANULARITY_SECONDS, type Granularity, type MissingData, REJECTED_DIMENSION, REJECTED_METRIC, type Statistic } from "../catalog";
import type { AlarmSpec, Comparison } from "./alarms";
import { RECONCILER_METRICS } from "../functions/reconciler/reconcile";
import { graph, type MetricRow, searchExpression, type Section } from "./widgets";

/** One series a health graph shows, and the alarm on it if there is one. */
export interface Watch<N> {
  readonly label: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, N>>;
  readonly statistic: Statistic;
  readonly period: number;
  readonly alarm?: {
    /** The alarm name's last part: `<prefix>-<subject>-<check>`. */
    readonly check: string;
    readonly description: string;
    readonly threshold: number;
    /** @default "GreaterThanOrEqualToThreshold" */
    readonly comparison?: Comparison;
    /** @default 5 */
    readonly evaluationPeriods?: number;
    /** @default 1 */
    readonly datapointsToAlarm?: number;
    /** @default "notBreaching" */
    readonly treatMissingData?: MissingData;
  };
}

export interface HealthGraph<N> {
  readonly title: string;
  readonly watches: readonly Watch<N>[];
  /** Rows shown but not alarmed on, such as a SEARCH expression. */
  readonly extraRows?: readonly MetricRow<N>[];
}

export interface Health<N> {
  readonly alarms: AlarmSpec<N>[];
  readonly section: Section<N>;
}

/** Builds a resource's alarms and graphs from its watches. */
export function health<N>(options: { prefix: string; subject: string; title: string; graphs: readonly HealthGraph<N>[] }): Health<N> {
  const alarms: AlarmSpec<N>[] = [];
  const graphs = options.graphs.map((g) => {
    const annotations = [];
    for (const w of g.watches) {
      if (w.alarm === undefined) continue;
      const a = w.alarm;
      const spec: AlarmSpec<N> = {
        name: `${options.prefix}-${options.subject}-${a.check}`,
        kind: "health",
        subject: options.subject,
        description: a.description,
        namespace: w.namespace,
        metricName: w.metricName,
        dimensions: w.dimensions,
        statistic: w.statistic,
        period: w.period,
        evaluationPeriods: a.evaluationPeriods ?? 5,
        datapointsToAlarm: a.datapointsToAlarm ?? 1,
        threshold: a.threshold,
        comparison: a.comparison ?? "GreaterThanOrEqualToThreshold",
        treatMissingData: a.treatMissingData ?? "notBreaching",
      };
      alarms.push(spec);
      annotations.push({ label: spec.name, value: spec.threshold });
    }
    const rows = g.watches.map((w): MetricRow<N> => [
      w.namespace,
      w.metricName,
      ...Object.entries(w.dimensions).flat(),
      { label: w.label, stat: w.statistic, period: w.period },
    ]);
    const first = g.watches[0];
    return graph<N>({ title: g.title, stat: first.statistic, period: first.period, metrics: [...rows, ...(g.extraRows ?? [])], annotations });
  });
  return { alarms, section: { title: options.title, graphs } };
}

/** A stream-fed function with its mapping and dead-letter queue: errors, throttles, lag, parked batches. */
export function functionHealth<N>(o: { prefix: string; role: string; functionName: N; dlqName: N; iteratorAgeMs: number }): Health<N> {
  const lambda = (metricName: string, statistic: Statistic) => ({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: o.functionName }, statistic, period: 60 });
  return health({
    prefix: o.prefix,
    subject: o.role,
    title: `Health: ${o.role}`,
    graphs: [
      {
        title: `${o.role}: errors and throttles`,
        watches: [
          { label: "errors", ...lambda("Errors", "Sum"), alarm: { check: "errors", description: `The ${o.role} function failed invocations.`, threshold: 1 } },
          { label: "throttles", ...lambda("Throttles", "Sum"), alarm: { check: "throttles", description: `The ${o.role} function was throttled.`, threshold: 1 } },
        ],
      },
      {
        title: `${o.role}: iterator age (ms)`,
        watches: [
          {
            label: "iterator age",
            ...lambda("IteratorAge", "Maximum"),
            alarm: {
              check: "iterator-age",
              description: `The ${o.role} mapping is falling behind its stream (iterator age over ${o.iteratorAgeMs} ms).`,
              threshold: o.iteratorAgeMs,
              evaluationPeriods: 3,
              datapointsToAlarm: 3,
            },
          },
        ],
      },
      {
        title: `${o.role}: dead-letter queue`,
        watches: [
          {
            label: "batches waiting",
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: o.dlqName },
            statistic: "Maximum",
            period: 300,
            alarm: { check: "dlq-depth", description: `Batches the ${o.role} mapping gave up on are waiting in its dead-letter queue.`, threshold: 1, evaluationPeriods: 1 },
          },
        ],
      },
    ],
  });
}

/** The counter table: throttled writes mean counters fall behind. */
export function tableHealth<N>(o: { prefix: string; tableName: N }): Health<N> {
  const dynamo = (metricName: string) => ({ namespace: "AWS/DynamoDB", metricName, dimensions: { TableName: o.tableName }, statistic: "Sum" as const, period: 60 });
  return health({
    prefix: o.prefix,
    subject: "table",
    title: "Health: counter table",
    graphs: [
      {
        title: "Counter table throttles",
        watches: [
          { label: "writes", ...dynamo("WriteThrottleEvents"), alarm: { check: "write-throttles", description: "The counter table throttled writes.", threshold: 1 } },
          { label: "reads", ...dynamo("ReadThrottleEvents") },
        ],
      },
    ],
  });
}

/** The event stream: what producers put, and what it refused. */
export function streamHealth<N>(o: { prefix: string; streamName: N }): Health<N> {
  const kinesis = (metricName: string) => ({ namespace: "AWS/Kinesis", metricName, dimensions: { StreamName: o.streamName }, statistic: "Sum" as const, period: 60 });
  return health({
    prefix: o.prefix,
    subject: "stream",
    title: "Health: event stream",
    graphs: [
      {
        title: "Stream writes",
        watches: [
          { label: "records in", ...kinesis("IncomingRecords") },
          {
            label: "throughput exceeded",
            ...kinesis("WriteProvisionedThroughputExceeded"),
            alarm: { check: "write-throughput-exceeded", description: "Producers hit the stream's write throughput: add shards or switch to on-demand.", threshold: 1 },
          },
        ],
      },
    ],
  });
}

/**
 * The records the analyzer counted and rejected, from the pipeline's own counters. One period
 * for graph and alarm: at least five minutes, so a single bad record doesn't flap it, and never
 * shorter than a bucket.
 */
export function recordsHealth(o: { prefix: string; namespace: string; granularity: Granularity; rejectedThreshold: number }): Health<never> {
  const period = Math.max(300, GRANULARITY_SECONDS[o.granularity]);
  const own = (metricName: string) => ({ namespace: o.namespace, metricName, dimensions: {}, statistic: "Sum" as const, period });
  return health<never>({
    prefix: o.prefix,
    subject: "analyzer",
    title: "Health: records",
    graphs: [
      {
        title: "Records counted and rejected",
        watches: [
          { label: "counted", ...own(COUNTED_METRIC) },
          {
            label: "rejected",
            ...own(REJECTED_METRIC),
            alarm: { check: "rejected-records", description: "Records were rejected and quarantined: look in the quarantine bucket.", threshold: o.rejectedThreshold, evaluationPeriods: 1 },
          },
        ],
        extraRows: [[{ id: "e1", expression: searchExpression({ namespace: o.namespace, metricName: REJECTED_METRIC, dimensions: [REJECTED_DIMENSION], stat: "Sum", period }), label: "" }]],
      },
    ],
  });
}

/**
 * The reconciler, one datapoint per run: corrections in three runs running mean CloudWatch keeps
 * drifting from the counters faster than it is corrected (a forwarder resending, or corrections
 * that don't take); an error means a run corrected nothing.
 */
export function reconcilerHealth<N>(o: { prefix: string; namespace: string; functionName: N; everyMinutes: number }): Health<N> {
  const period = o.everyMinutes * 60;
  const own = (metricName: string) => ({ namespace: o.namespace, metricName, dimensions: {}, statistic: "Sum" as const, period });
  const lambda = (metricName: string) => ({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: o.functionName }, statistic: "Sum" as const, period });
  return health<N>({
    prefix: o.prefix,
    subject: "reconciler",
    title: "Health: reconciler",
    graphs: [
      {
        title: "reconciler: series-buckets corrected per run",
        watches: [
          {
            label: "corrected",
            ...own(RECONCILER_METRICS.corrections),
            alarm: {
              check: "corrections",
              description: "The reconciler corrected CloudWatch in 3 runs running: the forwarder keeps resending, or corrections don't take. Read its log's samples.",
              threshold: 1,
              evaluationPeriods: 3,
              datapointsToAlarm: 3,
            },
          },
          { label: "left to settle", ...own(RECONCILER_METRICS.unsettled) },
        ],
      },
      {
        title: "reconciler: runs and errors",
        watches: [
          { label: "errors", ...lambda("Errors"), alarm: { check: "errors", description: "A reconciler run failed: CloudWatch was not corrected.", threshold: 1, evaluationPeriods: 1 } },
          { label: "runs", ...lambda("Invocations") },
        ],
      },
    ],
  });
}

/**
 * The raw archive: Firehose reading the stream and writing S3, and the archiver it transforms
 * with. Freshness is the age of the oldest record not yet delivered; past the buffer plus
 * Firehose's longest buffering (15 minutes), rows are stuck: the archiver failing, or S3 refusing.
 */
export function archiveHealth<N>(o: { prefix: string; deliveryStreamName: N; archiverFunctionName: N; bufferSeconds: number }): Health<N> {
  const firehose = (metricName: string, statistic: Statistic) => ({ namespace: "AWS/Firehose", metricName, dimensions: { DeliveryStreamName: o.deliveryStreamName }, statistic, period: 300 });
  const stuckSeconds = o.bufferSeconds + 900;
  return health({
    prefix: o.prefix,
    subject: "archive",
    title: "Health: archive",
    graphs: [
      {
        title: "Archive: records read and delivered",
        watches: [
          { label: "read from the stream", ...firehose("DataReadFromKinesisStream.Records", "Sum") },
          { label: "delivered to S3", ...firehose("DeliveryToS3.Records", "Sum") },
        ],
      },
      {
        title: "Archive: oldest record not yet delivered (s)",
        watches: [
          {
            label: "data freshness",
            ...firehose("DeliveryToS3.DataFreshness", "Maximum"),
            alarm: {
              check: "freshness",
              description: `Records have waited over ${stuckSeconds} s to reach the archive: the archiver or the S3 delivery is failing (see the delivery stream's logs).`,
              threshold: stuckSeconds,
              evaluationPeriods: 2,
              datapointsToAlarm: 2,
            },
          },
        ],
      },
      {
        title: "Archive: archiver errors",
        watches: [
          {
            label: "errors",
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: o.archiverFunctionName },
            statistic: "Sum",
            period: 60,
            alarm: { check: "archiver-errors", description: "The archiver failed invocations: Firehose retries them, then keeps their records under errors/, outside the table.", threshold: 1 },
          },
        ],
      },
    ],
  });
}
