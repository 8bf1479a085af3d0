import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { seeded } from "../local/producer";
import { createEventStream, readShard } from "../local/aws";
import { emulators } from "./emulators";

// kinesalite's own db module, untouched in this process; the emulator's thread runs the patched one.
const db = require("kinesalite/db") as KinesaliteDb;
const { fasterSequences } = require("../local/kinesaliteSequences.cjs") as { fasterSequences: (db: KinesaliteDb) => KinesaliteDb };

interface SequenceParts {
  shardCreateTime: number;
  shardIx: number;
  seqIx?: number | string;
  seqTime?: number;
  byte1?: string;
  version?: number;
}
interface KinesaliteDb {
  parseSequence(seq: string): Record<string, unknown>;
  stringifySequence(parts: SequenceParts): string;
  incrementSequence(seq: string | Record<string, unknown>, seqTime?: number): string;
  partitionKeyToHashKey(key: string): { comparedTo(other: unknown): number };
  shardIxToHex(shardIx: number): string;
}

/** What kinesalite itself answers, or the error it throws. */
const outcome = <T>(f: () => T): T | string => {
  try {
    return f();
  } catch (error) {
    return `throws ${(error as Error).message}`;
  }
};

describe("kinesalite's sequence arithmetic in BigInt (local/kinesaliteSequences.cjs)", () => {
  const fast = fasterSequences({ ...db });
  const random = seeded(3);
  const int = (below: number) => Math.floor(random() * below);

  it("makes and reads the same sequence numbers as kinesalite, digit for digit", () => {
    // Prepare: shards created over the last years, every shard index a stream can have, sequence
    // indexes from 0 to 2^63 - 1 (as numbers and as kinesalite's own decimal strings)
    const cases: SequenceParts[] = [];
    for (let i = 0; i < 3000; i++) {
      const shardCreateTime = Date.UTC(2015, 0, 1) + int(12 * 365 * 86_400_000);
      const seqIx = i % 3 === 0 ? int(1000) : i % 3 === 1 ? int(Number.MAX_SAFE_INTEGER) : (BigInt(int(2 ** 31)) * BigInt(int(2 ** 32))).toString();
      cases.push({ shardCreateTime, shardIx: int(i % 5 === 0 ? 2 ** 31 : 50), seqIx, seqTime: shardCreateTime + int(86_400_000), ...(i % 7 === 0 ? { byte1: "0a" } : {}) });
    }
    cases.push({ shardCreateTime: Date.UTC(2020, 0, 1), shardIx: 0 }, { shardCreateTime: Date.UTC(2020, 0, 1), shardIx: 3, seqIx: "9223372036854775807" });
    for (const parts of cases) {
      // Act
      const made = fast.stringifySequence(parts);
      // Assess
      assert.equal(made, db.stringifySequence(parts), JSON.stringify(parts));
      assert.deepEqual(fast.parseSequence(made), db.parseSequence(made), made);
      assert.equal(fast.incrementSequence(made), db.incrementSequence(made), made);
      assert.equal(fast.incrementSequence(db.parseSequence(made), 1_700_000_000_000), db.incrementSequence(db.parseSequence(made), 1_700_000_000_000), made);
    }
  });

  it("leaves older versions and odd input to kinesalite, with its answers and its errors", () => {
    const odd = [
      db.stringifySequence({ shardCreateTime: Date.UTC(2019, 5, 1), shardIx: 2, version: 1, seqIx: 4, seqTime: Date.UTC(2019, 5, 2) }),
      db.stringifySequence({ shardCreateTime: Date.UTC(2019, 5, 1), shardIx: 2, version: 0 }),
      "49590338271490256608559692538361571095921575989136588898",
      "0",
      "12",
      "",
      "1e50",
      "not a number",
      "-5",
      "00049590338271490256608559692538361571095921575989136588898",
      "9".repeat(70),
    ];
    for (const seq of odd) assert.deepEqual(outcome(() => fast.parseSequence(seq)), outcome(() => db.parseSequence(seq)), seq);
    const parts: SequenceParts[] = [
      { shardCreateTime: Date.UTC(2019, 5, 1), shardIx: 2, version: 1, seqIx: 4 },
      { shardCreateTime: Date.UTC(2019, 5, 1), shardIx: 2, seqIx: 1.5 },
      { shardCreateTime: Date.UTC(2019, 5, 1), shardIx: 2, seqIx: "12" },
    ];
    for (const p of parts) assert.deepEqual(outcome(() => fast.stringifySequence(p)), outcome(() => db.stringifySequence(p)), JSON.stringify(p));
  });

  it("puts a partition key in the same shard as kinesalite, boundaries included", () => {
    // Prepare: the hash key ranges of 1, 2, 3 and 7 shards (createStream's own split)
    const POW_128 = 2n ** 128n;
    const boundaries = new Set<string>(["0", "1", (POW_128 - 1n).toString(), POW_128.toString()]);
    for (const shards of [2n, 3n, 7n]) {
      const size = POW_128 / shards;
      for (let i = 1n; i < shards; i++) for (const d of [-1n, 0n, 1n]) boundaries.add((size * i + d).toString());
    }
    for (let i = 0; i < 2000; i++) {
      const key = i % 2 === 0 ? `pk-${i}` : `user-${int(10_000)}-\u00e9\u{1F600}`;
      const ours = fast.partitionKeyToHashKey(key);
      const theirs = db.partitionKeyToHashKey(key);
      // Act and assess: the same answer against every boundary, and against the key's own hash
      for (const b of [...boundaries, BigInt(`0x${createHash("md5").update(key, "utf8").digest("hex")}`).toString()]) assert.equal(ours.comparedTo(b), theirs.comparedTo(b), `${key} vs ${b}`);
      assert.equal(ours.comparedTo(0), theirs.comparedTo(0));
    }
  });

  it("runs in the emulator: records put come back in order with increasing sequence numbers, on the right shards", async function () {
    this.timeout(60_000);
    // Prepare
    const { clients } = await emulators();
    const stream = await createEventStream(clients.kinesis, `sequences-${Date.now()}`, 3);
    const name = stream.arn.split("/").pop()!;
    const records = Array.from({ length: 1200 }, (_, i) => ({ Data: Buffer.from(`record ${i}`), PartitionKey: `pk-${i}` }));
    // Act
    const put: { ShardId?: string; SequenceNumber?: string }[] = [];
    for (let i = 0; i < records.length; i += 500) put.push(...((await clients.kinesis.send(new PutRecordsCommand({ StreamName: name, Records: records.slice(i, i + 500) }))).Records ?? []));
    // Assess: each record on the shard kinesalite's own hashing picks, read back in put order
    const ranges = (await clients.kinesis.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
    const shardOf = (key: string) => {
      const hash = db.partitionKeyToHashKey(key);
      return ranges.find((s) => hash.comparedTo(s.HashKeyRange!.StartingHashKey) >= 0 && hash.comparedTo(s.HashKeyRange!.EndingHashKey) <= 0)?.ShardId;
    };
    assert.equal(ranges.length, 3);
    put.forEach((r, i) => assert.equal(r.ShardId, shardOf(`pk-${i}`), `pk-${i}`));
    for (const shardId of stream.shardIds) {
      const read = await readShard(clients.kinesis, name, shardId);
      const expected = put.flatMap((r, i) => (r.ShardId === shardId ? [{ seq: r.SequenceNumber, data: `record ${i}` }] : []));
      assert.deepEqual(
        read.map((r) => ({ seq: r.SequenceNumber, data: Buffer.from(r.Data!).toString() })),
        expected,
      );
      for (let i = 1; i < read.length; i++) assert.ok(BigInt(read[i].SequenceNumber!) > BigInt(read[i - 1].SequenceNumber!));
    }
  });
});
