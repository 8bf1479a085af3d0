import assert from "node:assert/strict";
import { type DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from "@aws-sdk/client-dynamodb-streams";
import { TableStreamShard } from "../local/aws";

/**
 * A table-stream shard answered in memory: records 1..n (sequence numbers as strings), iterators
 * as "at:<index>", and errors injected per GetRecords call.
 */
function fakeShard(o: { records: number; failures: string[] }) {
  const records = Array.from({ length: o.records }, (_, i) => ({ dynamodb: { SequenceNumber: String(i + 1) } }));
  const calls: string[] = [];
  const client = {
    send: async (command: GetShardIteratorCommand | GetRecordsCommand) => {
      if (command instanceof GetShardIteratorCommand) {
        const { ShardIteratorType: type, SequenceNumber: after } = command.input;
        calls.push(`iterator ${type}${after === undefined ? "" : ` ${after}`}`);
        if (type === "AFTER_SEQUENCE_NUMBER" && o.failures[0] === "refuse-position") {
          o.failures.shift();
          throw Object.assign(new Error("trimmed"), { name: "TrimmedDataAccessException" });
        }
        return { ShardIterator: `at:${type === "TRIM_HORIZON" ? 0 : Number(after)}` };
      }
      const at = Number(command.input.ShardIterator!.slice(3));
      calls.push(`records from ${at}`);
      const failure = o.failures[0];
      if (failure !== undefined && failure !== "refuse-position") {
        o.failures.shift();
        throw Object.assign(new Error(failure), { name: failure });
      }
      const page = records.slice(at, at + 2);
      return { Records: page, NextShardIterator: `at:${at + page.length}` };
    },
  } as unknown as DynamoDBStreamsClient;
  return { client, calls, records, failures: o.failures };
}

const sequences = (records: { dynamodb?: { SequenceNumber?: string } }[]) => records.map((r) => r.dynamodb?.SequenceNumber);

describe("a table-stream shard read as Lambda's poller reads it (local/aws.ts)", () => {
  it("keeps its iterator between reads, and reads on from where the last read stopped", async () => {
    const shard = fakeShard({ records: 3, failures: [] });
    const reader = new TableStreamShard(shard.client, "arn", "shard-1");
    assert.deepEqual(sequences(await reader.read()), ["1", "2", "3"]);
    shard.records.push({ dynamodb: { SequenceNumber: "4" } });
    assert.deepEqual(sequences(await reader.read()), ["4"]);
    assert.deepEqual(shard.calls.filter((c) => c.startsWith("iterator")), ["iterator TRIM_HORIZON"]);
  });

  it("opens an expired or refused iterator again after the last record read, losing and repeating nothing", async () => {
    for (const failure of ["ExpiredIteratorException", "TrimmedDataAccessException"]) {
      const shard = fakeShard({ records: 5, failures: [] });
      const reader = new TableStreamShard(shard.client, "arn", "shard-1");
      assert.deepEqual(sequences(await reader.read()), ["1", "2", "3", "4", "5"]);
      shard.records.push({ dynamodb: { SequenceNumber: "6" } });
      shard.calls.length = 0;
      shard.failures.push(failure);
      assert.deepEqual(sequences(await reader.read()), ["6"], failure);
      assert.ok(shard.calls.includes("iterator AFTER_SEQUENCE_NUMBER 5"), `${failure}: ${shard.calls.join(", ")}`);
    }
  });

  it("reads a position refused twice from the shard's oldest record, skipping what came up to it", async () => {
    const shard = fakeShard({ records: 6, failures: ["TrimmedDataAccessException", "refuse-position"] });
    const reader = new TableStreamShard(shard.client, "arn", "shard-1", "3");
    assert.deepEqual(sequences(await reader.read()), ["4", "5", "6"]);
    assert.ok(shard.calls.includes("iterator TRIM_HORIZON"), shard.calls.join(", "));
  });

  it("gives up when the shard refuses even its oldest record", async () => {
    const shard = fakeShard({ records: 2, failures: ["TrimmedDataAccessException", "TrimmedDataAccessException", "TrimmedDataAccessException"] });
    await assert.rejects(new TableStreamShard(shard.client, "arn", "shard-1").read(), { name: "TrimmedDataAccessException" });
  });
});
