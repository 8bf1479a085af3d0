import assert from "node:assert/strict";
import { countMetricName, loadCatalog, metricEntries, sumMetricName } from "../catalog";
import { bundleFunction, FUNCTIONS, type FunctionKind } from "../components/bundle";
import { fixtureCatalog } from "./fixtures";
import { ACCOUNT, REGION, type Recorded } from "./mocks";
import { type ProgramRun, runProgram } from "./program";

const T = {
  stream: "aws:kinesis/stream:Stream",
  table: "aws:dynamodb/table:Table",
  fn: "aws:lambda/function:Function",
  mapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  policy: "aws:iam/rolePolicy:RolePolicy",
  role: "aws:iam/role:Role",
  queue: "aws:sqs/queue:Queue",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  key: "aws:kms/key:Key",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  provider: "pulumi:providers:aws",
};

const catalog = loadCatalog("analytics");
const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);
const statements = (policy: Recorded) => json(policy.inputs.policy).Statement as { Sid: string; Action: string[]; Resource: string | string[]; Condition?: unknown }[];

for (const stack of ["dev", "prod"] as const) {
  describe(`index.ts under mocks, stack ${stack}`, () => {
    let run: ProgramRun;
    const m = () => run.mocks;
    before(async () => {
      run = await runProgram(stack);
    });

    it("encrypts the stream with KMS and sizes it from config", () => {
      const stream = m().one(T.stream);
      assert.equal(stream.inputs.encryptionType, "KMS");
      assert.equal(stream.inputs.kmsKeyId, "alias/aws/kinesis");
      if (stack === "dev") {
        assert.deepEqual(stream.inputs.streamModeDetails, { streamMode: "PROVISIONED" });
        assert.equal(stream.inputs.shardCount, 1);
        assert.equal(stream.inputs.retentionPeriod, 24);
      } else {
        assert.deepEqual(stream.inputs.streamModeDetails, { streamMode: "ON_DEMAND" });
        assert.equal(stream.inputs.shardCount, undefined);
        assert.equal(stream.inputs.retentionPeriod, 72);
      }
    });

    it("keys the counter table by counter and bucket, with TTL, PITR, encryption and a NEW_AND_OLD_IMAGES stream", () => {
      const table = m().one(T.table, "counters");
      assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
      assert.equal(table.inputs.hashKey, "pk");
      assert.equal(table.inputs.rangeKey, "sk");
      assert.deepEqual(table.inputs.attributes, [
        { name: "pk", type: "S" },
        { name: "sk", type: "S" },
      ]);
      assert.deepEqual(table.inputs.ttl, { attributeName: "expiresAt", enabled: true });
      assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
      assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true });
      assert.equal(table.inputs.streamEnabled, true);
      assert.equal(table.inputs.streamViewType, "NEW_AND_OLD_IMAGES");
      assert.equal(table.inputs.deletionProtectionEnabled, stack === "prod");
    });

    it("keeps the pipeline's state in a table of its own, without a stream, protected like the counters", () => {
      const state = m().one(T.table, "state");
      assert.equal(state.inputs.hashKey, "pk");
      assert.equal(state.inputs.rangeKey, undefined);
      assert.equal(state.inputs.streamEnabled, undefined);
      assert.deepEqual(state.inputs.ttl, { attributeName: "expiresAt", enabled: true });
      assert.deepEqual([state.inputs.pointInTimeRecovery, state.inputs.serverSideEncryption], [{ enabled: true }, { enabled: true }]);
      assert.equal(state.inputs.deletionProtectionEnabled, stack === "prod");
    });

    it("maps the stream to the analyzer and the table stream to the forwarder, each failing into its own DLQ", () => {
      const analyzer = m().one(T.mapping, "analyzer");
      const forwarder = m().one(T.mapping, "forwarder");
      const stream = m().one(T.stream);
      assert.equal(analyzer.inputs.eventSourceArn, `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${stream.id}`);
      assert.match(forwarder.inputs.eventSourceArn, /:table\/analytics-counters-table-id\/stream\//);
      const expected = stack === "dev" ? { batch: 1000, window: 1, start: "LATEST", retries: 10, age: 3600 } : { batch: 5000, window: 2, start: "TRIM_HORIZON", retries: 20, age: 21600 };
      assert.equal(analyzer.inputs.batchSize, expected.batch);
      assert.equal(analyzer.inputs.maximumBatchingWindowInSeconds, expected.window);
      assert.equal(forwarder.inputs.batchSize, 1000);
      assert.equal(forwarder.inputs.maximumBatchingWindowInSeconds, 5);
      for (const [role, mapping] of [
        ["analyzer", analyzer],
        ["forwarder", forwarder],
      ] as const) {
        assert.equal(mapping.inputs.startingPosition, expected.start);
        assert.equal(mapping.inputs.bisectBatchOnFunctionError, true);
        assert.equal(mapping.inputs.maximumRetryAttempts, expected.retries);
        assert.equal(mapping.inputs.maximumRecordAgeInSeconds, expected.age);
        assert.equal(mapping.inputs.parallelizationFactor, 1);
        assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
        const dlq = m().one(T.queue, `${role}-fn-dlq`);
        assert.deepEqual(mapping.inputs.destinationConfig, { onFailure: { destinationArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${dlq.id}` } });
        assert.equal(dlq.inputs.sqsManagedSseEnabled, true);
        assert.equal(mapping.inputs.functionName, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${m().one(T.fn, role).id}`);
      }
    });

    it("runs both functions on nodejs22.x arm64 with memory, timeout and logging from config", () => {
      const sizes = stack === "dev" ? { analyzer: [256, 60], forwarder: [256, 60] } : { analyzer: [1024, 120], forwarder: [512, 60] };
      for (const role of ["analyzer", "forwarder"] as const) {
        const fn = m().one(T.fn, role);
        assert.equal(fn.inputs.runtime, "nodejs22.x");
        assert.deepEqual(fn.inputs.architectures, ["arm64"]);
        assert.equal(fn.inputs.handler, "index.handler");
        assert.equal(fn.inputs.code.__pulumiArchive, true);
        assert.deepEqual([fn.inputs.memorySize, fn.inputs.timeout], sizes[role]);
        const logs = m().one(T.logGroup, role);
        assert.equal(fn.inputs.loggingConfig.logGroup, logs.id);
        assert.equal(fn.inputs.loggingConfig.logFormat, "JSON");
        assert.equal(logs.inputs.retentionInDays, stack === "dev" ? 7 : 90);
        assert.equal(fn.inputs.role, `arn:aws:iam::${ACCOUNT}:role/${m().one(T.role, role).id}`);
      }
      const env = m().one(T.fn, "analyzer").inputs.environment.variables;
      assert.deepEqual(env, {
        COUNTER_TABLE: "analytics-counters-table-id",
        QUARANTINE_BUCKET: "analytics-quarantine-bucket-id",
        COUNTER_MODE: "exactly-once",
        GRANULARITY: "minute",
        COUNTER_TTL_DAYS: stack === "dev" ? "16" : "90",
        STATE_TABLE: "analytics-state-table-id",
      });
      assert.deepEqual(m().one(T.fn, "forwarder").inputs.environment.variables, { STATE_TABLE: "analytics-state-table-id" });
    });

    it("gives the analyzer least privilege on exact ARNs", () => {
      const s = statements(m().one(T.policy, "analyzer"));
      const stream = m().one(T.stream);
      const table = m().one(T.table, "counters");
      const state = m().one(T.table, "state");
      assert.deepEqual(
        s.map((x) => [x.Sid, x.Action, x.Resource]),
        [
          ["ReadSourceStream", ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"], `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${stream.id}`],
          ["WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:analytics-analyzer-fn-logs-id:*`],
          ["ParkFailedBatches", ["sqs:SendMessage"], `arn:aws:sqs:${REGION}:${ACCOUNT}:analytics-analyzer-fn-dlq-id`],
          ["UpdateCounters", ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem"], `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table.id}`],
          ["KeepState", ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${state.id}`],
          ["QuarantineRejects", ["s3:PutObject"], "arn:aws:s3:::analytics-quarantine-bucket-id/rejected/*"],
        ],
      );
    });

    it("lets the forwarder read the table stream and put metrics only in the catalog namespace", () => {
      const s = statements(m().one(T.policy, "forwarder"));
      const tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/analytics-counters-table-id`;
      assert.deepEqual(s[0].Action, ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]);
      assert.equal(s[0].Resource, `${tableArn}/stream/2026-11-21T00:00:00.000`);
      assert.deepEqual([s[1].Action, s[1].Resource], [["dynamodb:ListStreams"], `${tableArn}/stream/*`]);
      const marks = s.find((x) => x.Sid === "KeepForwardedMarks");
      assert.deepEqual([marks?.Action, marks?.Resource, marks?.Condition], [
        ["dynamodb:GetItem", "dynamodb:PutItem"],
        `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/analytics-state-table-id`,
        { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["forwarded#*"] } },
      ]);
      const state = statements(m().one(T.policy, "analyzer")).find((x) => x.Sid === "KeepState");
      assert.deepEqual(state?.Condition, { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["values#*", "unapplied#*", "deadletter#*"] } });
      const put = s.find((x) => x.Sid === "PutCatalogMetrics");
      assert.ok(put);
      assert.deepEqual(put.Action, ["cloudwatch:PutMetricData"]);
      assert.deepEqual(put.Condition, { StringEquals: { "cloudwatch:namespace": catalog.namespace } });
      for (const statement of [...s, ...statements(m().one(T.policy, "analyzer"))]) {
        if (statement.Resource === "*") assert.equal(statement.Sid, "PutCatalogMetrics", `${statement.Sid} must not use Resource "*"`);
        for (const action of statement.Action) assert.ok(!action.includes("*"), `${action} is a wildcard`);
      }
    });

    it("declares one alarm per catalog threshold and every health alarm, all notifying the topic", () => {
      const alarms = m().ofType(T.alarm);
      const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:${m().one(T.topic).id}`;
      const byName = new Map(alarms.map((a) => [a.inputs.name as string, a]));
      const catalogAlarms = metricEntries(catalog).flatMap(([id, metric]) => Object.keys(metric.alarms ?? {}).map((a) => `${stack}-analytics-${id}-${a}`));
      assert.ok(catalogAlarms.includes(`${stack}-analytics-pageViews-low`) && catalogAlarms.includes(`${stack}-analytics-donations-stalled`));
      const health = ["analyzer", "forwarder", "publisher"].flatMap((f) => ["errors", "throttles", "iterator-age", "dlq-depth"].map((c) => `${stack}-analytics-${f}-${c}`));
      health.push(`${stack}-analytics-table-write-throttles`, `${stack}-analytics-stream-write-throughput-exceeded`, `${stack}-analytics-analyzer-rejected-records`);
      health.push(`${stack}-analytics-reconciler-corrections`, `${stack}-analytics-reconciler-errors`);
      health.push(`${stack}-analytics-archive-freshness`, `${stack}-analytics-archive-archiver-errors`);
      assert.deepEqual([...byName.keys()].sort(), [...catalogAlarms, ...health].sort());
      for (const alarm of alarms) {
        assert.deepEqual(alarm.inputs.alarmActions, [topicArn], alarm.inputs.name);
        assert.deepEqual(alarm.inputs.okActions, [topicArn]);
        assert.ok(alarm.inputs.period * alarm.inputs.evaluationPeriods <= 86_400);
      }
      const low = byName.get(`${stack}-analytics-pageViews-low`)!;
      assert.equal(low.inputs.threshold, stack === "dev" ? 1 : 50);
      assert.equal(low.inputs.comparisonOperator, "LessThanThreshold");
      assert.equal(low.inputs.treatMissingData, "breaching");
      assert.equal(low.inputs.namespace, catalog.namespace);
      assert.equal(low.inputs.metricName, "pageViews");
      const age = byName.get(`${stack}-analytics-analyzer-iterator-age`)!;
      assert.deepEqual(age.inputs.dimensions, { FunctionName: m().one(T.fn, "analyzer").id });
      assert.equal(age.inputs.threshold, stack === "dev" ? 60000 : 120000);
      assert.deepEqual(byName.get(`${stack}-analytics-forwarder-dlq-depth`)!.inputs.dimensions, { QueueName: "analytics-forwarder-fn-dlq-id" });
      assert.deepEqual(byName.get(`${stack}-analytics-table-write-throttles`)!.inputs.dimensions, { TableName: "analytics-counters-table-id" });
      // The archive's: Firehose's freshness past its buffer plus 15 minutes, and the archiver's errors.
      const freshness = byName.get(`${stack}-analytics-archive-freshness`)!;
      assert.deepEqual(freshness.inputs.dimensions, { DeliveryStreamName: m().one("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream").id });
      assert.deepEqual([freshness.inputs.namespace, freshness.inputs.metricName, freshness.inputs.statistic, freshness.inputs.threshold], ["AWS/Firehose", "DeliveryToS3.DataFreshness", "Maximum", (stack === "dev" ? 60 : 300) + 900]);
      assert.deepEqual(byName.get(`${stack}-analytics-archive-archiver-errors`)!.inputs.dimensions, { FunctionName: m().one(T.fn, "archiver").id });
    });

    it("draws a widget for every catalog metric, with alarm thresholds as annotations, and a health section", () => {
      const dashboards = m().ofType(T.dashboard);
      assert.equal(dashboards.length, 1);
      const body = json(dashboards[0].inputs.dashboardBody) as { widgets: { type: string; properties: any }[] };
      const graphs = body.widgets.filter((w) => w.type === "metric");
      const shown = new Set(graphs.flatMap((g) => g.properties.metrics.map((row: unknown[]) => (typeof row[0] === "string" ? row[1] : (row[0] as { expression: string }).expression))));
      for (const [id, metric] of metricEntries(catalog)) {
        assert.ok(shown.has(countMetricName(id)), `no widget for ${id}`);
        if (metric.sum !== undefined) assert.ok(shown.has(sumMetricName(id, metric)), `no widget for ${id}'s sum`);
      }
      assert.ok([...shown].some((s) => String(s).includes('{RealtimeAnalytics,platform} MetricName="donations"')));
      const pageViews = graphs.find((g) => g.properties.title === "Page views")!;
      assert.deepEqual(pageViews.properties.annotations.horizontal, [{ label: `${stack}-analytics-pageViews-low`, value: stack === "dev" ? 1 : 50 }]);
      assert.ok(body.widgets.some((w) => w.type === "text" && w.properties.markdown === "## Health: analyzer"));
      assert.ok(graphs.every((g) => g.properties.region === REGION));
      const fnRow = graphs.find((g) => g.properties.title === "analyzer: errors and throttles")!.properties.metrics[0];
      assert.deepEqual(fnRow.slice(0, 4), ["AWS/Lambda", "Errors", "FunctionName", m().one(T.fn, "analyzer").id]);
    });

    it("encrypts the topic with a key CloudWatch may use and lets only this account's alarms publish", () => {
      const topic = m().one(T.topic);
      const key = m().one(T.key);
      assert.equal(topic.inputs.kmsMasterKeyId, key.id);
      assert.equal(key.inputs.enableKeyRotation, true);
      const keyStatements = json(key.inputs.policy).Statement;
      assert.deepEqual(keyStatements[1].Principal, { Service: "cloudwatch.amazonaws.com" });
      assert.deepEqual(keyStatements[1].Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
      const [statement, ...rest] = json(m().one(T.topicPolicy).inputs.policy).Statement;
      assert.equal(rest.length, 0);
      assert.deepEqual(statement.Principal, { Service: "cloudwatch.amazonaws.com" });
      assert.equal(statement.Action, "sns:Publish");
      assert.equal(statement.Resource, `arn:aws:sns:${REGION}:${ACCOUNT}:${topic.id}`);
      assert.deepEqual(statement.Condition, {
        StringEquals: { "aws:SourceAccount": ACCOUNT },
        ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:*` },
      });
      const emails = m().ofType(T.subscription).map((s) => [s.inputs.protocol, s.inputs.endpoint]);
      assert.deepEqual(emails, stack === "dev" ? [["email", "dev-alerts@example.com"]] : [["email", "oncall@example.com"], ["email", "analytics-team@example.com"]]);
    });

    it("keeps rejects in a private, encrypted, expiring bucket", () => {
      assert.deepEqual(m().one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "quarantine").inputs.rules[0].applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms" });
      const lifecycle = m().one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "quarantine").inputs.rules[0];
      assert.deepEqual(lifecycle.expiration, { days: stack === "dev" ? 14 : 365 });
      const block = m().one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "quarantine").inputs;
      assert.ok(block.blockPublicAcls && block.blockPublicPolicy && block.ignorePublicAcls && block.restrictPublicBuckets);
      // Issue 8, item 10: plain HTTP is refused.
      const [tls] = json(m().one("aws:s3/bucketPolicy:BucketPolicy", "quarantine").inputs.policy).Statement;
      assert.deepEqual([tls.Effect, tls.Principal, tls.Action, tls.Condition], ["Deny", "*", "s3:*", { Bool: { "aws:SecureTransport": "false" } }]);
      assert.equal(tls.Resource.length, 2);
    });

    it("tags every resource through one provider with project and stack", () => {
      const provider = m().one(T.provider);
      assert.deepEqual(json(provider.inputs.defaultTags), { tags: { project: "realtime-analytics", stack, "managed-by": "pulumi" } });
      const awsResources = m().resources.filter((r) => r.type.startsWith("aws:"));
      assert.ok(awsResources.length > 30);
      for (const r of awsResources) assert.match(r.provider ?? "", /::pulumi:providers:aws::aws::aws-id$/, `${r.type} ${r.name} is not on the tagged provider`);
    });

    it("deploys the pipeline's live app: HTTPS only, a private site, viewers from config, IAM-only pushes, a JWT-guarded snapshot", () => {
      const distribution = m().one("aws:cloudfront/distribution:Distribution").inputs;
      for (const b of [distribution.defaultCacheBehavior, ...distribution.orderedCacheBehaviors]) assert.equal(b.viewerProtocolPolicy, "redirect-to-https");
      const [, allow, ...more] = json(m().one("aws:s3/bucketPolicy:BucketPolicy", "live-site").inputs.policy).Statement;
      assert.equal(more.length, 0);
      assert.deepEqual([allow.Principal, allow.Action, allow.Condition], [
        { Service: "cloudfront.amazonaws.com" },
        "s3:GetObject",
        { StringEquals: { "AWS:SourceArn": `arn:aws:cloudfront::${ACCOUNT}:distribution/analytics-live-cdn-id` } },
      ]);
      const viewers = m().ofType("aws:cognito/user:User").map((u) => u.inputs.username);
      assert.deepEqual(viewers, stack === "dev" ? ["dev-viewer@example.com"] : ["analytics-team@example.com", "product@example.com"]);
      assert.equal(m().one("aws:cognito/userPool:UserPool").inputs.deletionProtection, stack === "prod" ? "ACTIVE" : "INACTIVE");
      // The table's stream has its two readers, the forwarder and the publisher, and no third.
      const tableStream = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/analytics-counters-table-id/stream/2026-11-21T00:00:00.000`;
      assert.deepEqual(m().ofType(T.mapping).filter((x) => x.inputs.eventSourceArn === tableStream).map((x) => x.name).sort(), ["analytics-forwarder-fn-mapping", "analytics-live-publisher-mapping"]);
      const publisher = m().one(T.mapping, "publisher").inputs;
      assert.deepEqual([publisher.startingPosition, publisher.maximumRecordAgeInSeconds, publisher.filterCriteria], ["LATEST", 60, { filters: [{ pattern: '{"eventName":["INSERT","MODIFY"]}' }] }]);
      for (const route of m().ofType("aws:apigatewayv2/route:Route")) assert.deepEqual([route.inputs.routeKey, route.inputs.authorizationType], ["GET /api/snapshot", "JWT"]);
      const namespace = m().one("aws:appsync/channelNamespace:ChannelNamespace").inputs;
      assert.deepEqual([namespace.subscribeAuthModes, namespace.publishAuthModes], [[{ authType: "AMAZON_COGNITO_USER_POOLS" }], [{ authType: "AWS_IAM" }]]);
      // Of every role in the program, only the publisher's may publish, and only to its namespace.
      const publishing = m().ofType(T.policy).flatMap((p) => statements(p).filter((x) => x.Action.some((a) => a.startsWith("appsync:"))).map((x) => [p.name, x.Action, x.Resource]));
      assert.deepEqual(publishing, [["analytics-live-publisher-policy", ["appsync:EventPublish"], `arn:aws:appsync:${REGION}:${ACCOUNT}:apis/analytics-live-events-id/channelNamespace/live`]]);
    });

    it("uses a '*' resource only for the CloudWatch metric actions that take nothing else", () => {
      for (const policy of m().ofType(T.policy)) {
        for (const x of statements(policy)) {
          if (x.Resource !== "*") continue;
          assert.ok(["PutCatalogMetrics", "ReadCatalogMetrics"].includes(x.Sid), `${policy.name} ${x.Sid} uses Resource "*"`);
          assert.ok(x.Action.every((a) => ["cloudwatch:PutMetricData", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics"].includes(a)), `${policy.name} ${x.Sid}: ${x.Action.join(", ")}`);
        }
      }
    });

    it("exports what an operator needs", () => {
      const outputs = (run.exports.pipelines as Record<string, Record<string, unknown>>).analytics;
      assert.deepEqual(Object.keys(run.exports.pipelines as object), ["analytics"]);
      assert.equal(outputs.streamName, m().one(T.stream).id);
      assert.equal(outputs.counterTableName, m().one(T.table, "counters").id);
      assert.equal(outputs.stateTableName, m().one(T.table, "state").id);
      assert.equal(outputs.analyzerDeadLetterQueueUrl, `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/analytics-analyzer-fn-dlq-id`);
      assert.deepEqual(outputs.dashboards, [`${stack}-analytics`]);
      assert.equal((outputs.alarms as string[]).length, m().ofType(T.alarm).length);
      assert.equal(outputs.liveAppUrl, "https://analytics-live-cdn-id.cloudfront.net/");
      assert.equal(outputs.liveAppUserPoolId, m().one("aws:cognito/userPool:UserPool").id);
      assert.equal(outputs.liveAppSignInDomain, `https://${stack}-analytics-live-${ACCOUNT}.auth.${REGION}.amazoncognito.com`);
      assert.equal(outputs.liveAppDistributionId, "analytics-live-cdn-id");
      assert.equal(outputs.publisherFunctionName, m().one(T.fn, "publisher").id);
      assert.equal(outputs.snapshotFunctionName, m().one(T.fn, "snapshot").id);
    });
  });
}

describe("index.ts with hourly granularity", () => {
  it("deploys the default catalog with hourly alarm periods", async () => {
    const run = await runProgram("dev", { granularity: "hour" });
    const alarms = run.mocks.ofType(T.alarm);
    const low = alarms.find((a) => a.inputs.name === "dev-analytics-pageViews-low")!;
    assert.equal(low.inputs.period, 3600);
    assert.equal(run.mocks.one(T.fn, "analyzer").inputs.environment.variables.GRANULARITY, "hour");
    const body = json(run.mocks.one(T.dashboard).inputs.dashboardBody);
    assert.ok(body.widgets.filter((w: { type: string }) => w.type === "metric").every((w: { properties: { period: number } }) => w.properties.period >= 60));
  });
});

describe("function bundles", () => {
  for (const kind of Object.keys(FUNCTIONS) as FunctionKind[]) {
    it(`the ${kind} bundles to the same bytes twice, with its pipeline's catalog inside and no other`, () => {
      const first = bundleFunction(kind, catalog, { fresh: true });
      const second = bundleFunction(kind, catalog, { fresh: true });
      assert.equal(first.sha256, second.sha256);
      assert.equal(first.code, second.code);
      assert.ok(first.code.includes(catalog.namespace));
      assert.ok(!first.code.includes(fixtureCatalog("shop").namespace));
      assert.ok(!first.code.includes(process.cwd()), "the bundle names a path of this machine");
      const other = bundleFunction(kind, fixtureCatalog("shop"));
      assert.notEqual(other.sha256, first.sha256);
      assert.ok(other.code.includes("ShopFixture") && !other.code.includes(catalog.namespace));
    });
  }
});
