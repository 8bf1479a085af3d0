import type { DynamoDBRecord, DynamoDBStreamHandler } from "aws-lambda";
import { outOfTime } from "../shared/deadline";
import { isTransient, type Logger, withFields } from "../shared/log";
import type { Publish } from "./appsync";
import { chunkEvents, liveParts } from "./parts";

export interface PublisherDeps {
  /** `appsyncPublisher(...)` on AWS and in the local run. */
  readonly publish: Publish;
  /** The AppSync Events channel, `/<namespace>/<path>` (`LIVE_CHANNEL`). */
  readonly channel: string;
  readonly log: Logger;
  /** Time left in the invocation: no publish starts in its last seconds (see `outOfTime`). */
  readonly remainingMs?: () => number;
}

export interface PublishResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
  readonly parts: number;
  readonly requests: number;
  readonly events: number;
}

/** The publisher's Lambda handler over its dependencies; every log entry carries the request id. */
export function createPublisherHandler(deps: PublisherDeps): DynamoDBStreamHandler {
  return async (event, context) => {
    const result = await publishBatch(event.Records, {
      ...deps,
      log: withFields(deps.log, { requestId: context.awsRequestId }),
      remainingMs: deps.remainingMs ?? (() => context.getRemainingTimeInMillis()),
    });
    return { batchItemFailures: result.batchItemFailures };
  };
}

/**
 * Publishes the parts a batch of counter changes left, request by request in record order. On a
 * failed request it stops and reports the first record whose part isn't published yet (its stream
 * SequenceNumber, which is what Lambda takes as a DynamoDB stream's item identifier), so Lambda
 * retries from there. A part carries its absolute count and sum and its shard's mark, never an
 * increment: publishing it again (a retried batch, a request AppSync took but answered late) only
 * repeats what the page already holds, and a page never goes back to an older mark.
 */
export async function publishBatch(records: readonly DynamoDBRecord[], deps: PublisherDeps): Promise<PublishResult> {
  const { log } = deps;
  const batch = liveParts(records);
  const { requests, oversized } = chunkEvents(batch);
  for (const o of oversized) {
    log("WARN", "part too large for an AppSync event, not published", { key: o.part.key, bucket: o.part.bucket, shard: o.part.shard, sequenceNumber: records[o.index].dynamodb?.SequenceNumber });
  }
  // A failed request leaves it and every later one unpublished: the retry starts at the first record any of them covers.
  const retryFrom: number[] = new Array(requests.length);
  for (let i = requests.length - 1; i >= 0; i--) retryFrom[i] = Math.min(requests[i].first, retryFrom[i + 1] ?? Number.POSITIVE_INFINITY);
  let events = 0;
  let published = 0;
  for (let i = 0; i < requests.length; i++) {
    const failAt = (reason: string, fields: Record<string, unknown>) => {
      const sequenceNumber = records[retryFrom[i]].dynamodb?.SequenceNumber ?? "";
      log(reason === "out of time" ? "WARN" : "ERROR", reason === "out of time" ? "out of time: the rest of the batch is left for the retry" : "publish failed", { ...fields, retryFrom: sequenceNumber });
      log("INFO", "batch done", { records: records.length, parts: batch.length, published, requests: i, events, failed: true });
      return { batchItemFailures: [{ itemIdentifier: sequenceNumber }], parts: batch.length, requests: i, events };
    };
    if (outOfTime(deps.remainingMs)) return failAt("out of time", {});
    try {
      await deps.publish(deps.channel, requests[i].events);
    } catch (error) {
      const transient = (error as { transient?: boolean }).transient ?? isTransient(error);
      return failAt("publish failed", { error: String(error), transient, status: (error as { status?: number }).status });
    }
    events += requests[i].events.length;
    published += requests[i].parts;
  }
  log("INFO", "batch done", { records: records.length, parts: batch.length, published, requests: requests.length, events, oversized: oversized.length });
  return { batchItemFailures: [], parts: batch.length, requests: requests.length, events };
}
