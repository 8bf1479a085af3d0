/**
 * Talking to the emulators the way AWS Lambda's pollers do: create the stream and the table
 * with the components' settings, read shards, and hand records over as real Lambda events.
 */
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand as DescribeTableStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand as GetTableStreamRecordsCommand,
  GetShardIteratorCommand as GetTableStreamIteratorCommand,
  type _Record as TableStreamRecord,
} from "@aws-sdk/client-dynamodb-streams";
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type _Record as KinesisRecord,
} from "@aws-sdk/client-kinesis";
import { randomUUID } from "node:crypto";
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, FirehoseTransformationEvent, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { COUNTER_TABLE } from "../catalog/item";
import { STATE_TABLE } from "../catalog/state";
import { LOCAL_AWS } from "./clients";

const ACCOUNT = "000000000000";

/** The counter table exactly as the CounterTable component declares it (same constant). */
export async function createCounterTable(dynamo: DynamoDBClient, tableName: string, options: { stream?: boolean } = {}): Promise<string | undefined> {
  const created = await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: COUNTER_TABLE.billingMode,
      KeySchema: [
        { AttributeName: COUNTER_TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: COUNTER_TABLE.sortKey, KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: COUNTER_TABLE.partitionKey, AttributeType: "S" },
        { AttributeName: COUNTER_TABLE.sortKey, AttributeType: "S" },
      ],
      StreamSpecification: options.stream === false ? undefined : { StreamEnabled: true, StreamViewType: COUNTER_TABLE.streamViewType },
    }),
  );
  await dynamo.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: COUNTER_TABLE.ttlAttribute, Enabled: true } }));
  return created.TableDescription?.LatestStreamArn;
}

/** The state table exactly as the StateTable component declares it (same constant). */
export async function createStateTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: STATE_TABLE.billingMode,
      KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: STATE_TABLE.partitionKey, AttributeType: "S" }],
    }),
  );
  await dynamo.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: STATE_TABLE.ttlAttribute, Enabled: true } }));
}

export async function createEventStream(kinesis: KinesisClient, streamName: string, shardCount: number): Promise<{ arn: string; shardIds: string[] }> {
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  for (let i = 0; i < 100; i++) {
    const d = await kinesis.send(new DescribeStreamCommand({ StreamName: streamName }));
    if (d.StreamDescription?.StreamStatus === "ACTIVE") {
      const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
      return { arn: d.StreamDescription.StreamARN ?? "", shardIds: (shards.Shards ?? []).map((s) => s.ShardId ?? "") };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${streamName} did not become ACTIVE`);
}

/** Every record a Kinesis shard holds, from its start, in order. */
export async function readShard(kinesis: KinesisClient, streamName: string, shardId: string, after?: string): Promise<KinesisRecord[]> {
  const it = await kinesis.send(
    new GetShardIteratorCommand(
      after === undefined
        ? { StreamName: streamName, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }
        : { StreamName: streamName, ShardId: shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after },
    ),
  );
  const records: KinesisRecord[] = [];
  let iterator = it.ShardIterator;
  while (iterator) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    records.push(...(page.Records ?? []));
    // Only an empty page means the end: a full page may still say it is at the tip.
    if ((page.Records ?? []).length === 0) break;
    iterator = page.NextShardIterator;
  }
  return records;
}

/** One Kinesis record as Lambda delivers it: data base64-encoded, arrival in epoch seconds. */
export function toKinesisLambdaRecord(record: KinesisRecord, shardId: string, streamArn: string): KinesisStreamRecord {
  return {
    awsRegion: LOCAL_AWS.region,
    eventID: `${shardId}:${record.SequenceNumber}`,
    eventName: "aws:kinesis:record",
    eventSource: "aws:kinesis",
    eventSourceARN: streamArn,
    eventVersion: "1.0",
    invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/analyzer`,
    kinesis: {
      kinesisSchemaVersion: "1.0",
      partitionKey: record.PartitionKey ?? "",
      sequenceNumber: record.SequenceNumber ?? "",
      data: Buffer.from(record.Data ?? new Uint8Array()).toString("base64"),
      approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
    },
  };
}

export const kinesisEvent = (records: KinesisStreamRecord[]): KinesisStreamEvent => ({ Records: records });

/** A Kinesis record as the functions read it: data base64, arrival in epoch ms, its partition key. */
export function toBatchRecord(record: KinesisRecord, shardId: string): BatchRecord & { readonly partitionKey: string } {
  return {
    shardId,
    sequenceNumber: record.SequenceNumber ?? "",
    data: Buffer.from(record.Data ?? new Uint8Array()).toString("base64"),
    arrivalMs: new Date(record.ApproximateArrivalTimestamp ?? 0).getTime(),
    partitionKey: record.PartitionKey ?? "",
  };
}

/**
 * Stream records as Firehose hands them to its transformation function: each with the Kinesis
 * metadata a stream source adds (arrival in ms), its record id unique in the delivery stream.
 */
export function firehoseEvent(records: readonly (BatchRecord & { readonly partitionKey?: string })[], o: { deliveryStream: string; invocationId: string; streamArn?: string }): FirehoseTransformationEvent {
  return {
    invocationId: o.invocationId,
    deliveryStreamArn: `arn:aws:firehose:${LOCAL_AWS.region}:${ACCOUNT}:deliverystream/${o.deliveryStream}`,
    ...(o.streamArn === undefined ? {} : { sourceKinesisStreamArn: o.streamArn }),
    region: LOCAL_AWS.region,
    records: records.map((r) => ({
      recordId: `${r.shardId}-${r.sequenceNumber}`,
      approximateArrivalTimestamp: r.arrivalMs,
      data: r.data,
      kinesisRecordMetadata: { shardId: r.shardId, partitionKey: r.partitionKey ?? "", approximateArrivalTimestamp: r.arrivalMs, sequenceNumber: r.sequenceNumber, subsequenceNumber: "0" },
    })),
  };
}

export async function tableStreamShards(streams: DynamoDBStreamsClient, streamArn: string): Promise<string[]> {
  const d = await streams.send(new DescribeTableStreamCommand({ StreamArn: streamArn }));
  return (d.StreamDescription?.Shards ?? []).map((s) => s.ShardId ?? "");
}

/** The errors on which a table-stream shard's iterator is opened again (see TableStreamShard). */
const REOPEN_ON = new Set(["ExpiredIteratorException", "TrimmedDataAccessException"]);

/**
 * One shard of a table stream, read as Lambda's poller reads it: each read goes on from the
 * iterator the last one returned, until the shard has nothing new; `closed` once a closed shard
 * is read to its end. An iterator lives 15 minutes: an expired one is opened again after the last
 * record read. DynamoDB Local also refuses, as "trimmed", an iterator it handed out while the
 * shard was empty once records are there, and now and then a position it still holds records
 * after: the iterator is opened again in the same way, and a refused position is read from the
 * shard's oldest record, skipping what came up to it (a record really trimmed would be missing
 * from the books, which say so).
 */
export class TableStreamShard {
  /** undefined until opened; null once a closed shard is read to its end. */
  private iterator: string | null | undefined;
  /** Records up to this sequence number are skipped (after a trimmed position). */
  private skipUpTo: bigint | undefined;

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    readonly streamArn: string,
    readonly shardId: string,
    /** The last record read (exclusive start), or undefined for the shard's start. */
    private after?: string,
  ) {}

  get closed(): boolean {
    return this.iterator === null;
  }

  /** The shard's records after the last read, until it has nothing new. */
  async read(): Promise<TableStreamRecord[]> {
    const records: TableStreamRecord[] = [];
    if (this.iterator === undefined) await this.open();
    for (let reopened = 0; this.iterator; ) {
      let page;
      try {
        page = await this.streams.send(new GetTableStreamRecordsCommand({ ShardIterator: this.iterator, Limit: 1000 }));
      } catch (error) {
        if (!REOPEN_ON.has((error as Error)?.name) || reopened === 2) throw error;
        // Once after the last record read; refused again, from the shard's oldest record.
        reopened += 1;
        await this.open(reopened === 2);
        continue;
      }
      const got = page.Records ?? [];
      for (const r of got) {
        const sequence = r.dynamodb?.SequenceNumber;
        if (this.skipUpTo !== undefined && BigInt(sequence ?? "0") <= this.skipUpTo) continue;
        records.push(r);
        this.after = sequence;
      }
      this.iterator = page.NextShardIterator ?? null;
      if (got.length === 0) break;
    }
    return records;
  }

  private async open(fromOldest = false): Promise<void> {
    const at = { StreamArn: this.streamArn, ShardId: this.shardId };
    const fromStart = () => this.streams.send(new GetTableStreamIteratorCommand({ ...at, ShardIteratorType: "TRIM_HORIZON" }));
    this.skipUpTo = fromOldest && this.after !== undefined ? BigInt(this.after) : undefined;
    if (this.after === undefined || fromOldest) {
      this.iterator = (await fromStart()).ShardIterator ?? null;
      return;
    }
    try {
      this.iterator = (await this.streams.send(new GetTableStreamIteratorCommand({ ...at, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: this.after }))).ShardIterator ?? null;
    } catch (error) {
      if ((error as Error)?.name !== "TrimmedDataAccessException") throw error;
      this.skipUpTo = BigInt(this.after);
      this.iterator = (await fromStart()).ShardIterator ?? null;
    }
  }
}

/** Reads a table-stream shard from `after` (exclusive) or its start, until it has nothing new. */
export function readTableStream(streams: DynamoDBStreamsClient, streamArn: string, shardId: string, after?: string): Promise<TableStreamRecord[]> {
  return new TableStreamShard(streams, streamArn, shardId, after).read();
}

/** A table-stream record as Lambda delivers it (creation time in epoch seconds). */
export function toDynamoDBLambdaRecord(record: TableStreamRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    awsRegion: LOCAL_AWS.region,
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord["eventName"],
    eventSource: "aws:dynamodb",
    eventSourceARN: streamArn,
    eventVersion: record.eventVersion,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? d.ApproximateCreationDateTime.getTime() / 1000 : undefined,
      Keys: d.Keys as never,
      NewImage: d.NewImage as never,
      OldImage: d.OldImage as never,
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
}

export const dynamoDBStreamEvent = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

/** A context as Lambda's Node.js runtime passes it: a fresh request id per invocation unless given. */
export function lambdaContext(o: { functionName: string; awsRequestId?: string }): Context {
  return {
    awsRequestId: o.awsRequestId ?? randomUUID(),
    functionName: o.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_AWS.region}:${ACCOUNT}:function:${o.functionName}`,
    memoryLimitInMB: "256",
    logGroupName: `/aws/lambda/${o.functionName}`,
    logStreamName: "local",
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
