import assert from "node:assert/strict";
import type { DescribeAlarmsCommandInput, MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { analyzerRules } from "../catalog";
import { addDecimals } from "../catalog/decimal";
import { bucketKey, counterKey } from "../catalog/item";
import { type LivePart, SNAPSHOT_RANGES, type Snapshot, snapshotWindow } from "../catalog/live";
import { keptValuesKey, SNAPSHOT_STATE_KEYS, STATE, STATE_TABLE } from "../catalog/state";
import { liveModel } from "../dashboards/live";
import { createAnalyzerHandler } from "../functions/analyzer/process";
import { registryGate } from "../functions/analyzer/registry";
import { memoryLogger } from "../functions/shared/log";
import { queryCounters } from "../functions/shared/queryCounters";
import { alarmBatches, alarmState, cappedDimensions, modelAlarmNames, parseRange, snapshotKeys } from "../functions/snapshot/keys";
import { createSnapshotHandler } from "../functions/snapshot/process";
import { snapshotEnv } from "../functions/snapshot/settings";
import { createCounterTable, createStateTable } from "../local/aws";
import { captureAtBoundary, capturedS3, LOCAL_AWS } from "../local/clients";
import { emulators, type Emulators } from "./emulators";
import { kinesisLambdaEvent, lambdaContext, record, T0 } from "./factories";
import { fixtureCatalog } from "./fixtures";

const shop = fixtureCatalog("shop");
const model = liveModel({ catalog: shop, stack: "test", pipeline: "shop", granularity: "minute" });

/** An HTTP API (payload 2.0) request as API Gateway hands it over behind a JWT authorizer. */
function apiEvent(o: { range?: string; sub?: string | null; method?: string } = {}): APIGatewayProxyEventV2WithJWTAuthorizer {
  const method = o.method ?? "GET";
  const claims: Record<string, string> = o.sub === null ? {} : { sub: o.sub ?? "user-1", "cognito:username": "someone" };
  return {
    version: "2.0",
    routeKey: `${method} /api/snapshot`,
    rawPath: "/api/snapshot",
    rawQueryString: o.range === undefined ? "" : `range=${encodeURIComponent(o.range)}`,
    headers: { host: "example.cloudfront.net" },
    ...(o.range === undefined ? {} : { queryStringParameters: { range: o.range } }),
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      authorizer: { principalId: "", integrationLatency: 0, jwt: { claims, scopes: [] } },
      domainName: "api.example.com",
      domainPrefix: "api",
      http: { method, path: "/api/snapshot", protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" },
      requestId: "req",
      routeKey: `${method} /api/snapshot`,
      stage: "$default",
      time: "21/Nov/2026:12:34:56 +0000",
      timeEpoch: T0,
    },
    isBase64Encoded: false,
  };
}

describe("snapshot: what it reads, as pure logic", () => {
  it("reads each metric's total, every combination of its dimensions' values in key order, kept values included, and the pipeline's own counters", () => {
    // Prepare
    const kept = new Map([["orders.country", ["FR", "DE"]]]);
    // Act
    const keys = snapshotKeys(model, kept);
    // Assess: orders has (none), (other), FR, DE × 4 channels + (none), (other); refunds' cause has only its two known values yet.
    assert.equal(new Set(keys).size, keys.length, "no key twice");
    assert.ok(keys.includes(counterKey("orders", [], [])));
    assert.ok(keys.includes(counterKey("orders", ["country", "channel"], ["FR", "channel-2"])));
    assert.ok(keys.includes(counterKey("orders", ["country", "channel"], ["(other)", "(none)"])));
    assert.ok(!keys.includes(counterKey("orders", ["channel", "country"], ["channel-2", "FR"])), "dimensions in the catalog's key order only");
    assert.equal(keys.filter((k) => k.startsWith("orders#")).length, 4 * 6);
    assert.equal(keys.filter((k) => k.startsWith("refunds#")).length, 2);
    assert.deepEqual(keys.filter((k) => k.startsWith("signups")), ["signups"]);
    assert.ok(keys.includes("CountedRecords") && keys.includes("RejectedRecords") && keys.includes(counterKey("RejectedRecords", ["reason"], ["not_json"])));
    assert.equal(keys.length, 3 + 24 + 2 + 2 + model.health.reasons.length);
    // Without the state table's answer, a capped dimension's kept values are not read.
    assert.ok(!snapshotKeys(model).includes(counterKey("orders", ["country", "channel"], ["FR", "channel-2"])));
  });

  it("reads only state items its role's leading-keys condition allows", () => {
    const allowed = (key: string) => SNAPSHOT_STATE_KEYS.some((pattern) => new RegExp(`^${pattern.replace(/[.#]/g, "\\$&").replace("*", ".*")}$`).test(key));
    assert.ok(cappedDimensions(model).length === 2);
    for (const { metric, field } of cappedDimensions(model)) assert.ok(allowed(keptValuesKey(metric, field)));
    assert.ok(!allowed("forwarded#x") && !allowed("deadletter#s#1"));
  });

  it("takes a range from the allowed ones, the default without one, and names the allowed values otherwise", () => {
    assert.deepEqual(parseRange(undefined), { range: "1h" });
    assert.deepEqual(parseRange("24h"), { range: "24h" });
    for (const bad of ["2h", "", "toString", "__proto__", "1H"]) {
      const r = parseRange(bad);
      assert.ok("error" in r && /1h, 6h, 24h/.test(r.error), bad);
    }
  });

  it("asks DescribeAlarms at most 100 names a call and maps what it answers", () => {
    const names = Array.from({ length: 250 }, (_, i) => `a${i}`);
    assert.deepEqual(alarmBatches(names).map((b) => b.length), [100, 100, 50]);
    assert.deepEqual(alarmBatches(names).flat(), names);
    const since = new Date("2026-11-21T12:00:00.000Z");
    assert.deepEqual(alarmState({ AlarmName: "x", StateValue: "ALARM", StateReason: "Threshold crossed", StateTransitionedTimestamp: since, StateUpdatedTimestamp: new Date(T0) }), {
      name: "x",
      state: "ALARM",
      reason: "Threshold crossed",
      since: since.toISOString(),
    });
    assert.equal(alarmState({ AlarmName: "x" }), undefined);
  });
});

describe("snapshot on DynamoDB Local, counters written by the analyzer from two shards", function () {
  this.timeout(180_000);
  const TABLE = "snap-counters";
  const STATE_NAME = "snap-state";
  const S0 = "shardId-000000000000";
  const S1 = "shardId-000000000001";
  // The snapshot is read a little after the last event's minute; one order is two hours older.
  const NOW = T0 + 20_000;
  let env: Emulators;
  const describeCalls: DescribeAlarmsCommandInput[] = [];
  let describeAnswer: (input: DescribeAlarmsCommandInput) => { MetricAlarms: MetricAlarm[] } = () => ({ MetricAlarms: [] });

  /** CloudWatch answered at the SDK boundary: DescribeAlarms as `describeAnswer` says, anything else refused. */
  function cloudwatch(): CloudWatchClient {
    const client = new CloudWatchClient({ ...LOCAL_AWS });
    captureAtBoundary<DescribeAlarmsCommandInput>(client, (input, commandName) => {
      if (commandName !== "DescribeAlarmsCommand") throw Object.assign(new Error(`not answered: ${commandName}`), { name: "UnknownOperationException" });
      describeCalls.push(input);
      return describeAnswer(input);
    });
    return client;
  }

  const handler = (log = memoryLogger()) =>
    createSnapshotHandler({ model, dynamo: env.clients.dynamo, cloudwatch: cloudwatch(), settings: { tableName: TABLE, stateTable: STATE_NAME }, log, now: () => NOW });
  const call = async (event: APIGatewayProxyEventV2WithJWTAuthorizer, log = memoryLogger()) =>
    (await handler(log)(event, lambdaContext("req-snapshot"), () => undefined)) as APIGatewayProxyStructuredResultV2;

  const at = (msAgo: number) => new Date(T0 - msAgo).toISOString().slice(0, 19);
  const order = (country: string, channel: string, total: number, msAgo = 0) => ({ event_type: "order placed", occurred_at: at(msAgo), total, country, channel });

  before(async () => {
    env = await emulators();
    await createCounterTable(env.clients.dynamo, TABLE, { stream: false });
    await createStateTable(env.clients.dynamo, STATE_NAME);
    const analyzer = createAnalyzerHandler({
      rules: analyzerRules({ catalog: shop, granularity: "minute" }),
      dynamo: env.clients.dynamo,
      s3: capturedS3().client,
      settings: { tableName: TABLE, quarantineBucket: "snap-quarantine", mode: "exactly-once", ttlDays: 7 },
      log: memoryLogger(),
      gate: registryGate({ client: env.clients.dynamo, tableName: STATE_NAME }),
    });
    const batches: [string, Record<string, unknown>[]][] = [
      [S0, [order("FR", "channel-1", 12.5), order("FR", "channel-1", 0.1, 60_000), order("DE", "channel-2", 3), { event_type: "signup", occurred_at: at(0) }, order("FR", "channel-1", 7, 2 * 3_600_000)]],
      [S1, [order("FR", "channel-1", 0.2), order("FR", "channel-1", 100.05, 120_000), { event_type: "refund", occurred_at: at(0), cause: "late" }, { event_type: "order placed" }]],
    ];
    for (const [shardId, events] of batches) {
      const result = await analyzer(kinesisLambdaEvent(events.map((e) => record(e, { shardId, arrivalMs: T0 }))), lambdaContext(`req-${shardId}`), () => undefined);
      assert.deepEqual(result, { batchItemFailures: [] });
    }
  });

  beforeEach(() => {
    describeCalls.length = 0;
    describeAnswer = (input) => ({
      MetricAlarms: (input.AlarmNames ?? []).map((name, i) => ({ AlarmName: name, StateValue: i === 0 ? "ALARM" : "OK", StateReason: "test", StateTransitionedTimestamp: new Date(T0 - 60_000) })),
    });
  });

  it("answers the range's parts, which add up per counter to what queryCounters reads, with marks from both shards", async () => {
    // Prepare
    const log = memoryLogger();
    // Act
    const response = await call(apiEvent({ range: "1h" }), log);
    // Assess
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.headers, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    const snapshot = JSON.parse(response.body!) as Snapshot;
    const { fromMs, lastMs } = snapshotWindow("1h", NOW, 60);
    assert.deepEqual([snapshot.range, snapshot.from, snapshot.to, snapshot.readAt], ["1h", bucketKey(fromMs), bucketKey(lastMs), new Date(NOW).toISOString()]);
    assert.ok(snapshot.parts.every((p) => p.bucket >= snapshot.from && p.bucket <= snapshot.to), "only the range's buckets");
    // Per counter (key and bucket), the parts add up to what queryCounters reads for the same window.
    const summed = new Map<string, { count: number; sum?: string }>();
    for (const p of snapshot.parts) {
      const id = `${p.key} ${p.bucket}`;
      const held = summed.get(id);
      summed.set(id, { count: (held?.count ?? 0) + p.count, ...(p.sum === undefined ? {} : { sum: held?.sum === undefined ? p.sum : addDecimals(held.sum, p.sum) }) });
    }
    const expected = new Map<string, { count: number; sum?: string }>();
    for (const key of snapshotKeys(model, new Map([["orders.country", ["DE", "FR"]], ["refunds.cause", ["late"]]]))) {
      for (const c of (await queryCounters(env.clients.dynamo, { tableName: TABLE, partitionKey: key, fromMs, lastMs })).counters) {
        expected.set(`${key} ${c.bucket}`, { count: c.count, ...(c.sumText === undefined ? {} : { sum: c.sumText }) });
      }
    }
    assert.ok(expected.size > 8);
    assert.deepEqual(Object.fromEntries(summed), Object.fromEntries(expected));
    // The busiest counter was counted on both shards: one part each, each with its shard's mark.
    const frTotal = snapshot.parts.filter((p) => p.key === counterKey("orders", ["country", "channel"], ["FR", "channel-1"]) && p.bucket === bucketKey(Math.floor(T0 / 60_000) * 60_000));
    assert.deepEqual(frTotal.map((p) => p.shard).sort(), [S0, S1]);
    assert.ok(frTotal.every((p) => p.mark !== undefined && /^[1-9]\d*$/.test(p.mark)));
    assert.equal(addDecimals(frTotal[0].sum!, frTotal[1].sum!), "12.7");
    assert.ok(snapshot.parts.some((p) => p.key === "RejectedRecords#reason=missing_field"), "the pipeline's own counters come too");
    const entry = log.entries.find((e) => e.message === "snapshot")!;
    assert.equal(entry.requestId, "req-snapshot");
    assert.equal(entry.range, "1h");
    assert.equal(entry.parts, snapshot.parts.length);
    assert.ok((entry.keys as number) >= 30 && (entry.readCapacityUnits as number) > 0);
  });

  it("reads a capped dimension's values from the state table: kept values are read, others never", async () => {
    // Prepare: a value the registry kept, and the same count's part under a value it didn't keep.
    const bucket = bucketKey(Math.floor(T0 / 60_000) * 60_000);
    const put = (cause: string) =>
      env.clients.dynamo.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: counterKey("refunds", ["cause"], [cause]) }, sk: { S: `${bucket}#${S0}` }, metric: { S: "refunds" }, bucket: { S: bucket }, dims: { M: { cause: { S: cause } } }, count: { N: "4" } },
        }),
      );
    await put("stolen");
    const response = await call(apiEvent());
    const before = (JSON.parse(response.body!) as Snapshot).parts.filter((p) => p.metric === "refunds" && p.dims.cause !== undefined);
    await env.clients.dynamo.send(new PutItemCommand({ TableName: STATE_NAME, Item: { [STATE_TABLE.partitionKey]: { S: keptValuesKey("refunds", "cause") }, [STATE.values]: { SS: ["late", "stolen"] } } }));
    // Act
    const after = (JSON.parse((await call(apiEvent())).body!) as Snapshot).parts.filter((p) => p.metric === "refunds" && p.dims.cause !== undefined);
    // Assess: "late" was kept by the analyzer, "stolen" only once the state table kept it.
    assert.deepEqual(before.map((p) => p.dims.cause), ["late"]);
    assert.deepEqual(after.map((p: LivePart) => [p.dims.cause, p.count]).sort(), [["late", 1], ["stolen", 4]]);
    assert.equal(after.find((p) => p.dims.cause === "stolen")!.mark, undefined, "a part without a mark (add mode) has none");
  });

  it("takes the window from the range: the older order is in 6h, not in 1h", async () => {
    const old = bucketKey(Math.floor((T0 - 2 * 3_600_000) / 60_000) * 60_000);
    const inRange = async (range: keyof typeof SNAPSHOT_RANGES) => (JSON.parse((await call(apiEvent({ range }))).body!) as Snapshot).parts.filter((p) => p.key === "orders" && p.bucket === old);
    assert.deepEqual(await inRange("1h"), []);
    assert.deepEqual((await inRange("6h")).map((p) => [p.count, p.sum, p.shard]), [[1, "7", S0]]);
  });

  it("carries the catalog alarms' states, asked by their deployed names", async () => {
    const snapshot = JSON.parse((await call(apiEvent())).body!) as Snapshot;
    const names = modelAlarmNames(model);
    assert.deepEqual(names, ["test-shop-orders-none"]);
    assert.deepEqual(describeCalls.map((c) => c.AlarmNames), [names]);
    assert.deepEqual(snapshot.alarms, [{ name: "test-shop-orders-none", state: "ALARM", reason: "test", since: new Date(T0 - 60_000).toISOString() }]);
  });

  it("answers the parts without alarm states when DescribeAlarms fails, and logs a warning", async () => {
    describeAnswer = () => {
      throw Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: { httpStatusCode: 400 } });
    };
    const log = memoryLogger();
    const response = await call(apiEvent(), log);
    assert.equal(response.statusCode, 200);
    const snapshot = JSON.parse(response.body!) as Snapshot;
    assert.deepEqual(snapshot.alarms, []);
    assert.ok(snapshot.parts.length > 0);
    assert.ok(log.entries.some((e) => e.level === "WARN" && /DescribeAlarms failed/.test(e.message) && e.requestId === "req-snapshot"));
  });

  it("refuses a range it doesn't serve with 400, a request without a user with 401, and any method but GET", async () => {
    const bad = await call(apiEvent({ range: "7d" }));
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers?.["content-type"], "application/json; charset=utf-8");
    assert.match((JSON.parse(bad.body!) as { error: string }).error, /1h, 6h, 24h/);
    const anonymous = await call(apiEvent({ sub: null }));
    assert.equal(anonymous.statusCode, 401);
    assert.ok((JSON.parse(anonymous.body!) as { error: string }).error.length > 0);
    const post = await call(apiEvent({ method: "POST" }));
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers?.allow, "GET");
    assert.equal(describeCalls.length, 0, "nothing is read for a refused request");
  });
});

describe("snapshot: its environment", () => {
  const base = { COUNTER_TABLE: "c", STATE_TABLE: "s", GRANULARITY: "hour", STACK: "dev", PIPELINE: "web" };

  it("reads the thresholds when set and none when absent or empty", () => {
    assert.deepEqual(snapshotEnv(base), { tableName: "c", stateTable: "s", granularity: "hour", stack: "dev", pipeline: "web", thresholds: {} });
    assert.deepEqual(snapshotEnv({ ...base, ALARM_THRESHOLDS: "" }).thresholds, {});
    assert.deepEqual(snapshotEnv({ ...base, ALARM_THRESHOLDS: '{"orders.none":3}' }).thresholds, { "orders.none": 3 });
  });

  it("fails loudly, naming the variable, on a deploy that set it wrong", () => {
    assert.throws(() => snapshotEnv({ ...base, STATE_TABLE: undefined }), /STATE_TABLE is not set/);
    assert.throws(() => snapshotEnv({ ...base, GRANULARITY: "day" }), /GRANULARITY must be minute or hour/);
    assert.throws(() => snapshotEnv({ ...base, ALARM_THRESHOLDS: '{"orders.none":"3"}' }), /ALARM_THRESHOLDS must be a JSON object of numbers/);
    assert.throws(() => snapshotEnv({ ...base, ALARM_THRESHOLDS: "{" }), /ALARM_THRESHOLDS must be JSON/);
  });
});
