/**
 * Local stand-ins for Lambda's event source mappings: read a Kinesis shard or the counter
 * table's stream the way the mapping's poller does (batch size, batching window), hand each
 * batch to the handler as a real Lambda event, and deliver it with the mapping's retry,
 * bisection and dead-letter behaviour (esm.ts). Each records the health metrics the deployed
 * alarms watch (invocations, errors, iterator age) in the local metric store.
 */
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type _Record as KinesisRecord } from "@aws-sdk/client-kinesis";
import type { DynamoDBRecord, DynamoDBStreamHandler, Handler, KinesisStreamHandler, KinesisStreamRecord } from "aws-lambda";
import type { MappingSettings } from "../config/stack";
import { dynamoDBStreamEvent, kinesisEvent, lambdaContext, TableStreamShard, tableStreamShards, toDynamoDBLambdaRecord, toKinesisLambdaRecord } from "./aws";
import { deliverShard, type DeliveryStats, type InvocationResult } from "./esm";
import type { MetricStore } from "./metricStore";

/** What Lambda sends the on-failure destination: the batch's shard range, not its records. */
export interface DeadLetter {
  readonly queue: string;
  readonly function: string;
  readonly reason: string;
  readonly batchSize: number;
  /** The Kinesis shard, for the analyzer's letters (Lambda's KinesisBatchInfo has it too). */
  readonly shardId?: string;
  readonly startSequenceNumber?: string;
  readonly endSequenceNumber?: string;
}

/** A function as the local run deploys it: its names, its handler, its mapping's settings. */
export interface LocalFunction<E> {
  readonly role: string;
  readonly functionName: string;
  readonly dlqName: string;
  readonly handler: Handler<E, InvocationResult | void>;
  readonly mapping: MappingSettings;
  readonly stats: DeliveryStats;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sleeps `ms`, or less once `until` holds (checked every 50 ms). */
async function sleepUnless(ms: number, until: () => boolean): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && !until(); ) await sleep(Math.min(50, end - Date.now()));
}

/** Kinesis returns at most this many records per GetRecords. */
const MAX_GET_RECORDS = 10_000;

/** Lambda polls a DynamoDB stream's shards four times a second. */
const TABLE_STREAM_POLL_MS = 250;

/** How often the table stream's list of shards is read again while polling. */
const SHARD_LIST_MS = 5_000;

/** Delivers one batch of records with the mapping's behaviour, measuring invocations and errors. */
async function deliver<R, E>(
  fn: LocalFunction<E>,
  o: { records: R[]; idOf: (r: R) => string; shardOf?: (r: R) => string; event: (batch: R[]) => E; store: MetricStore; deadLetters: DeadLetter[] },
): Promise<void> {
  const metric = (metricName: string, value: number) => o.store.put({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: fn.functionName }, timestamp: Date.now(), value });
  await deliverShard({
    records: o.records,
    idOf: o.idOf,
    mapping: { batchSize: o.records.length, maximumRetryAttempts: fn.mapping.maximumRetryAttempts, bisectBatchOnFunctionError: true },
    stats: fn.stats,
    invoke: async (batch) => {
      metric("Invocations", 1);
      try {
        const result = await fn.handler(o.event(batch), lambdaContext({ functionName: fn.functionName }), () => undefined);
        metric("Errors", 0);
        return result ?? undefined;
      } catch (error) {
        metric("Errors", 1);
        throw error;
      }
    },
    onFailure: (batch, reason) => {
      o.deadLetters.push({
        queue: fn.dlqName,
        function: fn.role,
        reason,
        batchSize: batch.length,
        ...(o.shardOf === undefined ? {} : { shardId: o.shardOf(batch[0]) }),
        startSequenceNumber: o.idOf(batch[0]),
        endSequenceNumber: o.idOf(batch[batch.length - 1]),
      });
    },
  });
}

/** Polls one Kinesis shard until the producer is done and the shard is drained. */
export async function pollKinesisShard(o: {
  kinesis: KinesisClient;
  stream: { name: string; arn: string };
  shardId: string;
  fn: LocalFunction<ReturnType<typeof kinesisEvent>> & { handler: KinesisStreamHandler };
  store: MetricStore;
  deadLetters: DeadLetter[];
  producing: () => boolean;
  /** Resume after this sequence number (the last checkpoint) rather than at the shard's start. */
  after?: string;
  /** Called once a batch is done with (applied, or dead-lettered): the mapping's checkpoint. */
  onCheckpoint?: (sequenceNumber: string) => void;
}): Promise<void> {
  const m = o.fn.mapping;
  const start =
    o.after === undefined
      ? { StreamName: o.stream.name, ShardId: o.shardId, ShardIteratorType: "TRIM_HORIZON" as const }
      : { StreamName: o.stream.name, ShardId: o.shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER" as const, StartingSequenceNumber: o.after };
  let iterator = (await o.kinesis.send(new GetShardIteratorCommand(start))).ShardIterator;
  const buffer: KinesisRecord[] = [];
  let drained = false;
  /** One GetRecords into the buffer. Read before polling: once the producer is done, an empty page means the shard is drained. */
  const read = async (): Promise<number> => {
    const done = !o.producing();
    const page = await o.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(MAX_GET_RECORDS, m.batchSize) }));
    iterator = page.NextShardIterator;
    const got = page.Records ?? [];
    buffer.push(...got);
    if (got.length === 0 && done) drained = true;
    return got.length;
  };
  // Lambda's poller keeps reading the shard while a batch is with the function (one invocation
  // per shard at a time): the next batch is read while this one is delivered.
  let ahead: Promise<number> | undefined;
  for (;;) {
    const windowEnds = Date.now() + m.batchingWindowSeconds * 1000;
    while (buffer.length < m.batchSize && !drained) {
      const reading = ahead ?? read();
      ahead = undefined;
      if ((await reading) > 0) continue;
      if (drained || Date.now() >= windowEnds) break;
      await sleep(50);
    }
    if (buffer.length === 0) {
      if (drained) return;
      continue;
    }
    const records = buffer.splice(0, m.batchSize).map((r) => toKinesisLambdaRecord(r, o.shardId, o.stream.arn));
    if (!drained && buffer.length < m.batchSize) {
      ahead = read();
      // Awaited with the next batch; a failure meanwhile must not count as unhandled.
      ahead.catch(() => undefined);
    }
    const newest = records[records.length - 1].kinesis.approximateArrivalTimestamp * 1000;
    o.store.put({ namespace: "AWS/Lambda", metricName: "IteratorAge", dimensions: { FunctionName: o.fn.functionName }, timestamp: Date.now(), value: Date.now() - newest });
    await deliver(o.fn, { records, idOf: (r: KinesisStreamRecord) => r.kinesis.sequenceNumber, shardOf: () => o.shardId, event: kinesisEvent, store: o.store, deadLetters: o.deadLetters });
    o.onCheckpoint?.(records[records.length - 1].kinesis.sequenceNumber);
  }
}

/** Polls every shard of the counter table's stream until the analyzers are done and it is drained. */
export async function pollTableStream(o: {
  streams: DynamoDBStreamsClient;
  streamArn: string;
  fn: LocalFunction<ReturnType<typeof dynamoDBStreamEvent>> & { handler: DynamoDBStreamHandler };
  store: MetricStore;
  deadLetters: DeadLetter[];
  upstreamDone: () => boolean;
  /** Per shard, resume after this sequence number (the last checkpoint). */
  after?: Readonly<Record<string, string>>;
  onCheckpoint?: (shardId: string, sequenceNumber: string) => void;
}): Promise<void> {
  const m = o.fn.mapping;
  // Each shard is read on from where the last read left it (TableStreamShard), and the list of
  // shards is read again only now and then: DynamoDB rolls a stream's shards over every few hours.
  const readers = new Map<string, TableStreamShard>();
  let shards: TableStreamShard[] = [];
  let listedAt = Number.NEGATIVE_INFINITY;
  for (;;) {
    const finished = o.upstreamDone(); // read before polling: anything written before this is in the stream
    if (finished || Date.now() - listedAt >= SHARD_LIST_MS) {
      shards = (await tableStreamShards(o.streams, o.streamArn)).map((shardId) => {
        const reader = readers.get(shardId) ?? new TableStreamShard(o.streams, o.streamArn, shardId, o.after?.[shardId]);
        readers.set(shardId, reader);
        return reader;
      });
      listedAt = Date.now();
    }
    let got = 0;
    for (const shard of shards) {
      if (shard.closed) continue;
      const { shardId } = shard;
      const records = await shard.read();
      if (records.length === 0) continue;
      got += records.length;
      for (let i = 0; i < records.length; i += m.batchSize) {
        const batch = records.slice(i, i + m.batchSize).map((r) => toDynamoDBLambdaRecord(r, o.streamArn));
        const newest = Math.max(...batch.map((r) => (r.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000));
        o.store.put({ namespace: "AWS/Lambda", metricName: "IteratorAge", dimensions: { FunctionName: o.fn.functionName }, timestamp: Date.now(), value: Math.max(0, Date.now() - newest) });
        await deliver(o.fn, { records: batch, idOf: (r: DynamoDBRecord) => r.dynamodb?.SequenceNumber ?? "", event: dynamoDBStreamEvent, store: o.store, deadLetters: o.deadLetters });
        o.onCheckpoint?.(shardId, batch[batch.length - 1].dynamodb?.SequenceNumber ?? "");
      }
    }
    if (got === 0) {
      if (finished) return;
      // Once the analyzers are done, the last of their changes is read at once.
      await sleepUnless(Math.min(TABLE_STREAM_POLL_MS, m.batchingWindowSeconds * 1000 || 50), o.upstreamDone);
    }
  }
}
