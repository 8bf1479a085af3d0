/**
 * `npm run replay -- --stack <name>`: replays the analyzer's dead letters of a deployed stack,
 * exactly once, while the stream still holds their records.
 *
 * Reads the stack's outputs (`pulumi stack output --json`), takes each message from every
 * pipeline's analyzer dead-letter queue (Lambda's KinesisBatchInfo: shard and sequence range),
 * reads the range back from the stream, applies what the failed batch left unapplied (the
 * analyzer's ledger says which counters lacked which records), and deletes the message once
 * the range is in. The local run uses the same code on its own dead letters.
 */
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { toMark } from "../catalog/item";
import { analyzerRules } from "../catalog/rules";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { registryGate } from "../functions/analyzer/registry";
import { type DeadLetterRange, type ReplayReport, replayDeadLetter } from "../functions/analyzer/replay";
import { toBatchRecord } from "./aws";
import { readStack, stackOutputs } from "./stackConfig";

/** The records of one shard's range still on the stream, in order; those trimmed are simply absent. */
export async function readRange(kinesis: KinesisClient, streamName: string, range: DeadLetterRange): Promise<BatchRecord[]> {
  const records: BatchRecord[] = [];
  let iterator: string | undefined;
  try {
    iterator = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: range.shardId, ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: range.startSequenceNumber }))
    ).ShardIterator;
  } catch (error) {
    // The start was trimmed: read what is left of the range from the oldest record on.
    if ((error as Error).name !== "InvalidArgumentException" && (error as Error).name !== "ResourceNotFoundException") throw error;
    iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: range.shardId, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
  }
  const end = toMark(range.endSequenceNumber);
  for (let empty = 0; iterator !== undefined && empty < 5; ) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    iterator = page.NextShardIterator;
    if ((page.Records ?? []).length === 0) {
      if ((page.MillisBehindLatest ?? 0) === 0) break;
      empty += 1;
      continue;
    }
    for (const r of page.Records ?? []) {
      const seq = r.SequenceNumber ?? "";
      if (toMark(seq) > end) return records;
      if (toMark(seq) < toMark(range.startSequenceNumber)) continue;
      records.push(toBatchRecord(r, range.shardId));
    }
  }
  return records;
}

/** One line per replayed letter: what came back, what was already there, what the stream had lost. */
export function describeReplay(r: ReplayReport): string {
  const trimmed = r.trimmed ? `, ${r.trimmed} already trimmed from the stream (lost)` : "";
  const range = `${r.shardId} ${r.startSequenceNumber}…${r.endSequenceNumber}`;
  if (r.ledger === "missing") {
    return (
      `NOT replayed ${range}: the batch ran, but the analyzer's ledger has no entry for it, so the counters may hold any part of it ` +
      `(${r.recovered} records on the stream); left in the queue for an operator`
    );
  }
  const ledger = r.ledger === "found" ? "per the analyzer's ledger" : "the batch never ran: every counter update applied";
  const problems = [r.uncertain > 0 ? `${r.uncertain} counter(s) the ledger couldn't vouch for left alone` : "", r.failed - r.uncertain > 0 ? `${r.failed - r.uncertain} FAILED, run the replay again` : ""];
  return (
    `replayed ${range}: ${r.recovered} records recovered (${r.counted} counted, ${r.rejected} rejected)${trimmed}; ` +
    `${r.applied} counter updates applied, ${r.alreadyApplied} already in (${ledger})${problems.filter(Boolean).map((p) => `; ${p}`).join("")}`
  );
}

interface StackOutputs {
  readonly pipelines: Record<string, { streamName: string; counterTableName: string; stateTableName: string; quarantineBucket: string; analyzerDeadLetterQueueUrl: string }>;
}

/** Lambda's on-failure message for a Kinesis mapping: the batch's shard and sequence range. */
export function letterOf(body: string): DeadLetterRange {
  const message = JSON.parse(body) as {
    requestContext?: { approximateInvokeCount?: number };
    KinesisBatchInfo?: { shardId: string; startSequenceNumber: string; endSequenceNumber: string; batchSize?: number };
  };
  const info = message.KinesisBatchInfo;
  if (info === undefined) throw new Error("the message has no KinesisBatchInfo; is this the analyzer's dead-letter queue?");
  // Without a count, assume it ran: the replay then trusts only the ledger.
  const invocations = message.requestContext?.approximateInvokeCount ?? 1;
  return { shardId: info.shardId, startSequenceNumber: info.startSequenceNumber, endSequenceNumber: info.endSequenceNumber, batchSize: info.batchSize, invocations };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, outputs: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help || values.stack === undefined) {
    process.stdout.write("usage: npm run replay -- --stack NAME [--outputs FILE]\n\n  --stack NAME    the deployed stack whose analyzer dead letters to replay\n  --outputs FILE  its `pulumi stack output --json` saved to a file (default: ask the Pulumi CLI)\n");
    process.exit(values.help ? 0 : 2);
  }
  const outputs = stackOutputs(values.stack, values.outputs) as StackOutputs;
  const { pipelines, region } = readStack(values.stack);
  const clients = { region };
  const dynamo = new DynamoDBClient(clients);
  const kinesis = new KinesisClient(clients);
  const sqs = new SQSClient(clients);
  const s3 = new S3Client(clients);
  let failed = 0;
  for (const pipeline of pipelines) {
    const out = outputs.pipelines[pipeline.name];
    if (out === undefined) throw new Error(`stack ${values.stack} has no outputs for pipeline ${pipeline.name}; deploy it first`);
    const deps = {
      rules: analyzerRules({ catalog: pipeline.catalog, granularity: pipeline.settings.granularity }),
      dynamo,
      s3,
      settings: { tableName: out.counterTableName, quarantineBucket: out.quarantineBucket, mode: pipeline.settings.counterMode, ttlDays: pipeline.settings.counterTtlDays, stateTable: out.stateTableName },
      gate: registryGate({ client: dynamo, tableName: out.stateTableName }),
    };
    let letters = 0;
    for (;;) {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: out.analyzerDeadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, VisibilityTimeout: 300 }));
      if ((got.Messages ?? []).length === 0) break;
      for (const message of got.Messages ?? []) {
        letters += 1;
        const letter = letterOf(message.Body ?? "{}");
        const report = await replayDeadLetter(letter, await readRange(kinesis, out.streamName, letter), deps);
        process.stdout.write(`${pipeline.name}: ${describeReplay(report)}\n`);
        if (report.failed > 0) failed += 1;
        else await sqs.send(new DeleteMessageCommand({ QueueUrl: out.analyzerDeadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
    process.stderr.write(`${pipeline.name}: ${letters} dead letter(s) read\n`);
  }
  process.exit(failed > 0 ? 1 : 0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`error: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  });
}
