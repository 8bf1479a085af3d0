import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { MappingSettings } from "../config/stack";

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow";
  readonly Action: string[];
  readonly Resource: pulumi.Input<string> | pulumi.Input<string>[];
  readonly Condition?: Record<string, Record<string, pulumi.Input<string> | readonly string[]>>;
}

/** What every function of the pipeline is given, however it is invoked. */
export interface FunctionArgs {
  /** The function's code: one `index.js` exporting `handler` (see `functionArchive`). */
  readonly code: pulumi.asset.Archive;
  readonly environment?: Record<string, pulumi.Input<string>>;
  /** @default 256 */
  readonly memoryMb?: number;
  /** @default 60 */
  readonly timeoutSeconds?: number;
  /** @default 14 */
  readonly logRetentionDays?: number;
  /** Runs at once at most; taken from the account's pool. @default unreserved */
  readonly reservedConcurrentExecutions?: number;
}

export interface DeclaredFunction {
  readonly fn: aws.lambda.Function;
  readonly role: aws.iam.Role;
  /** The role's policy: whatever invokes the function should wait for it. */
  readonly policy: aws.iam.RolePolicy;
}

/**
 * A Lambda function with its own role and a log group with retention, as children of `parent`
 * named `${name}-logs`, `-role`, `-policy`, `-function`. `statements` gets the statement that
 * lets it write its logs, so each caller orders its policy as it reads best.
 */
export function declareFunction(
  name: string,
  args: FunctionArgs & { readonly statements: (writeLogs: PolicyStatement) => readonly PolicyStatement[] },
  parent: pulumi.Resource,
): DeclaredFunction {
  const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.logRetentionDays ?? 14 }, { parent });
  const role = new aws.iam.Role(
    `${name}-role`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    },
    { parent },
  );
  const writeLogs: PolicyStatement = { Sid: "WriteLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logGroup.arn}:*` };
  const policy = new aws.iam.RolePolicy(
    `${name}-policy`,
    { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: args.statements(writeLogs) }) },
    { parent },
  );
  const fn = new aws.lambda.Function(
    `${name}-function`,
    {
      code: args.code,
      handler: "index.handler",
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      role: role.arn,
      memorySize: args.memoryMb ?? 256,
      timeout: args.timeoutSeconds ?? 60,
      environment: { variables: { ...args.environment } },
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      ...(args.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: args.reservedConcurrentExecutions }),
    },
    { parent, dependsOn: [policy] },
  );
  return { fn, role, policy };
}

export interface StreamFunctionArgs extends FunctionArgs {
  /** The stream the mapping reads: a Kinesis stream or a DynamoDB table stream. */
  readonly sourceArn: pulumi.Input<string>;
  readonly sourceKind: "kinesis" | "dynamodb";
  readonly mapping: MappingSettings;
  /** What the function may do beyond reading its source and writing its logs. */
  readonly statements: readonly PolicyStatement[];
  /**
   * Lambda's event filtering: only records matching one of the patterns invoke the function (the
   * rest are dropped unbilled, as if processed). @default every record
   */
  readonly filterCriteria?: { readonly filters: readonly { readonly pattern: string }[] };
}

/**
 * A Lambda function fed by a stream: its own role with least privilege, a log group with
 * retention, esbuild-bundled code, and a mapping that retries finitely, bisects poison batches,
 * reports partial failures and parks what it gives up on in an SQS dead-letter queue.
 */
export class StreamFunction extends pulumi.ComponentResource {
  public readonly functionName: pulumi.Output<string>;
  public readonly functionArn: pulumi.Output<string>;
  public readonly roleArn: pulumi.Output<string>;
  public readonly dlqArn: pulumi.Output<string>;
  public readonly dlqName: pulumi.Output<string>;
  public readonly dlqUrl: pulumi.Output<string>;
  public readonly mappingId: pulumi.Output<string>;

  constructor(name: string, args: StreamFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:StreamFunction", name, {}, opts);
    const m = args.mapping;
    if (m.maximumRetryAttempts < 0 || m.maximumRecordAgeSeconds < 0) {
      throw new Error(`StreamFunction ${name}: maximumRetryAttempts and maximumRecordAgeSeconds must be finite (≥ 0); -1 would retry a poison batch forever`);
    }
    if (args.filterCriteria !== undefined) {
      // Lambda takes 1-5 filters a mapping, each a JSON object; a bad one fails only at deploy.
      const { filters } = args.filterCriteria;
      if (filters.length < 1 || filters.length > 5) throw new Error(`StreamFunction ${name}: filterCriteria.filters has ${filters.length} filters; Lambda takes 1 to 5 (omit filterCriteria to take every record)`);
      filters.forEach((f, i) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(f.pattern);
        } catch {
          parsed = undefined;
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
          throw new Error(`StreamFunction ${name}: filterCriteria.filters[${i}].pattern must be a JSON object like {"eventName":["INSERT"]}, not ${f.pattern.slice(0, 60)}`);
        }
      });
    }

    const dlq = new aws.sqs.Queue(
      `${name}-dlq`,
      { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true },
      { parent: this },
    );
    const read: PolicyStatement[] =
      args.sourceKind === "kinesis"
        ? [
            {
              Sid: "ReadSourceStream",
              Effect: "Allow",
              Action: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
              Resource: args.sourceArn,
            },
          ]
        : [
            {
              Sid: "ReadSourceStream",
              Effect: "Allow",
              Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
              Resource: args.sourceArn,
            },
            {
              Sid: "ListTableStreams",
              Effect: "Allow",
              Action: ["dynamodb:ListStreams"],
              Resource: pulumi.output(args.sourceArn).apply((arn) => arn.replace(/\/stream\/[^/]+$/, "/stream/*")),
            },
          ];
    const { fn, role, policy } = declareFunction(
      name,
      {
        code: args.code,
        environment: args.environment,
        memoryMb: args.memoryMb,
        timeoutSeconds: args.timeoutSeconds,
        logRetentionDays: args.logRetentionDays,
        statements: (writeLogs) => [...read, writeLogs, { Sid: "ParkFailedBatches", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlq.arn }, ...args.statements],
      },
      this,
    );

    const mapping = new aws.lambda.EventSourceMapping(
      `${name}-mapping`,
      {
        functionName: fn.arn,
        eventSourceArn: args.sourceArn,
        startingPosition: m.startingPosition,
        batchSize: m.batchSize,
        maximumBatchingWindowInSeconds: m.batchingWindowSeconds,
        parallelizationFactor: m.parallelizationFactor,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: m.maximumRetryAttempts,
        maximumRecordAgeInSeconds: m.maximumRecordAgeSeconds,
        functionResponseTypes: ["ReportBatchItemFailures"],
        destinationConfig: { onFailure: { destinationArn: dlq.arn } },
        ...(args.filterCriteria === undefined ? {} : { filterCriteria: { filters: args.filterCriteria.filters.map((f) => ({ pattern: f.pattern })) } }),
      },
      { parent: this, dependsOn: [policy] },
    );

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.roleArn = role.arn;
    this.dlqArn = dlq.arn;
    this.dlqName = dlq.name;
    this.dlqUrl = dlq.url;
    this.mappingId = mapping.uuid;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      roleArn: this.roleArn,
      dlqArn: this.dlqArn,
      dlqName: this.dlqName,
      dlqUrl: this.dlqUrl,
      mappingId: this.mappingId,
    });
  }
}

/**
 * A stage that is one StreamFunction under its own type: the analyzer and the forwarder.
 * Publishes the function's name, ARN, role and dead-letter queue.
 */
export abstract class StreamConsumer extends pulumi.ComponentResource {
  public readonly functionName: pulumi.Output<string>;
  public readonly functionArn: pulumi.Output<string>;
  public readonly roleArn: pulumi.Output<string>;
  public readonly dlqName: pulumi.Output<string>;
  public readonly dlqUrl: pulumi.Output<string>;

  protected constructor(type: string, name: string, fnArgs: StreamFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    const fn = new StreamFunction(`${name}-fn`, fnArgs, { parent: this });
    this.functionName = fn.functionName;
    this.functionArn = fn.functionArn;
    this.roleArn = fn.roleArn;
    this.dlqName = fn.dlqName;
    this.dlqUrl = fn.dlqUrl;
    this.registerOutputs({ functionName: this.functionName, functionArn: this.functionArn, roleArn: this.roleArn, dlqName: this.dlqName, dlqUrl: this.dlqUrl });
  }
}
