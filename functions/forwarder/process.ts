import { type CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBRecord, DynamoDBStreamHandler } from "aws-lambda";
import type { ForwarderRules } from "../../catalog/rules";
import { outOfTime } from "../shared/deadline";
import { isTransient, type Logger, withFields } from "../shared/log";
import { toMark } from "../../catalog/item";
import { chunkDatums, recordDatums } from "./deltas";
import type { ForwardMarks } from "./marks";

export interface ForwarderDeps {
  readonly rules: ForwarderRules;
  readonly cloudwatch: CloudWatchClient;
  readonly log: Logger;
  readonly now?: () => number;
  /** Where the forwarder notes how far each batch got, so a redelivered batch isn't sent twice. */
  readonly marks?: ForwardMarks;
  /**
   * Time left in the invocation. No call starts in its last seconds: the batch reports the rest
   * as failed instead of timing out, since a timeout is a function error, which Lambda answers by
   * splitting the batch, and the second half would start at a record no mark is kept under.
   */
  readonly remainingMs?: () => number;
}

/** The forwarder's Lambda handler over its dependencies; every log entry carries the request id. */
export function createForwarderHandler(deps: ForwarderDeps): DynamoDBStreamHandler {
  return async (event, context) => {
    const result = await forwardBatch(event.Records, {
      ...deps,
      log: withFields(deps.log, { requestId: context.awsRequestId }),
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    return { batchItemFailures: result.batchItemFailures };
  };
}

export interface ForwardResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
  readonly calls: number;
  readonly datums: number;
  /** Records skipped because an earlier delivery of the batch already sent them. */
  readonly skipped: number;
}

/**
 * Sends a batch of counter changes to CloudWatch, call by call in record order. On a failed
 * call it stops and reports the first record that call covered, so Lambda retries from there.
 */
export async function forwardBatch(records: readonly DynamoDBRecord[], deps: ForwarderDeps): Promise<ForwardResult> {
  const { log, marks } = deps;
  const nowMs = (deps.now ?? Date.now)();
  const firstId = records[0]?.eventID;
  let sentThrough: string | undefined;
  if (marks !== undefined && firstId !== undefined) {
    try {
      sentThrough = await marks.read(firstId);
    } catch (error) {
      const retryFrom = records[0].dynamodb?.SequenceNumber ?? "";
      log("ERROR", "reading the forwarded mark failed", { error: String(error), transient: isTransient(error), retryFrom });
      return { batchItemFailures: [{ itemIdentifier: retryFrom }], calls: 0, datums: 0, skipped: 0 };
    }
  }
  // Stream sequence numbers grow within a shard, and a batch is one shard's.
  const fresh = sentThrough === undefined ? records : records.filter((r) => toMark(r.dynamodb?.SequenceNumber ?? "") > toMark(sentThrough!));
  const skipped = records.length - fresh.length;
  if (skipped > 0) log("INFO", "records already sent by an earlier delivery skipped", { skipped, sentThrough });
  const perRecord = fresh.map((r) => recordDatums(r, deps.rules, nowMs));
  for (const { anomalies } of perRecord) {
    for (const a of anomalies) log("WARN", "counter change not forwarded", { ...a });
  }
  const chunks = chunkDatums(perRecord);
  let calls = 0;
  let datums = 0;
  for (const chunk of chunks) {
    if (outOfTime(deps.remainingMs)) {
      log("WARN", "out of time: the rest of the batch is left for the retry", { retryFrom: chunk.firstSequence });
      log("INFO", "batch done", { records: records.length, calls, datums, skipped, failed: true });
      return { batchItemFailures: [{ itemIdentifier: chunk.firstSequence }], calls, datums, skipped };
    }
    try {
      calls += 1;
      await deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: deps.rules.namespace, MetricData: chunk.datums }));
      datums += chunk.datums.length;
    } catch (error) {
      log("ERROR", "PutMetricData failed", { error: String(error), transient: isTransient(error), retryFrom: chunk.firstSequence });
      log("INFO", "batch done", { records: records.length, calls, datums, skipped, failed: true });
      return { batchItemFailures: [{ itemIdentifier: chunk.firstSequence }], calls, datums, skipped };
    }
    if (marks !== undefined && firstId !== undefined) {
      try {
        await marks.write(firstId, chunk.lastSequence);
      } catch (error) {
        // The datums are in; only a redelivery of this batch would send them again (the reconciler corrects that).
        log("WARN", "writing the forwarded mark failed", { error: String(error), transient: isTransient(error), through: chunk.lastSequence });
      }
    }
  }
  log("INFO", "batch done", { records: records.length, calls, datums, skipped });
  return { batchItemFailures: [], calls, datums, skipped };
}
