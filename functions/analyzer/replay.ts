import { type AttributeValue, type DynamoDBClient, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { partKey, toMark } from "../../catalog/item";
import type { AnalyzerRules } from "../../catalog/rules";
import { deadLetterKey, STATE, STATE_TABLE, unappliedKey } from "../../catalog/state";
import type { BatchRecord, CounterUpdate } from "./aggregate";
import { applyUpdates } from "./counters";
import { decodeEntry, type Unapplied } from "./ledger";
import { quarantine } from "./quarantine";
import { planDecided, type RegistryGate } from "./registry";
import type { AnalyzerSettings } from "./settings";

/** What the event source mapping sent to the dead-letter queue: a pointer to a range of one shard. */
export interface DeadLetterRange {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  /** Records in the range, when the message says. */
  readonly batchSize?: number;
  /**
   * How often Lambda invoked the function with the range (the message's approximateInvokeCount).
   * 0 means it never ran (it aged out unread), so nothing of it can be in the counters.
   */
  readonly invocations: number;
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
  /**
   * "found": the ledger said what the failed batch left unapplied. "never-ran": no entry, and the
   * batch was never invoked, so all of it was missing. "missing": no entry for a batch that ran;
   * nothing is applied, since the counters may hold part of it.
   */
  readonly ledger: "found" | "never-ran" | "missing";
  /** Counter updates applied now, and those found applied already (by the batch, or an earlier replay). */
  readonly applied: number;
  readonly alreadyApplied: number;
  /** Updates that failed (run the replay again) or that the ledger can't vouch for (see `ledger`). */
  readonly failed: number;
  /** Counter items the ledger lists without their mark: refused, for an operator to look at. */
  readonly uncertain: number;
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

/**
 * The ledger's entry for a dead letter: one filed for its shard whose range overlaps the letter's
 * (filed under the failed batch's first record, which is the letter's start unless the last
 * attempt died before writing the ledger), or the shard's unapplied one when no later batch has
 * filed it yet. A Scan of the filed entries: the replay is a rare operator's tool.
 */
export async function findEntry(client: DynamoDBClient, tableName: string, letter: DeadLetterRange): Promise<{ key: string; entry: Unapplied } | undefined> {
  const overlaps = (e: Unapplied) => e.shardId === letter.shardId && toMark(e.from) <= toMark(letter.endSequenceNumber) && toMark(e.to) >= toMark(letter.startSequenceNumber);
  const candidates: { key: string; body: Uint8Array }[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: "begins_with(#pk, :filed) OR #pk = :unapplied",
        ExpressionAttributeNames: { "#pk": STATE_TABLE.partitionKey },
        ExpressionAttributeValues: { ":filed": { S: deadLetterKey(letter.shardId, "") }, ":unapplied": { S: unappliedKey(letter.shardId) } },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const body = item[STATE.body]?.B;
      if (body !== undefined) candidates.push({ key: item[STATE_TABLE.partitionKey]?.S ?? "", body });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  for (const { key, body } of candidates) {
    const entry = decodeEntry(body);
    if (overlaps(entry)) return { key, entry };
  }
  return undefined;
}

/**
 * Keeps, of each update, only the records the ledger says the shard's part lacks (the update
 * itself goes to the replay's own part); counts the parts it can't vouch for.
 */
function unappliedOnly(updates: readonly CounterUpdate[], entry: Unapplied): { kept: CounterUpdate[]; uncertain: number } {
  const pending = new Map(entry.pending.map((p) => [`${p.pk}\u0000${p.sk}`, p.from === undefined ? null : toMark(p.from)]));
  const kept: CounterUpdate[] = [];
  let uncertain = 0;
  for (const u of updates) {
    const from = pending.get(`${u.pk}\u0000${partKey(u.bucket, entry.shardId)}`);
    if (from === undefined) continue;
    if (from === null) {
      uncertain += 1;
      continue;
    }
    const keep = u.seqs.map((seq) => toMark(seq) >= from);
    const seqs = u.seqs.filter((_, i) => keep[i]);
    if (seqs.length === 0) continue;
    const sums = u.sums.filter((_, i) => keep[i]);
    kept.push({ ...u, seqs, sums, count: seqs.length, sum: sums.reduce((a, b) => a + b, 0n) });
  }
  return { kept, uncertain };
}

/**
 * Applies a dead-lettered range exactly once. The records are read back from the stream by the
 * caller and judged as on their first delivery (by arrival time). With the ledger's entry, only
 * the updates it lists are applied, each from its first missing record; without one, everything
 * is if the batch never ran (it aged out unread), and nothing if it ran. Each update is conditioned on the letter's own
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
  const plan = await planDecided(asReplay, deps.rules, deps.gate);
  const ledger: ReplayReport["ledger"] = found !== undefined ? "found" : letter.invocations === 0 ? "never-ran" : "missing";
  const report = { shardId: letter.shardId, startSequenceNumber: letter.startSequenceNumber, endSequenceNumber: letter.endSequenceNumber, recovered: inRange.length, ledger };
  const trimmed = letter.batchSize === undefined ? {} : { trimmed: Math.max(0, letter.batchSize - inRange.length) };
  if (ledger === "missing") {
    // The batch ran, and the counters may hold any part of it: applying all of it could count twice.
    return { ...report, ...trimmed, counted: plan.counted, rejected: plan.rejections.length, applied: 0, alreadyApplied: 0, failed: plan.updates.length, uncertain: plan.updates.length };
  }
  const quarantineFrom = found === undefined ? letter.startSequenceNumber : found.entry.quarantineFrom;
  if (quarantineFrom !== undefined) {
    const rejects = plan.rejections.filter((r) => toMark(r.sequenceNumber) >= toMark(quarantineFrom)).map((r) => ({ ...r, shardId: letter.shardId }));
    await quarantine(deps.s3, deps.settings.quarantineBucket, rejects);
  }
  const { kept: updates, uncertain } = found === undefined ? { kept: plan.updates, uncertain: 0 } : unappliedOnly(plan.updates, found.entry);
  const outcomes = await applyUpdates(updates, { client: deps.dynamo, tableName: deps.settings.tableName, mode: "exactly-once", ttlDays: deps.settings.ttlDays });
  const failed = outcomes.filter((o) => o.firstUnapplied !== undefined).length + uncertain;
  const applied = outcomes.filter((o) => o.firstUnapplied === undefined && o.applied > 0).length;
  if (failed === 0 && found !== undefined) {
    // Kept, not deleted: a second replay must find the same list, or it would apply everything.
    await deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.settings.stateTable,
        Key: { [STATE_TABLE.partitionKey]: { S: found.key } },
        UpdateExpression: "SET #r = :now",
        // Only on the entry itself: never an empty item where the analyzer has since moved it.
        ConditionExpression: "attribute_exists(#body)",
        ExpressionAttributeNames: { "#r": STATE.replayedAt, "#body": STATE.body },
        ExpressionAttributeValues: { ":now": { S: new Date().toISOString() } },
      }),
    );
  }
  return {
    ...report,
    ...trimmed,
    counted: plan.counted,
    rejected: plan.rejections.length,
    applied,
    alreadyApplied: outcomes.length - applied - (failed - uncertain),
    failed,
    uncertain,
  };
}
