import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ANALYZER_STATE_KEYS, ARCHIVE_ERROR_PREFIX, ARCHIVE_FIRST_DAY, ARCHIVE_PARTITION, ARCHIVE_PREFIX, ARCHIVE_TABLE, archiveColumns, type Catalog, glueName, keptValuesKey, loadCatalog, namedQueries } from "../catalog";
import { ARCHIVER_STATE_KEYS, declarePipelines, EventArchive, type EventArchiveArgs, type PipelineOutputs } from "../components";
import { ConfigError, parseConfig, PROJECT } from "../config";
import { fixtureCatalog, fixturePage } from "./fixtures";
import { ACCOUNT, KINESIS_KEY_ARN, promiseOf, REGION, type Recorded, RecordingMocks } from "./mocks";
import { type ProgramRun, runProgram, settle, stackConfig } from "./program";

const T = {
  stream: "aws:kinesis/stream:Stream",
  delivery: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
  table: "aws:dynamodb/table:Table",
  fn: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  policy: "aws:iam/rolePolicy:RolePolicy",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  bucket: "aws:s3/bucket:Bucket",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  database: "aws:glue/catalogDatabase:CatalogDatabase",
  glueTable: "aws:glue/catalogTable:CatalogTable",
  workgroup: "aws:athena/workgroup:Workgroup",
  query: "aws:athena/namedQuery:NamedQuery",
};

const catalog = loadCatalog("analytics");
const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);
interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: unknown;
}
const statements = (policy: Recorded) => json(policy.inputs.policy).Statement as Statement[];
/** An IAM `StringLike` pattern as a RegExp: `*` any run, `?` one character. */
const like = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);

/** What each shipped stack sets (dev) or leaves at Pulumi.yaml's defaults (prod). */
const EXPECTED = {
  dev: { retentionDays: 30, bufferSeconds: 60, scanLimitMb: 100, logRetentionDays: 7, forceDestroy: true },
  prod: { retentionDays: 365, bufferSeconds: 300, scanLimitMb: 1024, logRetentionDays: 90, forceDestroy: false },
} as const;

for (const stack of ["dev", "prod"] as const) {
  describe(`the event archive under mocks, stack ${stack}`, () => {
    let run: ProgramRun;
    const m = () => run.mocks;
    const want = EXPECTED[stack];
    const bucketArn = "arn:aws:s3:::analytics-archive-bucket-id";
    const archiverArn = () => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${m().one(T.fn, "archive-archiver").id}`;
    before(async () => {
      run = await runProgram(stack);
    });

    it("takes its sizes from the stack's config", () => {
      const config = stackConfig(stack);
      assert.deepEqual(
        [config[`${PROJECT}:archiveRetentionDays`], config[`${PROJECT}:archiveBufferSeconds`], config[`${PROJECT}:athenaScanLimitMb`]].map(Number),
        [want.retentionDays, want.bufferSeconds, want.scanLimitMb],
      );
    });

    it("lets Firehose, and only Firehose of this account, take its role", () => {
      const [trust, ...rest] = json(m().one(T.role, "archive-delivery-role").inputs.assumeRolePolicy).Statement;
      assert.equal(rest.length, 0);
      assert.deepEqual(trust, {
        Effect: "Allow",
        Principal: { Service: "firehose.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": ACCOUNT } },
      });
    });

    it("lets Firehose read the stream (decrypting through Kinesis only), write the archive, call the archiver and log, on exact ARNs and nothing else", () => {
      const stream = m().one(T.stream);
      const logs = m().one(T.logGroup, "archive-delivery-logs");
      assert.equal(logs.inputs.retentionInDays, want.logRetentionDays);
      assert.deepEqual(
        statements(m().one(T.policy, "archive-delivery-policy")).map((s) => [s.Sid, s.Effect, s.Action, s.Resource, s.Condition]),
        [
          ["ReadSourceStream", "Allow", ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"], `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${stream.id}`, undefined],
          [
            "DecryptSourceStream",
            "Allow",
            ["kms:Decrypt"],
            KINESIS_KEY_ARN,
            { StringEquals: { "kms:ViaService": `kinesis.${REGION}.amazonaws.com`, "kms:EncryptionContext:aws:kinesis:arn": `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${stream.id}` } },
          ],
          [
            "WriteArchive",
            "Allow",
            ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
            [bucketArn, `${bucketArn}/*`],
            undefined,
          ],
          ["TransformRecords", "Allow", ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], [archiverArn(), `${archiverArn()}:$LATEST`], undefined],
          ["WriteDeliveryLogs", "Allow", ["logs:PutLogEvents"], `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logs.id}:log-stream:DestinationDelivery`, undefined],
        ],
      );
      // The stream is encrypted with the key getAlias resolved, so that is the key Firehose may use.
      assert.equal(stream.inputs.kmsKeyId, "alias/aws/kinesis");
    });

    it("reads the stream into day partitions through the archiver, gzipped, errors apart", () => {
      const delivery = m().one(T.delivery);
      const role = `arn:aws:iam::${ACCOUNT}:role/${m().one(T.role, "archive-delivery-role").id}`;
      assert.equal(delivery.inputs.destination, "extended_s3");
      assert.deepEqual(delivery.inputs.kinesisSourceConfiguration, { kinesisStreamArn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${m().one(T.stream).id}`, roleArn: role });
      const s3 = delivery.inputs.extendedS3Configuration;
      assert.equal(s3.bucketArn, bucketArn);
      assert.equal(s3.roleArn, role);
      // Hive-style, as the Glue table and the local DuckDB view read it.
      assert.equal(s3.prefix, `${ARCHIVE_PREFIX}${ARCHIVE_PARTITION}=!{partitionKeyFromLambda:${ARCHIVE_PARTITION}}/`);
      assert.equal(s3.prefix, "events/day=!{partitionKeyFromLambda:day}/");
      assert.equal(s3.errorOutputPrefix, "errors/!{firehose:error-output-type}/day=!{timestamp:yyyy-MM-dd}/");
      assert.ok(s3.errorOutputPrefix.startsWith(ARCHIVE_ERROR_PREFIX));
      assert.equal(s3.compressionFormat, "GZIP");
      assert.equal(s3.fileExtension, undefined, "objects keep Firehose's default .gz name");
      assert.equal(s3.bufferingInterval, want.bufferSeconds);
      assert.equal(s3.bufferingSize, 64);
      assert.deepEqual(s3.dynamicPartitioningConfiguration, { enabled: true, retryDuration: 300 });
      assert.equal(s3.processingConfiguration.enabled, true);
      const [processor, ...others] = s3.processingConfiguration.processors;
      assert.equal(others.length, 0);
      assert.equal(processor.type, "Lambda");
      const parameters = Object.fromEntries((processor.parameters as { parameterName: string; parameterValue: string }[]).map((p) => [p.parameterName, p.parameterValue]));
      assert.equal(parameters.LambdaArn, `${archiverArn()}:$LATEST`);
      // Firehose's smallest buffer (a row is several times its record); 60 s is the default, left out so the state (which drops defaults) shows no diff.
      assert.deepEqual(parameters, { LambdaArn: `${archiverArn()}:$LATEST`, BufferSizeInMBs: "0.2", NumberOfRetries: "5" });
      assert.deepEqual(s3.cloudwatchLoggingOptions, { enabled: true, logGroupName: m().one(T.logGroup, "archive-delivery-logs").id, logStreamName: "DestinationDelivery" });
    });

    it("runs the archiver with its pipeline's catalog, its environment, and only the kept values of the state table", () => {
      const fn = m().one(T.fn, "archive-archiver");
      assert.equal(fn.inputs.runtime, "nodejs22.x");
      assert.deepEqual(fn.inputs.architectures, ["arm64"]);
      assert.deepEqual([fn.inputs.memorySize, fn.inputs.timeout], [256, 120]);
      assert.ok(fn.inputs.timeout < 300, "Firehose waits at most 5 minutes for an invocation");
      assert.deepEqual(fn.inputs.environment.variables, { GRANULARITY: "minute", STATE_TABLE: m().one(T.table, "state").id });
      const s = statements(m().one(T.policy, "archive-archiver"));
      assert.deepEqual(
        s.map((x) => [x.Sid, x.Action, x.Resource, x.Condition]),
        [
          ["WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${m().one(T.logGroup, "archive-archiver").id}:*`, undefined],
          [
            "ReadKeptValues",
            ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${m().one(T.table, "state").id}`,
            { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["values#*"] } },
          ],
        ],
      );
      // The pattern covers the registry's keys and no other kind of state item.
      const [pattern] = ARCHIVER_STATE_KEYS;
      assert.match(keptValuesKey("donations", "country"), like(pattern));
      for (const other of ["forwarded#e1", "unapplied#shardId-0", "deadletter#shardId-0#1"]) assert.doesNotMatch(other, like(pattern));
      assert.ok(ANALYZER_STATE_KEYS.includes(pattern), "the analyzer keeps the same items");
    });

    for (const [role, bucket, rules] of [
      [
        "archive",
        "analytics-archive-bucket-id",
        [
          ["expire-events", ARCHIVE_PREFIX, want.retentionDays],
          ["expire-errors", ARCHIVE_ERROR_PREFIX, want.retentionDays],
        ],
      ],
      ["Athena results", "analytics-archive-results-bucket-id", [["expire-results", "", 7]]],
    ] as const) {
      it(`keeps the ${role} bucket private, encrypted, TLS-only and expiring`, () => {
        const base = bucket.replace(/-bucket-id$/, "");
        const child = (type: string, suffix: string) => {
          const found = m().ofType(type).filter((r) => r.name === `${base}-${suffix}`);
          assert.equal(found.length, 1, `${base}-${suffix}`);
          return found[0].inputs;
        };
        assert.equal(child(T.bucket, "bucket").forceDestroy, want.forceDestroy);
        assert.deepEqual(child(T.publicAccess, "public-access"), { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        assert.deepEqual(child(T.ownership, "ownership").rule, { objectOwnership: "BucketOwnerEnforced" });
        assert.deepEqual(child(T.encryption, "encryption").rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }]);
        const [tls, ...more] = json(child(T.bucketPolicy, "tls-only").policy).Statement;
        assert.equal(more.length, 0);
        assert.deepEqual(tls, {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
        assert.deepEqual(
          child(T.lifecycle, "lifecycle").rules,
          rules.map(([id, prefix, days]) => ({ id, status: "Enabled", filter: { prefix }, expiration: { days }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } })),
        );
      });
    }

    it("describes the rows with a Glue table of the catalog's columns, partitions projected by day up to tomorrow", () => {
      const database = m().one(T.database);
      assert.equal(database.inputs.name, glueName(stack, "analytics", "archive"));
      assert.equal(database.inputs.name, `${stack}_analytics_archive`);
      const table = m().one(T.glueTable).inputs;
      assert.equal(table.name, ARCHIVE_TABLE);
      assert.equal(table.databaseName, database.inputs.name);
      assert.equal(table.tableType, "EXTERNAL_TABLE");
      assert.deepEqual(table.storageDescriptor.columns, archiveColumns(catalog).map((c) => ({ name: c.name, type: c.type, comment: c.comment })));
      // Spelled out, not only as the generator gives them: the record's own columns, then the catalog's platform and amount.
      assert.deepEqual(
        table.storageDescriptor.columns.map((c: { name: string; type: string }) => `${c.name} ${c.type}`),
        [
          ...["shard_id", "sequence_number", "arrival_time", "arrival_bucket", "event_type", "event_time", "bucket", "reject_reason", "reject_detail", "line", "data_base64"].map((n) => `${n} string`),
          "platform string",
          "amount decimal(38,2)",
        ],
      );
      assert.ok(table.storageDescriptor.columns.some((c: { type: string }) => c.type.startsWith("decimal(38,")), "the shipped catalog sums an amount");
      assert.deepEqual(table.partitionKeys, [{ name: "day", type: "string" }]);
      assert.equal(table.storageDescriptor.location, "s3://analytics-archive-bucket-id/events/");
      assert.equal(table.storageDescriptor.inputFormat, "org.apache.hadoop.mapred.TextInputFormat");
      assert.equal(table.storageDescriptor.outputFormat, "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat");
      assert.deepEqual(table.storageDescriptor.serDeInfo, { serializationLibrary: "org.openx.data.jsonserde.JsonSerDe" });
      assert.deepEqual(table.parameters, {
        EXTERNAL: "TRUE",
        classification: "json",
        compressionType: "gzip",
        "projection.enabled": "true",
        "projection.day.type": "date",
        "projection.day.format": "yyyy-MM-dd",
        "projection.day.range": `${ARCHIVE_FIRST_DAY},NOW+1DAYS`,
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": "s3://analytics-archive-bucket-id/events/day=${day}/",
      });
      // Athena's relative-date form for a range end (NOW, then an optional signed amount and unit).
      assert.match(table.parameters["projection.day.range"].split(",")[1], /^\s*NOW\s*(([+-])\s*([0-9]+)\s*(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\s*)?$/);
    });

    it("gives SQL a workgroup that enforces its results location, encryption and scan cutoff", () => {
      const workgroup = m().one(T.workgroup).inputs;
      assert.equal(workgroup.name, `${stack}-analytics-archive`);
      assert.equal(workgroup.forceDestroy, want.forceDestroy);
      assert.deepEqual(workgroup.configuration, {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: want.scanLimitMb * 1024 * 1024,
        resultConfiguration: { outputLocation: "s3://analytics-archive-results-bucket-id/", encryptionConfiguration: { encryptionOption: "SSE_S3" } },
        engineVersion: { selectedEngineVersion: "AUTO" },
      });
    });

    it("saves one named query per catalog query, with its SQL, in the archive's database and workgroup", () => {
      const expected = namedQueries(catalog);
      const saved = m().ofType(T.query);
      assert.equal(saved.length, expected.length);
      assert.ok(expected.length > 5);
      for (const q of expected) {
        const found = saved.filter((s) => s.inputs.name === `analytics-${q.id}`);
        assert.equal(found.length, 1, q.id);
        assert.equal(found[0].inputs.query, q.sql);
        assert.equal(found[0].inputs.database, `${stack}_analytics_archive`);
        assert.equal(found[0].inputs.workgroup, `${stack}-analytics-archive`);
        assert.equal(found[0].inputs.description, q.description);
        assert.ok(found[0].inputs.name.length <= 128 && found[0].inputs.description.length <= 1024);
      }
    });

    it("exports where the archive is and how to query it", () => {
      const outputs = (run.exports.pipelines as Record<string, PipelineOutputs>).analytics;
      assert.equal(outputs.archiveBucket, "analytics-archive-bucket-id");
      assert.equal(outputs.archiveDeliveryStream, m().one(T.delivery).id);
      assert.equal(outputs.glueDatabase, `${stack}_analytics_archive`);
      assert.equal(outputs.athenaWorkgroup, `${stack}-analytics-archive`);
      assert.deepEqual(outputs.namedQueries, namedQueries(catalog).map((q) => `analytics-${q.id}`));
    });
  });
}

describe("two pipelines' archives in one stack", function () {
  this.timeout(300_000);
  const PIPELINES: readonly (readonly [string, Catalog])[] = [
    ["web", fixtureCatalog("web")],
    ["shop", fixtureCatalog("shop")],
  ];
  const mocks = new RecordingMocks();
  let exported: Record<string, PipelineOutputs>;

  before(async () => {
    await pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);
    const config = stackConfig("dev", { pipelines: PIPELINES.map(([name]) => name), alarmThresholds: [] });
    const configured = parseConfig((key) => config[`${PROJECT}:${key}`], fixtureCatalog);
    const provider = new aws.Provider("aws", { region: REGION });
    exported = await promiseOf(declarePipelines(configured, { stack: "dev", region: REGION, webAppFiles: fixturePage }, { providers: [provider] }));
    await settle(mocks);
  });

  it("names each pipeline's database, workgroup and queries after it, with no collision", () => {
    const archives = mocks.resources.filter((r) => r.name.includes("-archive"));
    const urns = archives.map((r) => `${r.type}::${r.name}`);
    assert.equal(new Set(urns).size, urns.length, "two archive resources share a type and name");
    assert.deepEqual(mocks.ofType(T.database).map((d) => d.inputs.name).sort(), ["dev_shop_archive", "dev_web_archive"]);
    assert.deepEqual(mocks.ofType(T.workgroup).map((w) => w.inputs.name).sort(), ["dev-shop-archive", "dev-web-archive"]);
    const queryNames = mocks.ofType(T.query).map((q) => q.inputs.name as string);
    assert.equal(new Set(queryNames).size, queryNames.length);
    for (const [pipeline, catalog] of PIPELINES) {
      const own = mocks.ofType(T.query).filter((q) => q.name.startsWith(`${pipeline}-archive-`));
      assert.deepEqual(own.map((q) => q.inputs.name), namedQueries(catalog).map((q) => `${pipeline}-${q.id}`));
      assert.ok(own.every((q) => q.inputs.database === `dev_${pipeline}_archive` && q.inputs.workgroup === `dev-${pipeline}-archive`));
      assert.equal(exported[pipeline].glueDatabase, `dev_${pipeline}_archive`);
      assert.equal(exported[pipeline].athenaWorkgroup, `dev-${pipeline}-archive`);
      assert.equal(exported[pipeline].archiveBucket, `${pipeline}-archive-bucket-id`);
    }
  });

  it("archives each pipeline's own stream through its own archiver into its own table", () => {
    for (const [pipeline, catalog] of PIPELINES) {
      const delivery = mocks.one(T.delivery, `${pipeline}-archive-delivery`).inputs;
      assert.equal(delivery.kinesisSourceConfiguration.kinesisStreamArn, `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${mocks.one(T.stream, `${pipeline}-events`).id}`);
      assert.equal(delivery.extendedS3Configuration.bucketArn, `arn:aws:s3:::${pipeline}-archive-bucket-id`);
      const lambda = delivery.extendedS3Configuration.processingConfiguration.processors[0].parameters.find((p: { parameterName: string }) => p.parameterName === "LambdaArn");
      assert.equal(lambda.parameterValue, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${pipeline}-archive-archiver-function-id:$LATEST`);
      const table = mocks.ofType(T.glueTable).find((t) => t.inputs.databaseName === `dev_${pipeline}_archive`)!;
      assert.deepEqual(table.inputs.storageDescriptor.columns.map((c: { name: string }) => c.name), archiveColumns(catalog).map((c) => c.name));
    }
    // The fixtures differ, so each table really is its own catalog's.
    assert.notDeepEqual(archiveColumns(PIPELINES[0][1]).map((c) => c.name), archiveColumns(PIPELINES[1][1]).map((c) => c.name));
  });
});

describe("EventArchive refuses bad arguments up front", () => {
  const args: EventArchiveArgs = {
    catalog: fixtureCatalog("web"),
    granularity: "minute",
    stack: "unit",
    pipeline: "web",
    streamArn: "s",
    stateTableArn: "st",
    stateTableName: "st",
  };
  before(async () => {
    await pulumi.runtime.setMocks(new RecordingMocks(), PROJECT, "unit", false);
  });

  it("refuses a scan cutoff under Athena's 10 MB, naming the argument", () => {
    assert.throws(() => new EventArchive("a1", { ...args, scanLimitMb: 9 }), /EventArchive a1: scanLimitMb must be a whole number ≥ 10, Athena's smallest cutoff \(got 9\); raise it/);
    assert.doesNotThrow(() => new EventArchive("a2", { ...args, scanLimitMb: 10 }));
  });

  it("refuses a buffer interval outside Firehose's 60-900 s", () => {
    assert.throws(() => new EventArchive("b1", { ...args, bufferSeconds: 59 }), /bufferSeconds must be a whole number from 60 to 900/);
    assert.throws(() => new EventArchive("b2", { ...args, bufferSeconds: 901 }), /bufferSeconds must be a whole number from 60 to 900/);
  });

  it("refuses a retention under a day", () => {
    assert.throws(() => new EventArchive("c1", { ...args, retentionDays: 0 }), /retentionDays must be a whole number of days ≥ 1/);
    assert.throws(() => new EventArchive("c2", { ...args, resultsRetentionDays: 0.5 }), /resultsRetentionDays must be a whole number of days ≥ 1/);
  });

  it("refuses a stack name Athena can't name a workgroup after", () => {
    assert.throws(() => new EventArchive("d1", { ...args, stack: "my stack" }), /the workgroup name "my stack-web-archive" is not 1-128 letters/);
  });

  it("declares the delivery stream only after its role's policy", async () => {
    // Resource options never reach the mocks; a transformation sees them as the engine would.
    const dependsOn = new Map<string, pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined>();
    const record: pulumi.ResourceTransformation = (a) => {
      dependsOn.set(a.name, a.opts.dependsOn);
      return undefined;
    };
    new EventArchive("e", args, { transformations: [record] });
    const deps = dependsOn.get("e-delivery");
    assert.ok(Array.isArray(deps) && deps.length > 0, "the delivery stream has no dependsOn");
    const urns = await Promise.all((deps as pulumi.Resource[]).map((r) => promiseOf(r.urn)));
    assert.ok(urns.some((u) => u.endsWith("aws:iam/rolePolicy:RolePolicy::e-delivery-policy")), urns.join(", "));
  });
});

describe("the mocks' getAlias", () => {
  it("answers only alias/aws/kinesis", () => {
    const mocks = new RecordingMocks();
    const call = (name: string) => mocks.call({ token: "aws:kms/getAlias:getAlias", inputs: { name } } as pulumi.runtime.MockCallArgs);
    assert.equal(call("alias/aws/kinesis").targetKeyArn, KINESIS_KEY_ARN);
    assert.throws(() => call("alias/aws/s3"), /only alias\/aws\/kinesis is answered/);
  });
});

describe("stack config for the archive", () => {
  const parse = (overrides: Record<string, unknown>, stack = "dev") => {
    const config = stackConfig(stack, overrides);
    return parseConfig((key) => config[`${PROJECT}:${key}`], (name) => loadCatalog(name));
  };
  const rejects = (overrides: Record<string, unknown>, ...expected: RegExp[]) =>
    assert.throws(
      () => parse(overrides),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        for (const pattern of expected) assert.match(error.message, pattern);
        return true;
      },
    );

  it("reads the archive's settings from each stack", () => {
    assert.deepEqual(parse({})[0].settings.archive, { retentionDays: 30, bufferSeconds: 60, scanLimitMb: 100 });
    assert.deepEqual(parse({}, "prod")[0].settings.archive, { retentionDays: 365, bufferSeconds: 300, scanLimitMb: 1024 });
    assert.deepEqual(parse({ archiveRetentionDays: 90, archiveBufferSeconds: 900, athenaScanLimitMb: 10 })[0].settings.archive, { retentionDays: 90, bufferSeconds: 900, scanLimitMb: 10 });
  });

  const cases: [string, Record<string, unknown>, RegExp[]][] = [
    ["an archive kept for no days", { archiveRetentionDays: 0 }, [/realtime-analytics:archiveRetentionDays is "0", must be a whole number from 1 to 3650/, /Fix: pulumi config set archiveRetentionDays 1/]],
    ["an archive kept for a fraction of a day", { archiveRetentionDays: 1.5 }, [/archiveRetentionDays is "1.5", must be a whole number/]],
    ["a buffer shorter than Firehose allows", { archiveBufferSeconds: 30 }, [/realtime-analytics:archiveBufferSeconds is "30", must be a whole number from 60 to 900 \(Firehose's buffering interval range\)/, /Fix: pulumi config set archiveBufferSeconds 60/]],
    ["a buffer longer than Firehose allows", { archiveBufferSeconds: 901 }, [/archiveBufferSeconds is "901"/, /Fix: pulumi config set archiveBufferSeconds 900/]],
    ["a scan cutoff under Athena's 10 MB", { athenaScanLimitMb: 5 }, [/realtime-analytics:athenaScanLimitMb is "5", must be a whole number from 10 to \d+ \(Athena's smallest per-query cutoff is 10 MB\)/, /Fix: pulumi config set athenaScanLimitMb 10/]],
    ["a scan cutoff that isn't a number", { athenaScanLimitMb: "1GB" }, [/athenaScanLimitMb is "1GB", must be a whole number/]],
  ];
  for (const [what, overrides, expected] of cases) {
    it(`rejects ${what}, naming the key and the fix`, () => rejects(overrides, ...expected));
  }
});
