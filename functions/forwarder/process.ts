import { type CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBRecord, DynamoDBStreamHandler } from "aws-lambda";
import type { ForwarderRules } from "../../catalog/rules";
import { isTransient, type Logger, withFields } from "../shared/log";
import { chunkDatums, recordDatums } from "./deltas";

export interface ForwarderDeps {
  readonly rules: ForwarderRules;
  readonly cloudwatch: CloudWatchClient;
  readonly log: Logger;
  readonly now?: () => number;
}

/** The forwarder's Lambda handler over its dependencies; every log entry carries the request id. */
export function createForwarderHandler(deps: ForwarderDeps): DynamoDBStreamHandler {
  return async (event, context) => {
    const result = await forwardBatch(event.Records, { ...deps, log: withFields(deps.log, { requestId: context.awsRequestId }) });
    return { batchItemFailures: result.batchItemFailures };
  };
}

export interface ForwardResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
  readonly calls: number;
  readonly datums: number;
}

/**
 * Sends a batch of counter changes to CloudWatch, call by call in record order. On a failed
 * call it stops and reports the first record that call covered, so Lambda retries from there.
 */
export async function forwardBatch(records: readonly DynamoDBRecord[], deps: ForwarderDeps): Promise<ForwardResult> {
  const { log } = deps;
  const nowMs = (deps.now ?? Date.now)();
  const perRecord = records.map((r) => recordDatums(r, deps.rules, nowMs));
  for (const { anomalies } of perRecord) {
    for (const a of anomalies) log("WARN", "counter change not forwarded", { ...a });
  }
  const chunks = chunkDatums(perRecord);
  let calls = 0;
  let datums = 0;
  for (const chunk of chunks) {
    try {
      calls += 1;
      await deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: deps.rules.namespace, MetricData: chunk.datums }));
      datums += chunk.datums.length;
    } catch (error) {
      log("ERROR", "PutMetricData failed", { error: String(error), transient: isTransient(error), retryFrom: chunk.firstSequence });
      log("INFO", "batch done", { records: records.length, calls, datums, failed: true });
      return { batchItemFailures: [{ itemIdentifier: chunk.firstSequence }], calls, datums };
    }
  }
  log("INFO", "batch done", { records: records.length, calls, datums });
  return { batchItemFailures: [], calls, datums };
}
