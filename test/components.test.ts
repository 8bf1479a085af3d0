import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { AnalyzerFunction, EventStream, functionArchive, QuarantineStore, StreamFunction } from "../components";
import type { MappingSettings } from "../config";
import { fixtureCatalog } from "./fixtures";
import { RecordingMocks } from "./mocks";

const mapping: MappingSettings = {
  batchSize: 100,
  batchingWindowSeconds: 1,
  startingPosition: "LATEST",
  maximumRetryAttempts: 3,
  maximumRecordAgeSeconds: 600,
  parallelizationFactor: 1,
};

describe("components refuse bad arguments up front", () => {
  before(async () => {
    await pulumi.runtime.setMocks(new RecordingMocks(), "realtime-analytics", "unit", false);
  });

  it("AnalyzerFunction refuses a parallelization factor above 1 with exactly-once counters", () => {
    const args = { catalog: fixtureCatalog("web"), granularity: "minute" as const, streamArn: "s", tableArn: "t", tableName: "t", quarantineArn: "q", quarantineName: "q", stateTableArn: "st", stateTableName: "st", memoryMb: 256, timeoutSeconds: 60 };
    assert.throws(
      () => new AnalyzerFunction("a", { ...args, mapping: { ...mapping, parallelizationFactor: 4 } }),
      /AnalyzerFunction a: mapping.parallelizationFactor is 4, but exactly-once counters rely on per-shard order; set it to 1/,
    );
    assert.doesNotThrow(() => new AnalyzerFunction("b", { ...args, counterMode: "add", mapping: { ...mapping, parallelizationFactor: 4 } }));
  });

  it("EventStream guards a protected stream against deletion and replacement (issue 8, item 10)", () => {
    // Resource options never reach the mocks; a transformation sees them as the engine would.
    const seen = new Map<string, { protect?: boolean; retainOnDelete?: boolean }>();
    const record: pulumi.ResourceTransformation = (a) => {
      seen.set(a.name, { protect: a.opts.protect, retainOnDelete: a.opts.retainOnDelete });
      return undefined;
    };
    new EventStream("kept", { protect: true }, { transformations: [record] });
    new EventStream("plain", {}, { transformations: [record] });
    assert.deepEqual(seen.get("kept-stream"), { protect: true, retainOnDelete: true });
    assert.deepEqual(seen.get("plain-stream"), { protect: false, retainOnDelete: false });
  });

  it("StreamFunction refuses infinite retries or record age", () => {
    const args = { code: functionArchive("forwarder", fixtureCatalog("web")), sourceArn: "x", sourceKind: "dynamodb" as const, statements: [] };
    assert.throws(() => new StreamFunction("f", { ...args, mapping: { ...mapping, maximumRetryAttempts: -1 } }), /must be finite/);
    assert.throws(() => new StreamFunction("g", { ...args, mapping: { ...mapping, maximumRecordAgeSeconds: -1 } }), /must be finite/);
  });

  it("EventStream refuses zero shards and retention outside 24-8760 hours", () => {
    assert.throws(() => new EventStream("s1", { shardCount: 0 }), /shardCount must be a whole number ≥ 1/);
    assert.throws(() => new EventStream("s2", { retentionHours: 12 }), /retentionHours must be 24-8760/);
    assert.doesNotThrow(() => new EventStream("s3", { mode: "on-demand", shardCount: 0 }));
  });

  it("QuarantineStore refuses a retention under a day", () => {
    assert.throws(() => new QuarantineStore("q1", { retentionDays: 0 }), /retentionDays must be a whole number ≥ 1/);
  });
});
