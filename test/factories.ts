import type { Context, DynamoDBRecord, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { lambdaContext as localLambdaContext } from "../local/aws";

export const T0 = Date.parse("2026-11-21T12:34:56.000Z");

export function event(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { event_type: "page view", utc_timestamp: "2026-11-21T12:34:56", ...fields };
}

export const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

let seq = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** A batch record; `data` is an event object (JSON-encoded then base64) or raw base64. */
export function record(data: Record<string, unknown> | { raw: string }, options: { shardId?: string; arrivalMs?: number; sequenceNumber?: string } = {}): BatchRecord {
  seq += 1000n;
  return {
    shardId: options.shardId ?? "shardId-000000000000",
    sequenceNumber: options.sequenceNumber ?? seq.toString(),
    data: "raw" in data ? (data.raw as string) : b64(JSON.stringify(data)),
    arrivalMs: options.arrivalMs ?? T0,
  };
}

/** A Kinesis Lambda event in the shape Lambda delivers (recorded from a real invocation). */
export function kinesisLambdaEvent(records: BatchRecord[]): KinesisStreamEvent {
  return {
    Records: records.map(
      (r): KinesisStreamRecord => ({
        kinesis: {
          kinesisSchemaVersion: "1.0",
          partitionKey: "1",
          sequenceNumber: r.sequenceNumber,
          data: r.data,
          approximateArrivalTimestamp: r.arrivalMs / 1000,
        },
        eventSource: "aws:kinesis",
        eventVersion: "1.0",
        eventID: `${r.shardId}:${r.sequenceNumber}`,
        eventName: "aws:kinesis:record",
        invokeIdentityArn: "arn:aws:iam::123456789012:role/lambda-role",
        awsRegion: "us-east-2",
        eventSourceARN: "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
      }),
    ),
  };
}

let streamSeq = 1_000_000;

/** A counter-table stream record: INSERT when there is no old image. */
export function counterChange(options: {
  metric: string;
  bucket: string;
  dims?: Record<string, string>;
  count: number;
  oldCount?: number;
  sum?: number;
  oldSum?: number;
  eventName?: "INSERT" | "MODIFY" | "REMOVE";
}): DynamoDBRecord {
  streamSeq += 100;
  const image = (count: number, sum?: number) => ({
    pk: { S: options.metric },
    sk: { S: options.bucket },
    metric: { S: options.metric },
    bucket: { S: options.bucket },
    dims: { M: Object.fromEntries(Object.entries(options.dims ?? {}).map(([k, v]) => [k, { S: v }])) },
    count: { N: String(count) },
    ...(sum === undefined ? {} : { sum: { N: String(sum) } }),
  });
  const eventName = options.eventName ?? (options.oldCount === undefined ? "INSERT" : "MODIFY");
  return {
    eventID: `e${streamSeq}`,
    eventName,
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: {
      ApproximateCreationDateTime: T0 / 1000,
      Keys: { pk: { S: options.metric }, sk: { S: options.bucket } },
      NewImage: eventName === "REMOVE" ? undefined : image(options.count, options.sum),
      OldImage: options.oldCount === undefined ? undefined : image(options.oldCount, options.oldSum),
      SequenceNumber: String(streamSeq).padStart(21, "0"),
      SizeBytes: 100,
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
  };
}

/** A Lambda context with the given request id. */
export const lambdaContext = (awsRequestId: string): Context => localLambdaContext({ functionName: "test-function", awsRequestId });

/** A counter-table stream record of one shard's part of a counter, keyed and marked as the analyzer writes it. */
export function partChange(options: {
  key: string;
  metric: string;
  bucket: string;
  shard: string;
  count: number;
  dims?: Record<string, string>;
  sum?: string;
  /** The shard's last sequence number applied, unpadded; none in `add` mode. */
  mark?: string;
  eventName?: "INSERT" | "MODIFY" | "REMOVE";
}): DynamoDBRecord {
  streamSeq += 100;
  const keys = { pk: { S: options.key }, sk: { S: `${options.bucket}#${options.shard}` } };
  const image = {
    ...keys,
    metric: { S: options.metric },
    bucket: { S: options.bucket },
    dims: { M: Object.fromEntries(Object.entries(options.dims ?? {}).map(([k, v]) => [k, { S: v }])) },
    count: { N: String(options.count) },
    ...(options.sum === undefined ? {} : { sum: { N: options.sum } }),
    ...(options.mark === undefined ? {} : { wm: { S: options.mark.padStart(129, "0") } }),
  };
  const eventName = options.eventName ?? "MODIFY";
  return {
    eventID: `e${streamSeq}`,
    eventName,
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: {
      ApproximateCreationDateTime: T0 / 1000,
      Keys: keys,
      NewImage: eventName === "REMOVE" ? undefined : image,
      OldImage: eventName === "INSERT" ? undefined : image,
      SequenceNumber: String(streamSeq).padStart(21, "0"),
      SizeBytes: 100,
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
  };
}
