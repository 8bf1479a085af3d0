import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FirehoseTransformationResult, KinesisStreamEvent } from "aws-lambda";
import { namedQueries } from "../catalog/archive";
import { COUNTED_METRIC, OVERFLOW_METRIC, REJECTED_METRIC } from "../catalog/schema";
import { openArchive, runQuery, writeDelivery } from "../local/archive";
import type { Catalog } from "../catalog";
import { declarePipelines, type PipelineOutputs } from "../components";
import { parseConfig, PROJECT } from "../config";
import { toBatchRecords } from "../functions/analyzer/aggregate";
import { createCounterTable, createStateTable, dynamoDBStreamEvent, firehoseEvent, readTableStream, tableStreamShards, toDynamoDBLambdaRecord } from "../local/aws";
import { LOCAL_AWS } from "../local/clients";
import { produce, type ProducedRecord } from "../local/producer";
import { stackConfig } from "../local/stackConfig";
import { type AwsStub, startAwsStub } from "./awsStub";
import { emulators, type Emulators } from "./emulators";
import { kinesisLambdaEvent, record } from "./factories";
import { fixtureCatalog, fixturePage } from "./fixtures";
import { startLambda } from "./lambdaRuntime";
import { promiseOf, REGION, type Recorded, RecordingMocks } from "./mocks";
import { settle } from "./program";
import { counterDiff, near, scanCounters, truth, truthKey } from "./truth";

const PIPELINES: readonly (readonly [string, Catalog])[] = [
  ["web", fixtureCatalog("web")],
  ["shop", fixtureCatalog("shop")],
];
const FN = "aws:lambda/function:Function";
const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

/** The exact `index.js` a recorded function resource deploys. */
async function deployedCode(fn: Recorded): Promise<string> {
  const assets = (await fn.inputs.code.assets) as Record<string, { text: Promise<string> }>;
  return assets["index.js"].text;
}

describe("two pipelines with different catalogs in one program", function () {
  this.timeout(300_000);
  const mocks = new RecordingMocks();
  const ofPipeline = (pipeline: string, type: string, role: string) => mocks.one(type, `${pipeline}-${role}`);
  let exported: Record<string, PipelineOutputs>;

  before(async () => {
    // One program as index.ts declares it: the dev stack's config listing both fixture catalogs,
    // with one threshold per pipeline, one of them named without its pipeline.
    await pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);
    const config = stackConfig("dev", { pipelines: PIPELINES.map(([name]) => name), alarmThresholds: ["web/pageViews.low=2", "orders.none=3"] });
    const configured = parseConfig((key) => config[`${PROJECT}:${key}`], fixtureCatalog);
    const provider = new aws.Provider("aws", { region: REGION });
    exported = await promiseOf(declarePipelines(configured, { stack: "dev", region: REGION, webAppFiles: fixturePage }, { providers: [provider] }));
    await settle(mocks);
  });

  it("exports each pipeline's outputs under its name, and routes each threshold to its pipeline", () => {
    assert.deepEqual(Object.keys(exported), ["web", "shop"]);
    for (const [pipeline] of PIPELINES) {
      assert.equal(exported[pipeline].streamName, ofPipeline(pipeline, "aws:kinesis/stream:Stream", "events").id);
      assert.deepEqual(exported[pipeline].dashboards, [`dev-${pipeline}`]);
    }
    const alarm = (name: string) => mocks.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.name === name)!.inputs;
    assert.equal(alarm("dev-web-pageViews-low").threshold, 2);
    assert.equal(alarm("dev-shop-orders-none").threshold, 3);
    assert.equal(alarm("dev-web-donations-stalled").threshold, 1);
    assert.equal(alarm("dev-shop-orders-none").namespace, "ShopFixture");
  });

  it("names every resource, alarm and dashboard after its pipeline, so none collides", () => {
    const declared = mocks.resources.filter((r) => r.type !== "pulumi:providers:aws");
    assert.ok(declared.length > 60);
    const urns = declared.map((r) => `${r.type}::${r.name}`);
    assert.equal(new Set(urns).size, urns.length, "two resources share a type and name");
    for (const r of declared) assert.match(r.name, /^(web|shop)(-|$)/, `${r.type} ${r.name} does not start with its pipeline`);
    for (const [type, key] of [
      ["aws:cloudwatch/metricAlarm:MetricAlarm", "name"],
      ["aws:cloudwatch/dashboard:Dashboard", "dashboardName"],
    ] as const) {
      const names = mocks.ofType(type).map((r) => r.inputs[key] as string);
      assert.equal(new Set(names).size, names.length, `two ${type} share a name`);
      for (const [pipeline] of PIPELINES) assert.ok(names.some((n) => n.startsWith(`dev-${pipeline}-`) || n === `dev-${pipeline}`), `no ${type} of ${pipeline}`);
      assert.ok(names.every((n) => /^dev-(web|shop)(-|$)/.test(n)), names.join(", "));
    }
  });

  it("lets each forwarder put metrics only in its own catalog's namespace", () => {
    for (const [pipeline, catalog] of PIPELINES) {
      const policy = json(ofPipeline(pipeline, "aws:iam/rolePolicy:RolePolicy", "forwarder").inputs.policy);
      const put = policy.Statement.find((s: { Sid: string }) => s.Sid === "PutCatalogMetrics");
      assert.deepEqual(put.Condition, { StringEquals: { "cloudwatch:namespace": catalog.namespace } });
    }
  });

  it("gives each pipeline a live app of its own, with its own page, sign-in, push channel and counters", () => {
    const urls = PIPELINES.map(([pipeline]) => exported[pipeline].liveAppUrl);
    assert.deepEqual(urls, ["https://web-live-cdn-id.cloudfront.net/", "https://shop-live-cdn-id.cloudfront.net/"]);
    for (const [type, key] of [
      ["aws:cloudfront/distribution:Distribution", "comment"],
      ["aws:cognito/userPool:UserPool", "name"],
      ["aws:cognito/userPoolDomain:UserPoolDomain", "domain"],
      ["aws:appsync/api:Api", "name"],
      ["aws:apigatewayv2/api:Api", "name"],
      ["aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "name"],
      ["aws:cloudfront/originAccessControl:OriginAccessControl", "name"],
    ] as const) {
      const values = mocks.ofType(type).map((r) => r.inputs[key] as string);
      assert.deepEqual(values.map((v) => /(web|shop)/.exec(v)?.[1]), ["web", "shop"], `${type} ${key}: ${values.join(", ")}`);
    }
    for (const [pipeline] of PIPELINES) {
      // Each page carries its own pipeline's model; each snapshot reads its own table.
      const index = ofPipeline(pipeline, "aws:s3/bucketObjectv2:BucketObjectv2", "live-file-index.html").inputs;
      assert.ok(index.content.includes(`<title>${pipeline}</title>`));
      const env = ofPipeline(pipeline, FN, "live-snapshot").inputs.environment.variables;
      assert.deepEqual([env.COUNTER_TABLE, env.PIPELINE], [ofPipeline(pipeline, "aws:dynamodb/table:Table", "counters").id, pipeline]);
      const read = json(ofPipeline(pipeline, "aws:iam/rolePolicy:RolePolicy", "live-snapshot").inputs.policy).Statement.find((x: { Sid: string }) => x.Sid === "ReadAlarmStates");
      assert.ok(read.Resource.every((arn: string) => arn.includes(`:alarm:dev-${pipeline}-`)), read.Resource.join(", "));
    }
  });

  describe("each pipeline's deployed bundles, run as Lambda runs them", () => {
    let env: Emulators;
    let stub: AwsStub;
    const now = Date.now();
    // Both teams' events on one stream: each pipeline must count its own and reject the other's.
    const produced = new Map(PIPELINES.map(([name, catalog], i) => [name, produce({ catalog, count: 400, seed: 20 + i, now, spanMs: 3 * 60_000, badRatio: 0 })]));
    const mixed: ProducedRecord[] = [...produced.values()].flat().sort((a, b) => a.partitionKey.localeCompare(b.partitionKey));
    const batch = (): KinesisStreamEvent => kinesisLambdaEvent(mixed.map((p) => record({ raw: p.data.toString("base64") }, { arrivalMs: now })));

    before(async () => {
      env = await emulators();
      stub = await startAwsStub();
    });
    after(async () => {
      await stub?.stop();
    });

    for (const [pipeline, catalog] of PIPELINES) {
      it(`${pipeline}: counts its own catalog's events, rejects the other's as unknown, and forwards into its namespace`, async () => {
        // Prepare: the table the analyzer's environment names, on DynamoDB Local.
        const analyzerFn = ofPipeline(pipeline, FN, "analyzer");
        const forwarderFn = ofPipeline(pipeline, FN, "forwarder");
        const variables = analyzerFn.inputs.environment.variables as Record<string, string>;
        const tableStreamArn = (await createCounterTable(env.clients.dynamo, variables.COUNTER_TABLE))!;
        // One state table serves both functions, as the Pipeline gives both the same one.
        await createStateTable(env.clients.dynamo, variables.STATE_TABLE);
        assert.equal((forwarderFn.inputs.environment?.variables as Record<string, string>).STATE_TABLE, variables.STATE_TABLE);
        const runtime = {
          AWS_REGION: LOCAL_AWS.region,
          AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
          AWS_LAMBDA_LOG_LEVEL: "ERROR",
        };
        const analyzer = await startLambda({
          code: await deployedCode(analyzerFn),
          env: { ...runtime, ...variables, AWS_ENDPOINT_URL_DYNAMODB: env.dynamoEndpoint, AWS_ENDPOINT_URL_S3: stub.endpoint },
          functionName: analyzerFn.name,
        });
        const forwarder = await startLambda({
          code: await deployedCode(forwarderFn),
          env: { ...runtime, ...((forwarderFn.inputs.environment?.variables ?? {}) as Record<string, string>), AWS_ENDPOINT_URL_CLOUDWATCH: stub.endpoint, AWS_ENDPOINT_URL_DYNAMODB: env.dynamoEndpoint },
          functionName: forwarderFn.name,
        });
        try {
          // Act: the analyzer takes the mixed batch; the forwarder takes the table's stream.
          const analyzed = await analyzer.invoke<{ batchItemFailures: unknown[] }>(batch());
          const calls = stub.metricCalls.length;
          for (const shardId of await tableStreamShards(env.clients.streams, tableStreamArn)) {
            const changes = (await readTableStream(env.clients.streams, tableStreamArn, shardId)).map((r) => toDynamoDBLambdaRecord(r, tableStreamArn));
            for (let i = 0; i < changes.length; i += 500) {
              assert.deepEqual((await forwarder.invoke(dynamoDBStreamEvent(changes.slice(i, i + 500)))).result, { batchItemFailures: [] });
            }
          }
          // Assess: the table holds exactly this catalog's truth; the other's events are unknown.
          assert.deepEqual(analyzed.result, { batchItemFailures: [] });
          const own = produced.get(pipeline)!;
          const others = mixed.length - own.length;
          const table = await scanCounters(env.clients.dynamo, variables.COUNTER_TABLE);
          const expected = truth(own, catalog);
          assert.deepEqual([...table.counters.keys()].sort(), [...expected.counters.keys()].sort());
          for (const [key, want] of expected.counters) {
            assert.equal(table.counters.get(key)!.count, want.count, key);
            assert.ok(near(table.counters.get(key)!.sum, want.sum), key);
          }
          assert.equal(table.counted, own.length);
          assert.deepEqual(Object.fromEntries(table.rejected), { unknown_event: others });
          const quarantined = stub.objects.filter((o) => o.bucket === variables.QUARANTINE_BUCKET);
          assert.equal(quarantined.flatMap((o) => o.body.trim().split("\n")).length, others);
          // The forwarder sent every count, into its own namespace only.
          const sent = stub.metricCalls.slice(calls);
          assert.ok(sent.length > 0);
          assert.deepEqual([...new Set(sent.map((c) => c.namespace))], [catalog.namespace]);
          const totals = new Map<string, number>();
          for (const d of sent.flatMap((c) => c.metricData)) {
            const key = truthKey(d.MetricName, Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])), new Date(Number(d.Timestamp) * 1000).toISOString());
            totals.set(key, (totals.get(key) ?? 0) + (d.Value ?? 0));
          }
          for (const [key, c] of table.counters) assert.equal(totals.get(key), c.count, key);
        } finally {
          await Promise.all([analyzer.stop(), forwarder.stop()]);
        }
      });

      it(`${pipeline}: its archiver bundle reads the same stream as its analyzer counted it, and its named queries give the table back`, async () => {
        // Prepare: the archiver as its component deploys it, on the state table the analyzer above filled.
        const archiverFn = ofPipeline(pipeline, FN, "archive-archiver");
        const variables = (archiverFn.inputs.environment?.variables ?? {}) as Record<string, string>;
        const counterTable = (ofPipeline(pipeline, FN, "analyzer").inputs.environment.variables as Record<string, string>).COUNTER_TABLE;
        const archiver = await startLambda({
          code: await deployedCode(archiverFn),
          env: { AWS_REGION: LOCAL_AWS.region, AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey, AWS_LAMBDA_LOG_LEVEL: "ERROR", ...variables, AWS_ENDPOINT_URL_DYNAMODB: env.dynamoEndpoint },
          functionName: archiverFn.name,
        });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `archive-${pipeline}-`));
        try {
          // Act: Firehose hands it the stream's records (those the analyzer took), in buffers of 0.2 MB.
          const records = toBatchRecords(batch());
          const rows: { line: string; day: string }[] = [];
          for (let i = 0; i < records.length; i += 200) {
            const event = firehoseEvent(records.slice(i, i + 200), { deliveryStream: pipeline, invocationId: `invocation-${i}` });
            const answer = (await archiver.invoke<FirehoseTransformationResult>(event)).result;
            assert.deepEqual([...new Set(answer.records.map((r) => r.result))], ["Ok"]);
            rows.push(...answer.records.map((r) => ({ line: Buffer.from(r.data!, "base64").toString("utf8"), day: r.metadata!.partitionKeys.day })));
          }
          writeDelivery(dir, { deliveryStream: pipeline, deliveredAtMs: now, id: "1", rows });
          // Assess: each named query of a counter the table keeps returns exactly the table's counters.
          const table = await scanCounters(env.clients.dynamo, counterTable);
          const db = await openArchive(dir, catalog);
          const fromArchive = new Map<string, { count: number; sum: number }>();
          try {
            for (const query of namedQueries(catalog).filter((q) => ![COUNTED_METRIC, REJECTED_METRIC].includes(q.metric) && !(q.metric === OVERFLOW_METRIC && q.dimensions.length > 0))) {
              const result = await runQuery(db, query.sql, ["0000-01-01", "9999-12-31", "", "~"]);
              const at = (row: (string | null)[], column: string) => row[result.columns.indexOf(column)] ?? "";
              for (const row of result.rows) {
                fromArchive.set(truthKey(query.metric, Object.fromEntries(query.dimensions.map((d) => [d, at(row, d)])), at(row, "bucket")), { count: Number(at(row, "count")), sum: query.hasSum ? Number(at(row, "sum")) : 0 });
              }
            }
            const rejected = await runQuery(db, 'SELECT "reject_reason", count(*) FROM "events" WHERE "reject_reason" IS NOT NULL GROUP BY 1');
            assert.deepEqual(Object.fromEntries(rejected.rows.map(([reason, n]) => [reason, Number(n)])), Object.fromEntries(table.rejected));
          } finally {
            db.close();
          }
          assert.deepEqual(counterDiff(table.counters, fromArchive), []);
        } finally {
          await archiver.stop();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
});
