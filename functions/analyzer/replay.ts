import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { toMark } from "../../catalog/item";
import type { AnalyzerRules } from "../../catalog/rules";
import { deadLetterKey, STATE, STATE_TABLE, unappliedKey } from "../../catalog/state";
import { type BatchRecord, type CounterUpdate, planBatch } from "./aggregate";
import { applyUpdates } from "./counters";
import { memoryGate } from "./decode";
import { decodeEntry, type Unapplied } from "./ledger";
import { quarantine } from "./quarantine";
import type { RegistryGate } from "./registry";
import type { AnalyzerSettings } from "./settings";

/** What the event source mapping sent to the dead-letter queue: a pointer to a range of one shard. */
export interface DeadLetterRange {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  /** Records in the range, when the message says. */
  readonly batchSize?: number;
}

export interface ReplayReport {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  /** Records read back from the stream. */
  readonly recovered: number;
  /** Records the stream had already trimmed (known when the message gave the batch size). */
  readonly trimmed?: number;
  readonly counted: number;
  readonly rejected: number;
  /** What the ledger said the failed batch had left unapplied; "unknown" when it held no entry. */
  readonly ledger: "found" | "unknown";
  /** Counter updates applied now, and those found applied already (by the batch, or an earlier replay). */
  readonly applied: number;
  readonly alreadyApplied: number;
  /** Updates that failed: run the replay again. */
  readonly failed: number;
}

export interface ReplayDeps {
  readonly rules: AnalyzerRules;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  readonly settings: AnalyzerSettings & { readonly stateTable: string };
  readonly gate?: RegistryGate;
}

/**
 * The pseudo-shard a dead letter's records are applied under. Its high-water mark is a mark per
 * dead letter: the real shard's marks have moved past the range, and this one makes a second
 * replay of the same letter add nothing.
 */
export const replayShard = (letter: DeadLetterRange): string => `replay-${letter.shardId}-${letter.startSequenceNumber}`;

/** The ledger's entry for a dead letter: filed as a dead letter, or still the shard's unapplied one. */
export async function findEntry(client: DynamoDBClient, tableName: string, letter: DeadLetterRange): Promise<{ key: string; entry: Unapplied } | undefined> {
  const overlaps = (e: Unapplied) => toMark(e.from) <= toMark(letter.endSequenceNumber) && toMark(e.to) >= toMark(letter.startSequenceNumber);
  for (const key of [deadLetterKey(letter.shardId, letter.startSequenceNumber), unappliedKey(letter.shardId)]) {
    const got = await client.send(new GetItemCommand({ TableName: tableName, Key: { [STATE_TABLE.partitionKey]: { S: key } }, ConsistentRead: true }));
    const body = got.Item?.[STATE.body]?.B;
    if (body === undefined) continue;
    const entry = decodeEntry(body);
    if (entry.shardId === letter.shardId && overlaps(entry)) return { key, entry };
  }
  return undefined;
}

/** Keeps, of each update, only the records the ledger says its item lacks. */
function unappliedOnly(updates: readonly CounterUpdate[], entry: Unapplied | undefined): CounterUpdate[] {
  if (entry === undefined) return [...updates];
  const pending = new Map(entry.pending.map((p) => [`${p.pk}\u0000${p.sk}`, toMark(p.from)]));
  const kept: CounterUpdate[] = [];
  for (const u of updates) {
    const from = pending.get(`${u.pk}\u0000${u.sk}`);
    if (from === undefined) continue;
    const keep = u.seqs.map((seq) => toMark(seq) >= from);
    const seqs = u.seqs.filter((_, i) => keep[i]);
    if (seqs.length === 0) continue;
    const sums = u.sums.filter((_, i) => keep[i]);
    kept.push({ ...u, seqs, sums, count: seqs.length, sum: sums.reduce((a, b) => a + b, 0n) });
  }
  return kept;
}

/**
 * Applies a dead-lettered range exactly once. The records are read back from the stream by the
 * caller and judged as on their first delivery (by arrival time). With the ledger's entry, only
 * the updates it lists are applied, each from its first missing record; without one (the batch
 * never ran, e.g. it aged out), everything is. Each update is conditioned on the letter's own
 * mark, so running the replay twice adds nothing the second time. The entry is kept, stamped
 * with when it was replayed.
 */
export async function replayDeadLetter(letter: DeadLetterRange, records: readonly BatchRecord[], deps: ReplayDeps): Promise<ReplayReport> {
  const inRange = records.filter(
    (r) => r.shardId === letter.shardId && toMark(r.sequenceNumber) >= toMark(letter.startSequenceNumber) && toMark(r.sequenceNumber) <= toMark(letter.endSequenceNumber),
  );
  const found = await findEntry(deps.dynamo, deps.settings.stateTable, letter);
  const shard = replayShard(letter);
  const asReplay = inRange.map((r) => ({ ...r, shardId: shard }));
  const gate = deps.gate ?? memoryGate();
  let plan = planBatch(asReplay, deps.rules, gate);
  if (plan.undecided.length > 0 && deps.gate !== undefined) {
    await deps.gate.decide(plan.undecided);
    plan = planBatch(asReplay, deps.rules, gate);
  }
  const quarantineFrom = found === undefined ? letter.startSequenceNumber : found.entry.quarantineFrom;
  if (quarantineFrom !== undefined) {
    const rejects = plan.rejections.filter((r) => toMark(r.sequenceNumber) >= toMark(quarantineFrom)).map((r) => ({ ...r, shardId: letter.shardId }));
    await quarantine(deps.s3, deps.settings.quarantineBucket, rejects);
  }
  const updates = unappliedOnly(plan.updates, found?.entry);
  const outcomes = await applyUpdates(updates, { client: deps.dynamo, tableName: deps.settings.tableName, mode: "exactly-once", ttlDays: deps.settings.ttlDays });
  const failed = outcomes.filter((o) => o.firstUnapplied !== undefined).length;
  const applied = outcomes.filter((o) => o.firstUnapplied === undefined && o.applied > 0).length;
  if (failed === 0 && found !== undefined) {
    // Kept, not deleted: a second replay must find the same list, or it would apply everything.
    await deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.settings.stateTable,
        Key: { [STATE_TABLE.partitionKey]: { S: found.key } },
        UpdateExpression: "SET #r = :now",
        ExpressionAttributeNames: { "#r": STATE.replayedAt },
        ExpressionAttributeValues: { ":now": { S: new Date().toISOString() } },
      }),
    );
  }
  return {
    shardId: letter.shardId,
    startSequenceNumber: letter.startSequenceNumber,
    endSequenceNumber: letter.endSequenceNumber,
    recovered: inRange.length,
    ...(letter.batchSize === undefined ? {} : { trimmed: Math.max(0, letter.batchSize - inRange.length) }),
    counted: plan.counted,
    rejected: plan.rejections.length,
    ledger: found === undefined ? "unknown" : "found",
    applied,
    alreadyApplied: outcomes.length - applied - failed,
    failed,
  };
}
