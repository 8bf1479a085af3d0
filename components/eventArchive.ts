import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ARCHIVE_ERROR_PREFIX, ARCHIVE_FIRST_DAY, ARCHIVE_PARTITION, ARCHIVE_PREFIX, ARCHIVE_TABLE, archiveColumns, glueName, namedQueries } from "../catalog/archive";
import type { Catalog, Granularity } from "../catalog/schema";
import { ARCHIVE_BUFFER_SECONDS, MIN_SCAN_LIMIT_MB } from "../config/stack";
import { ARCHIVER_ENV, PROCESSOR_BUFFER_MB } from "../functions/archiver/settings";
import { functionArchive } from "./bundle";
import { declarePrivateBucket } from "./privateBucket";
import { declareFunction, type PolicyStatement } from "./streamFunction";

/** The state items the archiver may touch: the capped dimensions' kept values (`keptValuesKey`), nothing else. */
export const ARCHIVER_STATE_KEYS = ["values#*"];

/**
 * Firehose's own defaults for a Lambda processor's parameters. The provider keeps a parameter
 * equal to its default out of the state, so writing one would show a diff in every preview
 * (terraform-provider-aws #33014); `processorParameters` leaves those out.
 */
const PROCESSOR_DEFAULTS: Readonly<Record<string, string>> = { NumberOfRetries: "3", BufferSizeInMBs: "1", BufferIntervalInSeconds: "60" };

function processorParameters(parameters: Record<string, pulumi.Input<string>>): { parameterName: string; parameterValue: pulumi.Input<string> }[] {
  return Object.entries(parameters)
    .filter(([parameterName, parameterValue]) => PROCESSOR_DEFAULTS[parameterName] !== parameterValue)
    .map(([parameterName, parameterValue]) => ({ parameterName, parameterValue }));
}

/** Athena's limits on a named query. */
const MAX_QUERY_NAME = 128;
const MAX_QUERY_DESCRIPTION = 1024;
const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
/** Athena's workgroup names. */
const WORKGROUP_NAME = /^[a-zA-Z0-9._-]{1,128}$/;

export interface EventArchiveArgs {
  /** The pipeline's catalog: embedded in the archiver, it decides the table's columns and queries. */
  readonly catalog: Catalog;
  readonly granularity: Granularity;
  /** The stack name: with the pipeline's, it names the Glue database and the Athena workgroup, which have fixed names. */
  readonly stack: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The Kinesis stream every record is archived from (encrypted with `alias/aws/kinesis`). */
  readonly streamArn: pulumi.Input<string>;
  /** The pipeline's state table: the archiver reads capped dimensions' kept values exactly as the analyzer does. */
  readonly stateTableArn: pulumi.Input<string>;
  readonly stateTableName: pulumi.Input<string>;
  /** Days an archived record (and a record Firehose could not transform or deliver) is kept. @default 365 */
  readonly retentionDays?: number;
  /** Seconds Firehose buffers a day partition before writing it as one object (60-900). @default 300 */
  readonly bufferSeconds?: number;
  /** MiB one Athena query may scan before it is cancelled (at least 10). @default 1024 */
  readonly scanLimitMb?: number;
  /** Days Athena's query results are kept. @default 7 */
  readonly resultsRetentionDays?: number;
  /** @default 14 */
  readonly logRetentionDays?: number;
  /** Let `pulumi destroy` delete buckets that still hold objects, and the workgroup with its queries. @default true */
  readonly forceDestroy?: boolean;
}

/**
 * Every record on the stream, archived and queryable with SQL: Firehose reads the stream, the
 * archiver turns each record into one JSON row read as the analyzer reads it, and Firehose
 * writes the rows gzipped under `events/day=<yyyy-MM-dd>/`. A Glue table with partition
 * projection (no crawler) describes them, an Athena workgroup caps what a query may scan, and
 * named queries give each counter back from the rows.
 */
export class EventArchive extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly deliveryStreamName: pulumi.Output<string>;
  public readonly archiverFunctionName: pulumi.Output<string>;
  public readonly databaseName: pulumi.Output<string>;
  public readonly tableName: pulumi.Output<string>;
  public readonly workgroupName: pulumi.Output<string>;
  public readonly resultsBucketName: pulumi.Output<string>;
  public readonly namedQueryNames: pulumi.Output<string[]>;

  constructor(name: string, args: EventArchiveArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:EventArchive", name, {}, opts);
    const retentionDays = args.retentionDays ?? 365;
    const bufferSeconds = args.bufferSeconds ?? 300;
    const scanLimitMb = args.scanLimitMb ?? 1024;
    const resultsRetentionDays = args.resultsRetentionDays ?? 7;
    const forceDestroy = args.forceDestroy ?? true;
    for (const [arg, value] of [
      ["retentionDays", retentionDays],
      ["resultsRetentionDays", resultsRetentionDays],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`EventArchive ${name}: ${arg} must be a whole number of days ≥ 1 (got ${value})`);
    }
    if (!Number.isInteger(bufferSeconds) || bufferSeconds < ARCHIVE_BUFFER_SECONDS.min || bufferSeconds > ARCHIVE_BUFFER_SECONDS.max) {
      throw new Error(`EventArchive ${name}: bufferSeconds must be a whole number from ${ARCHIVE_BUFFER_SECONDS.min} to ${ARCHIVE_BUFFER_SECONDS.max}, Firehose's range (got ${bufferSeconds})`);
    }
    if (!Number.isInteger(scanLimitMb) || scanLimitMb < MIN_SCAN_LIMIT_MB) {
      throw new Error(`EventArchive ${name}: scanLimitMb must be a whole number ≥ ${MIN_SCAN_LIMIT_MB}, Athena's smallest cutoff (got ${scanLimitMb}); raise it`);
    }
    const workgroupName = `${args.stack}-${args.pipeline}-archive`;
    if (!WORKGROUP_NAME.test(workgroupName)) {
      throw new Error(`EventArchive ${name}: the workgroup name "${workgroupName}" is not 1-128 letters, digits, '.', '_' or '-'; shorten or rename the stack or pipeline`);
    }
    const queries = namedQueries(args.catalog).map((q) => ({ ...q, name: `${args.pipeline}-${q.id}` }));
    const tooLong = queries.find((q) => q.name.length > MAX_QUERY_NAME);
    if (tooLong !== undefined) {
      throw new Error(`EventArchive ${name}: the named query "${tooLong.name}" is longer than Athena's ${MAX_QUERY_NAME} characters; shorten the pipeline, metric or dimension names`);
    }

    // Everything Firehose writes expires together: rows and the records it could not transform or deliver.
    const bucket = declarePrivateBucket(
      name,
      {
        expirations: [
          { id: "expire-events", prefix: ARCHIVE_PREFIX, days: retentionDays },
          { id: "expire-errors", prefix: ARCHIVE_ERROR_PREFIX, days: retentionDays },
        ],
        forceDestroy,
      },
      this,
    );

    const archiver = declareFunction(
      `${name}-archiver`,
      {
        code: functionArchive("archiver", args.catalog),
        environment: { [ARCHIVER_ENV.granularity]: args.granularity, [ARCHIVER_ENV.stateTable]: args.stateTableName },
        // Firehose hands it at most 0.2 MB of records (see the processor below): the rows take well
        // under a second and a few MB of strings. The timeout only bounds the registry's DynamoDB
        // calls with their SDK retries, well inside the 5 minutes Firehose waits for an
        // invocation, so Firehose's own retries still get their turn.
        memoryMb: 256,
        timeoutSeconds: 120,
        logRetentionDays: args.logRetentionDays,
        statements: (writeLogs) => [
          writeLogs,
          {
            Sid: "ReadKeptValues",
            Effect: "Allow",
            // GetItem and UpdateItem as the analyzer's registry does: a capped dimension's new
            // value is kept (or refused) here too, so the row reads it as the counters do.
            Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            Resource: args.stateTableArn,
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ARCHIVER_STATE_KEYS } },
          },
        ],
      },
      this,
    );
    // Firehose invokes the version it is given; $LATEST is what every deploy updates.
    const archiverArn = pulumi.interpolate`${archiver.fn.arn}:$LATEST`;

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-delivery-logs`, { retentionInDays: args.logRetentionDays ?? 14 }, { parent: this });
    const logStream = new aws.cloudwatch.LogStream(`${name}-delivery-log-stream`, { logGroupName: logGroup.name, name: "DestinationDelivery" }, { parent: this });

    // Invokes take the parent's provider, so they ask the account and region the resources go to.
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const region = aws.getRegionOutput({}, { parent: this }).region;
    // The stream is encrypted with the AWS-managed key (see EventStream): its ARN, not its alias, is what IAM matches.
    const streamKeyArn = aws.kms.getAliasOutput({ name: "alias/aws/kinesis" }, { parent: this }).targetKeyArn;

    const role = new aws.iam.Role(
      `${name}-delivery-role`,
      {
        assumeRolePolicy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "firehose.amazonaws.com" },
              Action: "sts:AssumeRole",
              // Only Firehose acting for this account (Firehose passes the account id as the external
              // id: https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html): no confused deputy.
              Condition: { StringEquals: { "sts:ExternalId": account } },
            },
          ],
        }),
      },
      { parent: this },
    );
    const statements: PolicyStatement[] = [
      {
        Sid: "ReadSourceStream",
        Effect: "Allow",
        Action: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
        Resource: args.streamArn,
      },
      {
        Sid: "DecryptSourceStream",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: streamKeyArn,
        // Through Kinesis, and for this stream's records only (Kinesis puts the stream's ARN in the encryption context).
        Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`kinesis.${region}.amazonaws.com`, "kms:EncryptionContext:aws:kinesis:arn": args.streamArn } },
      },
      {
        Sid: "WriteArchive",
        Effect: "Allow",
        Action: ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
      },
      {
        Sid: "TransformRecords",
        Effect: "Allow",
        Action: ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
        Resource: [archiver.fn.arn, archiverArn],
      },
      {
        Sid: "WriteDeliveryLogs",
        Effect: "Allow",
        Action: ["logs:PutLogEvents"],
        Resource: pulumi.interpolate`${logGroup.arn}:log-stream:${logStream.name}`,
      },
    ];
    const policy = new aws.iam.RolePolicy(
      `${name}-delivery-policy`,
      { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) },
      { parent: this },
    );

    const delivery = new aws.kinesis.FirehoseDeliveryStream(
      `${name}-delivery`,
      {
        destination: "extended_s3",
        kinesisSourceConfiguration: { kinesisStreamArn: args.streamArn, roleArn: role.arn },
        extendedS3Configuration: {
          bucketArn: bucket.arn,
          roleArn: role.arn,
          // The archiver names each row's day; objects keep Firehose's own name and its .gz extension.
          prefix: `${ARCHIVE_PREFIX}${ARCHIVE_PARTITION}=!{partitionKeyFromLambda:${ARCHIVE_PARTITION}}/`,
          errorOutputPrefix: `${ARCHIVE_ERROR_PREFIX}!{firehose:error-output-type}/${ARCHIVE_PARTITION}=!{timestamp:yyyy-MM-dd}/`,
          compressionFormat: "GZIP",
          bufferingInterval: bufferSeconds,
          // Dynamic partitioning's minimum; the interval decides in practice.
          bufferingSize: 64,
          // How long Firehose retries a failed S3 write before it goes under the error prefix (Firehose's default).
          dynamicPartitioningConfiguration: { enabled: true, retryDuration: 300 },
          processingConfiguration: {
            enabled: true,
            processors: [
              {
                type: "Lambda",
                parameters: processorParameters({
                  LambdaArn: archiverArn,
                  // A row, base64 in Lambda's response, is several times its record (the raw line plus
                  // the analyzer's reading: about 7x for a 70-byte event) and Lambda caps a synchronous
                  // response at 6 MB: Firehose's smallest buffer keeps it under (PROCESSOR_BUFFER_MB).
                  BufferSizeInMBs: String(PROCESSOR_BUFFER_MB),
                  // The S3 buffer already sets how often objects land; waiting longer here only adds latency.
                  BufferIntervalInSeconds: "60",
                  // The archiver fails a batch only when the kept-values registry can't be read; each
                  // retry is cheap, and a batch that runs out of retries lands under errors/, outside the table.
                  NumberOfRetries: "5",
                }),
              },
            ],
          },
          cloudwatchLoggingOptions: { enabled: true, logGroupName: logGroup.name, logStreamName: logStream.name },
        },
      },
      // Firehose checks at creation that its role may read the stream: the policy must be in place first.
      { parent: this, dependsOn: [policy] },
    );

    const database = new aws.glue.CatalogDatabase(`${name}-database`, { name: glueName(args.stack, args.pipeline, "archive") }, { parent: this });
    const events = pulumi.interpolate`s3://${bucket.bucket}/${ARCHIVE_PREFIX}`;
    // Athena, not JavaScript, fills in this placeholder for each projected day.
    const dayPlaceholder = "${" + ARCHIVE_PARTITION + "}";
    const table = new aws.glue.CatalogTable(
      `${name}-table`,
      {
        name: ARCHIVE_TABLE,
        databaseName: database.name,
        tableType: "EXTERNAL_TABLE",
        parameters: {
          EXTERNAL: "TRUE",
          classification: "json",
          compressionType: "gzip",
          // Partition projection: Athena computes the day partitions from the range, so no crawler or
          // MSCK REPAIR is needed. A record may be counted up to 1 h 50 min ahead of its arrival, so
          // tomorrow's partition must already exist: NOW+1DAYS.
          "projection.enabled": "true",
          [`projection.${ARCHIVE_PARTITION}.type`]: "date",
          [`projection.${ARCHIVE_PARTITION}.format`]: "yyyy-MM-dd",
          [`projection.${ARCHIVE_PARTITION}.range`]: `${ARCHIVE_FIRST_DAY},NOW+1DAYS`,
          [`projection.${ARCHIVE_PARTITION}.interval`]: "1",
          [`projection.${ARCHIVE_PARTITION}.interval.unit`]: "DAYS",
          "storage.location.template": pulumi.interpolate`${events}${ARCHIVE_PARTITION}=${dayPlaceholder}/`,
        },
        partitionKeys: [{ name: ARCHIVE_PARTITION, type: "string" }],
        storageDescriptor: {
          location: events,
          inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
          outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
          serDeInfo: { serializationLibrary: "org.openx.data.jsonserde.JsonSerDe" },
          columns: archiveColumns(args.catalog).map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
        },
      },
      { parent: this },
    );

    const results = declarePrivateBucket(`${name}-results`, { expirations: [{ id: "expire-results", prefix: "", days: resultsRetentionDays }], forceDestroy }, this);
    const workgroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        name: workgroupName,
        forceDestroy,
        configuration: {
          // Queries can't pick another results location or lift the cutoff.
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: scanLimitMb * 1024 * 1024,
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${results.bucket}/`,
            // SSE_KMS would need a customer managed key of our own (KmsKey names one); SSE_S3 encrypts
            // at no cost and needs no key policy.
            encryptionConfiguration: { encryptionOption: "SSE_S3" },
          },
          engineVersion: { selectedEngineVersion: "AUTO" },
        },
      },
      { parent: this },
    );
    const named = queries.map(
      (q) =>
        new aws.athena.NamedQuery(
          `${name}-query-${q.id}`,
          {
            name: q.name,
            database: database.name,
            workgroup: workgroup.name,
            query: q.sql,
            description: clip(q.description.trim(), MAX_QUERY_DESCRIPTION),
          },
          { parent: this },
        ),
    );

    this.bucketName = bucket.bucket;
    this.deliveryStreamName = delivery.name;
    this.archiverFunctionName = archiver.fn.name;
    this.databaseName = database.name;
    this.tableName = table.name;
    this.workgroupName = workgroup.name;
    this.resultsBucketName = results.bucket;
    this.namedQueryNames = pulumi.all(named.map((q) => q.name));
    this.registerOutputs({
      bucketName: this.bucketName,
      deliveryStreamName: this.deliveryStreamName,
      archiverFunctionName: this.archiverFunctionName,
      databaseName: this.databaseName,
      tableName: this.tableName,
      workgroupName: this.workgroupName,
      resultsBucketName: this.resultsBucketName,
      namedQueryNames: this.namedQueryNames,
    });
  }
}
