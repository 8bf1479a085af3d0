import assert from "node:assert/strict";
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  ListMetricsCommand,
  type PutMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";
import * as pulumi from "@pulumi/pulumi";
import { analyzerRules, type Catalog, type Counter, defineCatalog, forwarderRules } from "../catalog";
import { Reconciler } from "../components";
import { ConfigError, parseConfig, PROJECT } from "../config";
import { createAnalyzerHandler } from "../functions/analyzer/process";
import { createForwarderHandler } from "../functions/forwarder/process";
import { createReconcilerHandler, reconcileOnce, type ReconcileReport } from "../functions/reconciler/process";
import {
  queriesPerCall,
  RECONCILER_METRICS,
  reconcile,
  reconcilerRules,
  reconcileWindow,
  type SeriesKey,
  type SeriesObservation,
  sumsAgree,
} from "../functions/reconciler/reconcile";
import { reconcilerEnv } from "../functions/reconciler/settings";
import { memoryLogger } from "../functions/shared/log";
import { createCounterTable, dynamoDBStreamEvent, readTableStream, tableStreamShards, toDynamoDBLambdaRecord } from "../local/aws";
import { readCounters } from "../local/books";
import { answerMetricReads, captureAtBoundary, capturedCloudWatch, capturedS3, LOCAL_AWS, storeCloudWatch, storeDatums } from "../local/clients";
import { MetricStore } from "../local/metricStore";
import { emulators, type Emulators } from "./emulators";
import { kinesisLambdaEvent, lambdaContext, record } from "./factories";
import { fixtureCatalog } from "./fixtures";
import { RecordingMocks } from "./mocks";
import { runProgram, settle, stackConfig } from "./program";

const web = fixtureCatalog("web");
const webRules = reconcilerRules(analyzerRules({ catalog: web, granularity: "minute" }), forwarderRules(web));
const ruleOf = (metric: string, dimensions: string[] = []) => webRules.series.find((s) => s.metric === metric && s.dimensions.join() === dimensions.join())!;

const NOW = Date.parse("2026-11-21T12:34:56.000Z");
const WINDOW = reconcileWindow({ nowMs: NOW, bucketSeconds: 60, lookbackHours: 3, settleMinutes: 10 });
const at = (iso: string) => Date.parse(iso);
const counter = (metric: string, bucket: string, count: number, extra: Partial<Counter> = {}): Counter => ({ metric, dimensions: {}, bucket, count, updatedAtMs: NOW - 3_600_000, ...extra });
function observe(series: SeriesKey, counters: Counter[], count: [string, number][], sum?: [string, number][]): SeriesObservation {
  return {
    series,
    counters: new Map(counters.map((c) => [at(c.bucket), c])),
    cloudwatch: { count: new Map(count.map(([b, v]) => [at(b), v])), ...(sum === undefined ? {} : { sum: new Map(sum.map(([b, v]) => [at(b), v])) }) },
  };
}
const pageViews: SeriesKey = { rule: ruleOf("pageViews"), values: [] };
const donationsWeb: SeriesKey = { rule: ruleOf("donations", ["platform"]), values: ["Web"] };
const B1 = "2026-11-21T12:00:00.000Z";

describe("reconciler: the corrections, as pure logic", () => {
  it("checks the closed buckets that ended settleMinutes ago, back to the lookback", () => {
    assert.equal(new Date(WINDOW.fromMs).toISOString(), "2026-11-21T09:35:00.000Z");
    assert.equal(new Date(WINDOW.toMs).toISOString(), "2026-11-21T12:23:00.000Z", "12:24 ends at 12:25, after 12:24:56");
    assert.equal(WINDOW.buckets, 169);
    const hourly = reconcileWindow({ nowMs: NOW, bucketSeconds: 3600, lookbackHours: 3, settleMinutes: 10 });
    assert.deepEqual([new Date(hourly.fromMs).toISOString(), new Date(hourly.toMs).toISOString(), hourly.buckets], ["2026-11-21T10:00:00.000Z", "2026-11-21T11:00:00.000Z", 2]);
  });

  it("sends nothing when CloudWatch's Sum equals the counter", () => {
    const r = reconcile([observe(pageViews, [counter("pageViews", B1, 7)], [[B1, 7]])], WINDOW);
    assert.deepEqual([r.datums, r.compared, r.corrected], [[], 1, 0]);
  });

  it("takes a resent increment back: CloudWatch over by one resend gives one negative correction", () => {
    // Prepare: the counter holds 5; the forwarder's call carrying 3 of them was accepted twice.
    const r = reconcile([observe(pageViews, [counter("pageViews", B1, 5)], [[B1, 8]])], WINDOW);
    assert.deepEqual(r.datums, [{ MetricName: "pageViews", Dimensions: [], Timestamp: new Date(B1), Value: -3, Unit: "Count" }]);
    assert.equal(r.corrected, 1);
  });

  it("adds what CloudWatch lacks, count and sum, with the forwarder's dimensions and units", () => {
    const r = reconcile([observe(donationsWeb, [counter("donations", B1, 4, { dimensions: { platform: "Web" }, sum: 42.5 })], [], [])], WINDOW);
    assert.deepEqual(
      r.datums.map((d) => [d.MetricName, d.Value, d.Unit, d.Dimensions]),
      [
        ["donations", 4, "Count", [{ Name: "platform", Value: "Web" }]],
        ["donationsAmount", 42.5, "None", [{ Name: "platform", Value: "Web" }]],
      ],
    );
    assert.equal(r.corrected, 1, "one series-bucket, two datums");
  });

  it("leaves open, unsettled and out-of-lookback buckets untouched", () => {
    const open = "2026-11-21T12:24:00.000Z";
    const old = "2026-11-21T09:34:00.000Z";
    const fresh = "2026-11-21T12:10:00.000Z";
    const r = reconcile(
      [observe(pageViews, [counter("pageViews", open, 9), counter("pageViews", old, 9), counter("pageViews", fresh, 9, { updatedAtMs: NOW - 5 * 60_000 })], [[open, 1], [old, 1], [fresh, 1]])],
      WINDOW,
    );
    assert.deepEqual([r.datums, r.compared, r.unsettled], [[], 0, 1]);
    // `at` is whole seconds: a change stamped one second before the settle line may have been up to it.
    const edge = reconcile([observe(pageViews, [counter("pageViews", fresh, 9, { updatedAtMs: WINDOW.settledBeforeMs - 1000 })], [[fresh, 1]])], WINDOW);
    assert.equal(edge.unsettled, 0);
    assert.equal(edge.datums.length, 1);
  });

  it("tolerates the binary residue of a decimal sum and corrects a real difference", () => {
    assert.ok(sumsAgree(0.3, 0.1 + 0.2));
    assert.ok(sumsAgree(1_000_000.01, 1_000_000.01 * (1 + 5e-10)));
    assert.ok(!sumsAgree(1_000_000.01, 1_000_000.02));
    const residue = reconcile([observe(donationsWeb, [counter("donations", B1, 3, { dimensions: { platform: "Web" }, sum: 0.3 })], [[B1, 3]], [[B1, 0.1 + 0.2]])], WINDOW);
    assert.deepEqual(residue.datums, []);
    const doubled = reconcile([observe(donationsWeb, [counter("donations", B1, 3, { dimensions: { platform: "Web" }, sum: 10.5 })], [[B1, 3]], [[B1, 21]])], WINDOW);
    assert.deepEqual(doubled.datums.map((d) => [d.MetricName, d.Value]), [["donationsAmount", -10.5]]);
  });

  it("corrects nothing it cannot read: CloudWatch data with no counter is counted, not zeroed", () => {
    const r = reconcile([observe(pageViews, [], [[B1, 4]])], WINDOW);
    assert.deepEqual([r.datums, r.orphaned], [[], 1]);
  });

  it("checks every counter the analyzer keeps, named as the forwarder names it", () => {
    const series = webRules.series.map((s) => `${s.metric}[${s.dimensions.join(",")}] ${s.names.count}${s.names.sum ? `+${s.names.sum}` : ""}`).sort();
    for (const expected of ["pageViews[] pageViews", "clicks[] clicks", "donations[] donations+donationsAmount", "donations[platform] donations+donationsAmount", "CountedRecords[] CountedRecords", "RejectedRecords[] RejectedRecords", "RejectedRecords[reason] RejectedRecords"]) {
      assert.ok(series.includes(expected), `${expected} not in ${series.join("; ")}`);
    }
    const clash = defineCatalog({ namespace: "X", events: { typeField: "t", timeField: "at" }, metrics: { [RECONCILER_METRICS.corrections]: { event: "e", label: "E" } } });
    assert.throws(() => reconcilerRules(analyzerRules({ catalog: clash, granularity: "minute" }), forwarderRules(clash)), /"ReconcilerCorrections" is the reconciler's own; rename the metric/);
  });

  it("asks GetMetricData for as many series as one page of datapoints holds", () => {
    assert.equal(queriesPerCall(180), 500);
    assert.equal(queriesPerCall(23 * 60), 73);
    assert.equal(queriesPerCall(200_000), 1);
  });

  it("reads its environment once and refuses a lookback GetMetricData can't serve", () => {
    const env = { COUNTER_TABLE: "t", GRANULARITY: "hour", RECONCILE_LOOKBACK_HOURS: "3", RECONCILE_SETTLE_MINUTES: "10" };
    assert.deepEqual(reconcilerEnv(env), { tableName: "t", granularity: "hour", lookbackHours: 3, settleMinutes: 10 });
    assert.throws(() => reconcilerEnv({ ...env, RECONCILE_LOOKBACK_HOURS: "24" }), /lookbackHours 24 must be a whole number from 1 to 23/);
    assert.throws(() => reconcilerEnv({ ...env, COUNTER_TABLE: undefined }), /COUNTER_TABLE is not set; the reconciler component sets it/);
  });
});

describe("reconciler: CloudWatch's reads answered at the SDK boundary", () => {
  const store = new MetricStore();
  const t0 = at(B1);
  for (let i = 0; i < 3; i++) {
    store.put({ namespace: "N", metricName: "m", dimensions: { p: "a" }, timestamp: t0 + i * 60_000 + 5_000, value: 2 });
    store.put({ namespace: "N", metricName: "m", dimensions: { p: "a" }, timestamp: t0 + i * 60_000 + 9_000, value: 3 });
  }
  store.put({ namespace: "N", metricName: "m", dimensions: {}, timestamp: t0, value: 1 });
  const query = (id: string, dimensions: { Name: string; Value: string }[]) => ({ Id: id, MetricStat: { Metric: { Namespace: "N", MetricName: "m", Dimensions: dimensions }, Period: 60, Stat: "Sum" } });

  it("answers GetMetricData with the Sum per period, newest first, paged at MaxDatapoints", async () => {
    const { client } = storeCloudWatch(store);
    const input = { MetricDataQueries: [query("a", [{ Name: "p", Value: "a" }]), query("t", [])], StartTime: new Date(t0), EndTime: new Date(t0 + 3 * 60_000), MaxDatapoints: 2 };
    const first = await client.send(new GetMetricDataCommand(input));
    assert.deepEqual(first.MetricDataResults?.map((r) => [r.Id, r.Values, r.StatusCode]), [["a", [5, 5], "PartialData"], ["t", [], "PartialData"]]);
    const second = await client.send(new GetMetricDataCommand({ ...input, NextToken: first.NextToken }));
    assert.deepEqual(second.MetricDataResults?.map((r) => [r.Id, r.Values, r.Timestamps?.map((d) => d.getTime()), r.StatusCode]), [["a", [5], [t0], "Complete"], ["t", [1], [t0], "Complete"]]);
    assert.equal(second.NextToken, undefined);
  });

  it("lists metrics having the filter's dimensions, and refuses what it can't answer", async () => {
    const { client } = storeCloudWatch(store);
    const listed = await client.send(new ListMetricsCommand({ Namespace: "N", MetricName: "m", Dimensions: [{ Name: "p" }] }));
    assert.deepEqual(listed.Metrics, [{ Namespace: "N", MetricName: "m", Dimensions: [{ Name: "p", Value: "a" }] }]);
    await assert.rejects(client.send(new GetMetricDataCommand({ MetricDataQueries: [{ Id: "e", Expression: "SUM(METRICS())" }], StartTime: new Date(t0), EndTime: new Date(t0 + 60_000) })), /MetricStat queries only/);
    await assert.rejects(capturedCloudWatch().client.send(new ListMetricsCommand({ Namespace: "N" })), /answers PutMetricData only, not ListMetricsCommand/);
  });
});

/** The emulator test's own catalog: one summed metric split over enough values to measure per series. */
const SONGS = Array.from({ length: 200 }, (_, i) => `song-${String(i).padStart(3, "0")}`);
const media: Catalog = defineCatalog({
  namespace: "ReconcileFixture",
  events: { typeField: "type", timeField: "time" },
  metrics: {
    plays: { event: "play", label: "Plays", sum: "seconds", dimensions: { song: { values: SONGS } } },
    skips: { event: "skip", label: "Skips" },
  },
});

/** Every counter's series-buckets where CloudWatch's Sum differs: count over, and sums that don't agree. */
function differences(store: MetricStore, counters: readonly Counter[], catalog: Catalog) {
  const names = forwarderRules(catalog);
  let seriesBuckets = 0;
  let excessCount = 0;
  let counted = 0;
  for (const c of counters) {
    const sum = (metricName: string) => store.series({ namespace: catalog.namespace, metricName, dimensions: c.dimensions, stat: "Sum", period: 60 }).points.get(at(c.bucket)) ?? 0;
    const n = names.metrics[c.metric];
    const count = sum(n.count);
    counted += c.count;
    excessCount += count - c.count;
    if (count !== c.count || (n.sum !== undefined && !sumsAgree(c.sum ?? 0, sum(n.sum)))) seriesBuckets += 1;
  }
  return { seriesBuckets, excessCount, counted };
}

describe("reconciler against DynamoDB Local, after a forwarder whose calls were resent", function () {
  this.timeout(300_000);
  const TABLE = "reconciler-counters";
  const SETTLE = 10;
  let env: Emulators;
  let store: MetricStore;
  let counters: Counter[];
  const rules = reconcilerRules(analyzerRules({ catalog: media, granularity: "minute" }), forwarderRules(media));
  const deps = (o: { cloudwatch?: CloudWatchClient; now?: number } = {}) => ({
    rules,
    dynamo: env.clients.dynamo,
    cloudwatch: o.cloudwatch ?? storeCloudWatch(store).client,
    settings: { tableName: TABLE, lookbackHours: 3, settleMinutes: SETTLE },
    log: memoryLogger(),
    // Past the settle time after the analyzer's last write: every counter has settled.
    now: () => o.now ?? Date.now() + (SETTLE + 1) * 60_000,
  });
  const run = (o: { cloudwatch?: CloudWatchClient; now?: number } = {}) => reconcileOnce(deps(o));

  before(async () => {
    env = await emulators();
    const tableStreamArn = (await createCounterTable(env.clients.dynamo, TABLE))!;
    // Prepare: 3,000 events over 20 minutes that ended 15 minutes ago, plus a few bad ones, counted by the real analyzer.
    const end = Date.now() - 15 * 60_000;
    let seed = 7;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const events = Array.from({ length: 3000 }, (_, i) => {
      const time = new Date(end - Math.floor(random() * 20 * 60_000)).toISOString();
      if (i % 150 === 0) return { raw: Buffer.from("{not json").toString("base64") };
      if (i % 7 === 0) return { type: "skip", time };
      return { type: "play", time, song: SONGS[Math.floor(random() * SONGS.length)], seconds: Math.round(random() * 30_000) / 100 };
    });
    const analyzer = createAnalyzerHandler({
      rules: analyzerRules({ catalog: media, granularity: "minute" }),
      dynamo: env.clients.dynamo,
      s3: capturedS3().client,
      settings: { tableName: TABLE, quarantineBucket: "reconciler-quarantine", mode: "exactly-once", ttlDays: 14 },
      log: memoryLogger(),
    });
    const records = events.map((e) => record(e as Record<string, unknown>, { arrivalMs: Date.now() }));
    for (let i = 0; i < records.length; i += 500) {
      const result = await analyzer(kinesisLambdaEvent(records.slice(i, i + 500)), lambdaContext(`a-${i}`), () => undefined);
      assert.deepEqual(result, { batchItemFailures: [] });
    }
    // Forwarded by the real forwarder; every third PutMetricData is accepted twice, as when the
    // SDK resends a call whose response it never got.
    store = new MetricStore();
    let calls = 0;
    const resending = capturedCloudWatch((input: PutMetricDataCommandInput) => {
      storeDatums(store, input);
      if (calls++ % 3 === 0) storeDatums(store, input);
    });
    const forwarder = createForwarderHandler({ rules: forwarderRules(media), cloudwatch: resending.client, log: memoryLogger() });
    for (const shardId of await tableStreamShards(env.clients.streams, tableStreamArn)) {
      const changes = await readTableStream(env.clients.streams, tableStreamArn, shardId);
      for (let i = 0; i < changes.length; i += 100) {
        const result = await forwarder(dynamoDBStreamEvent(changes.slice(i, i + 100).map((r) => toDynamoDBLambdaRecord(r, tableStreamArn))), lambdaContext(`f-${i}`), () => undefined);
        assert.deepEqual(result, { batchItemFailures: [] });
      }
    }
    counters = await readCounters(env.clients.dynamo, TABLE);
  });

  it("leaves every counter alone while the analyzer changed it within the settle time", async () => {
    const before = differences(store, counters, media);
    // Act: at the real clock, every counter was written moments ago.
    const report = await run({ now: Date.now() });
    // Assess
    assert.equal(report.corrected, 0);
    assert.ok(report.unsettled > 0);
    assert.deepEqual(differences(store, counters, media), before);
  });

  let report: ReconcileReport;
  it("makes CloudWatch's Sum equal the counters for every series and bucket, in one run, and then has nothing to do", async () => {
    // Prepare
    const before = differences(store, counters, media);
    assert.ok(before.seriesBuckets > 0 && before.excessCount > 0, "the resends should have overcounted");
    // Act
    report = await run();
    const after = differences(store, counters, media);
    // The scheduled handler the deployed bundle exports, on an EventBridge event.
    const next = deps();
    const scheduled = { version: "0", id: "e1", "detail-type": "Scheduled Event" as const, source: "aws.events", account: "123456789012", time: new Date().toISOString(), region: "eu-west-1", resources: [], detail: {} };
    await createReconcilerHandler(next)(scheduled, lambdaContext("req-reconcile"), () => undefined);
    // Assess
    assert.deepEqual([after.seriesBuckets, after.excessCount], [0, 0]);
    assert.equal(report.corrected, before.seriesBuckets);
    assert.deepEqual([report.unsettled, report.orphaned, report.incomplete, report.uncorrectable], [0, 0, 0, 0]);
    const lines = next.log.entries.filter((e) => e.message === "reconcile done");
    assert.equal(lines.length, 1, "one log line per run");
    assert.deepEqual([lines[0].requestId, lines[0].corrected, lines[0].datums, lines[0].series], ["req-reconcile", 0, 0, report.series]);
    const perThousand = (n: number) => Math.round((n * 1000) / report.series);
    const r = report.requests;
    console.log(
      `      before: CloudWatch's counts summed ${before.excessCount} over the counters' ${before.counted} (+${((100 * before.excessCount) / before.counted).toFixed(1)}%), ` +
        `${before.seriesBuckets} of ${counters.length} series-buckets off; one run corrected ${report.corrected} with ${report.datums} datums\n` +
        `      one run, ${report.series} series × ${report.window.buckets} buckets: ListMetrics ${r.ListMetrics}, Query ${r.Query}, GetMetricData ${r.GetMetricData} ` +
        `(${report.metricsRequested} metrics), PutMetricData ${r.PutMetricData}, ${report.readCapacityUnits} read units\n` +
        `      per 1,000 series: Query ${perThousand(r.Query)}, GetMetricData metrics ${perThousand(report.metricsRequested)}, read units ${perThousand(report.readCapacityUnits)}`,
    );
  });

  it("follows GetMetricData's pages, and skips a series CloudWatch did not return whole", async () => {
    // Prepare: two series overcounted again, by a resent datum each; CloudWatch answers in small
    // pages, and fails the query of the first one.
    const [first, second] = rules.series.filter((s) => s.dimensions.length === 0 && s.names.sum === undefined);
    for (const s of [first, second]) {
      const bucket = counters.find((c) => c.metric === s.metric && Object.keys(c.dimensions).length === 0)!.bucket;
      store.put({ namespace: media.namespace, metricName: s.names.count, dimensions: {}, timestamp: at(bucket), value: 1 });
    }
    const client = new CloudWatchClient({ ...LOCAL_AWS });
    const puts: PutMetricDataCommandInput[] = [];
    captureAtBoundary<unknown>(client, (input, command) => {
      if (command === "PutMetricDataCommand") {
        puts.push(input as PutMetricDataCommandInput);
        storeDatums(store, input as PutMetricDataCommandInput);
        return {};
      }
      if (command !== "GetMetricDataCommand") return answerMetricReads(store, command, input);
      const request = input as GetMetricDataCommandInput;
      const failing = new Set(
        (request.MetricDataQueries ?? []).filter((q) => q.MetricStat?.Metric?.MetricName === first.names.count && (q.MetricStat.Metric.Dimensions ?? []).length === 0).map((q) => q.Id),
      );
      const output = answerMetricReads(store, command, { ...request, MaxDatapoints: 1000 }) as GetMetricDataCommandOutput;
      for (const result of output.MetricDataResults ?? []) if (failing.has(result.Id)) result.StatusCode = "InternalError";
      return output;
    });
    // Act
    const partial = await run({ cloudwatch: client });
    // Assess: the failed query's series is left; the other one is corrected, through every page.
    assert.equal(partial.incomplete, 1);
    assert.ok(partial.requests.GetMetricData > report.requests.GetMetricData, "the small pages should take more calls");
    const corrected = puts.flatMap((p) => p.MetricData ?? []).filter((d) => d.MetricName !== RECONCILER_METRICS.corrections && d.MetricName !== RECONCILER_METRICS.unsettled);
    assert.equal(corrected.length, 1);
    assert.equal(differences(store, counters, media).seriesBuckets, 1);
    // And the next whole answer corrects the rest.
    assert.equal((await run()).corrected, 1);
    assert.equal(differences(store, counters, media).seriesBuckets, 0);
  });
});

describe("reconciler component under mocks", () => {
  const mocks = new RecordingMocks();
  const TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/counters";
  const args = { catalog: web, granularity: "minute" as const, tableArn: TABLE_ARN, tableName: "counters" };
  const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);
  const one = (type: string) => mocks.one(type, "rc-");

  before(async () => {
    await pulumi.runtime.setMocks(mocks, "realtime-analytics", "unit", false);
    new Reconciler("rc", { ...args, everyMinutes: 15, lookbackHours: 3, settleMinutes: 10 });
    await settle(mocks);
  });

  it("runs on an EventBridge rule every 15 minutes, invocable only by that rule, never retried or started late", () => {
    const rule = one("aws:cloudwatch/eventRule:EventRule");
    assert.equal(rule.inputs.scheduleExpression, "rate(15 minutes)");
    const fnArn = `arn:aws:lambda:eu-west-1:123456789012:function:${one("aws:lambda/function:Function").id}`;
    const target = one("aws:cloudwatch/eventTarget:EventTarget");
    assert.deepEqual([target.inputs.rule, target.inputs.arn], [rule.id, fnArn]);
    const permission = one("aws:lambda/permission:Permission");
    assert.deepEqual(
      [permission.inputs.action, permission.inputs.function, permission.inputs.principal, permission.inputs.sourceArn],
      ["lambda:InvokeFunction", one("aws:lambda/function:Function").id, "events.amazonaws.com", `arn:aws:events:eu-west-1:123456789012:rule/${rule.id}`],
    );
    const async = one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig");
    assert.equal(async.inputs.maximumRetryAttempts, 0);
    assert.equal(async.inputs.maximumEventAgeInSeconds, 15 * 60 - 120);
    assert.ok(target.inputs.retryPolicy.maximumEventAgeInSeconds <= 15 * 60 - 120);
  });

  it("may Query its table, read metrics, and put metrics only in its catalog's namespace", () => {
    const statements = json(one("aws:iam/rolePolicy:RolePolicy").inputs.policy).Statement;
    assert.deepEqual(statements, [
      { Sid: "WriteLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `arn:aws:logs:eu-west-1:123456789012:log-group:${one("aws:cloudwatch/logGroup:LogGroup").id}:*` },
      { Sid: "ReadCounters", Effect: "Allow", Action: ["dynamodb:Query"], Resource: TABLE_ARN },
      { Sid: "ReadCatalogMetrics", Effect: "Allow", Action: ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], Resource: "*" },
      { Sid: "PutCatalogMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "WebFixture" } } },
    ]);
  });

  it("runs its own bundle on nodejs22.x arm64, told its table, granularity and windows, within the period", () => {
    const fn = one("aws:lambda/function:Function");
    assert.deepEqual([fn.inputs.runtime, fn.inputs.architectures, fn.inputs.handler, fn.inputs.timeout], ["nodejs22.x", ["arm64"], "index.handler", 120]);
    assert.deepEqual(fn.inputs.environment.variables, { COUNTER_TABLE: "counters", GRANULARITY: "minute", RECONCILE_LOOKBACK_HOURS: "3", RECONCILE_SETTLE_MINUTES: "10" });
    assert.equal(fn.inputs.role, `arn:aws:iam::123456789012:role/${one("aws:iam/role:Role").id}`);
  });

  it("refuses windows that leave buckets unchecked, runs that could overlap, and a lookback past a day", () => {
    assert.throws(() => new Reconciler("bad1", { ...args, lookbackHours: 1, settleMinutes: 50 }), /lookbackHours 1 is shorter than a bucket \+ settleMinutes \+ everyMinutes \(66 min\)/);
    assert.throws(() => new Reconciler("bad2", { ...args, everyMinutes: 1, timeoutSeconds: 90 }), /timeoutSeconds 90 must be at least 1 and shorter than the 60s between runs/);
    assert.throws(() => new Reconciler("bad3", { ...args, lookbackHours: 24 }), /lookbackHours 24 must be a whole number from 1 to 23/);
    assert.doesNotThrow(() => new Reconciler("ok", { ...args, everyMinutes: 1 }));
  });
});

describe("reconciler in the program under mocks", () => {
  it("wires each pipeline's reconciler to its counter table, exports it, and alarms on it", async () => {
    const { mocks, exports } = await runProgram("dev");
    const table = mocks.one("aws:dynamodb/table:Table", "counters");
    const fn = mocks.one("aws:lambda/function:Function", "reconciler");
    assert.equal(fn.inputs.environment.variables.COUNTER_TABLE, table.id);
    const statements = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "reconciler").inputs.policy).Statement;
    assert.equal(statements.find((s: { Sid: string }) => s.Sid === "ReadCounters").Resource, `arn:aws:dynamodb:eu-west-1:123456789012:table/${table.id}`);
    assert.equal(mocks.one("aws:cloudwatch/eventRule:EventRule", "reconciler").inputs.scheduleExpression, "rate(15 minutes)");
    assert.equal((exports.pipelines as Record<string, { reconcilerFunctionName: string }>).analytics.reconcilerFunctionName, fn.id);
    const alarms = mocks.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs);
    const corrections = alarms.find((a) => a.name === "dev-analytics-reconciler-corrections")!;
    assert.deepEqual([corrections.metricName, corrections.period, corrections.evaluationPeriods, corrections.datapointsToAlarm, corrections.threshold], [RECONCILER_METRICS.corrections, 900, 3, 3, 1]);
    assert.deepEqual(alarms.find((a) => a.name === "dev-analytics-reconciler-errors")!.dimensions, { FunctionName: fn.id });
  });
});

describe("reconciler config", () => {
  const parse = (overrides: Record<string, unknown>) => {
    const config = stackConfig("dev", overrides);
    return parseConfig((key) => config[`${PROJECT}:${key}`], () => web)[0].settings.reconcile;
  };
  const rejects = (overrides: Record<string, unknown>, expected: RegExp) => assert.throws(() => parse(overrides), (e: unknown) => e instanceof ConfigError && expected.test(e.message));

  it("defaults to every 15 minutes over 3 hours, 10 minutes after a bucket closes", () => {
    assert.deepEqual(parse({}), { everyMinutes: 15, lookbackHours: 3, settleMinutes: 10 });
  });

  it("refuses a lookback some buckets would leave before any run checked them, naming the fix", () => {
    rejects({ granularity: "hour", reconcileLookbackHours: 1 }, /reconcileLookbackHours is 1, shorter than a bucket \+ reconcileSettleMinutes \+ reconcileEveryMinutes \+ maximumRecordAgeSeconds \(145 min\).*Fix: pulumi config set reconcileLookbackHours 3/);
    // A forwarder allowed to deliver 6 hours late needs a lookback past that, or a late resend stays.
    rejects({ maximumRecordAgeSeconds: 21_600, reconcileLookbackHours: 3 }, /reconcileLookbackHours is 3, .*\(386 min\).*Fix: pulumi config set reconcileLookbackHours 7/);
    rejects({ reconcileLookbackHours: 24 }, /reconcileLookbackHours is "24", must be a whole number from 1 to 23 \(GetMetricData may show datapoints older than a day late\)/);
  });

  it("refuses a settle time shorter than the lag the forwarder may have without alarming", () => {
    rejects({ iteratorAgeAlarmMs: 600_000, reconcileSettleMinutes: 5 }, /reconcileSettleMinutes is 5, shorter than iteratorAgeAlarmMs \(600000 ms\).*Fix: pulumi config set reconcileSettleMinutes 10/);
  });
});
