import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { analyzerRules, forwarderRules } from "../catalog/rules";
import { type Catalog, type Granularity, GRANULARITY_SECONDS } from "../catalog/schema";
import { reconcilerRules } from "../functions/reconciler/reconcile";
import { MAX_RECONCILE_EVERY_MINUTES, RECONCILER_ENV, reconcilerSettingsProblems } from "../functions/reconciler/settings";
import { functionArchive } from "./bundle";
import { declareFunction } from "./streamFunction";

export interface ReconcilerArgs {
  /** The pipeline's catalog: embedded in the bundle; its namespace is the only one the function may put metrics in. */
  readonly catalog: Catalog;
  readonly granularity: Granularity;
  readonly tableArn: pulumi.Input<string>;
  readonly tableName: pulumi.Input<string>;
  /** Minutes between runs. @default 15 */
  readonly everyMinutes?: number;
  /** Buckets that started at most this many hours ago are checked (1-23). @default 3 */
  readonly lookbackHours?: number;
  /** Minutes a bucket must have been closed, and a counter unchanged, before it is checked. @default 10 */
  readonly settleMinutes?: number;
  /** @default 256 */
  readonly memoryMb?: number;
  /** @default 120, or half the period when that is shorter */
  readonly timeoutSeconds?: number;
  /** @default 14 */
  readonly logRetentionDays?: number;
}

/**
 * The function that makes CloudWatch converge to the counter table, on a schedule: for every
 * closed, settled bucket of the lookback it puts `counter − cloudwatch` where the two differ
 * (the forwarder is at-least-once, so a resent PutMetricData counts twice).
 *
 * Scheduled by an EventBridge rule rather than EventBridge Scheduler: a fixed rate is all it
 * needs, and a rule invokes through the function's resource policy, scoped to the rule's ARN,
 * where Scheduler needs a role of its own to assume.
 */
export class Reconciler extends pulumi.ComponentResource {
  public readonly functionName: pulumi.Output<string>;
  public readonly functionArn: pulumi.Output<string>;
  public readonly roleArn: pulumi.Output<string>;
  public readonly scheduleArn: pulumi.Output<string>;

  constructor(name: string, args: ReconcilerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:Reconciler", name, {}, opts);
    const everyMinutes = args.everyMinutes ?? 15;
    const lookbackHours = args.lookbackHours ?? 3;
    const settleMinutes = args.settleMinutes ?? 10;
    const timeoutSeconds = args.timeoutSeconds ?? Math.min(120, everyMinutes * 30);
    const problems = reconcilerSettingsProblems({ lookbackHours, settleMinutes });
    if (!Number.isInteger(everyMinutes) || everyMinutes < 1 || everyMinutes > MAX_RECONCILE_EVERY_MINUTES) {
      problems.push(`everyMinutes ${everyMinutes} must be a whole number from 1 to ${MAX_RECONCILE_EVERY_MINUTES}`);
    }
    const needed = GRANULARITY_SECONDS[args.granularity] / 60 + settleMinutes + everyMinutes;
    if (lookbackHours * 60 < needed) {
      problems.push(`lookbackHours ${lookbackHours} is shorter than a bucket + settleMinutes + everyMinutes (${needed} min), so some buckets would never be checked; use ${Math.ceil(needed / 60)} or more`);
    }
    // Overlapping runs would both read CloudWatch before either's corrections show, and correct twice.
    if (!(timeoutSeconds >= 1 && timeoutSeconds < everyMinutes * 60)) problems.push(`timeoutSeconds ${timeoutSeconds} must be at least 1 and shorter than the ${everyMinutes * 60}s between runs`);
    if (!args.catalog.namespace) problems.push("the catalog's namespace must not be empty");
    if (problems.length > 0) throw new Error(`Reconciler ${name}: ${problems.join("; ")}`);
    // The same rules the function builds at start: a catalog they refuse fails here, before deploying.
    reconcilerRules(analyzerRules({ catalog: args.catalog, granularity: args.granularity }), forwarderRules(args.catalog));

    const { fn, role, policy } = declareFunction(
      name,
      {
        code: functionArchive("reconciler", args.catalog),
        memoryMb: args.memoryMb,
        timeoutSeconds,
        logRetentionDays: args.logRetentionDays,
        // One run at a time: EventBridge delivers at least once, and two overlapping runs would both correct.
        reservedConcurrentExecutions: 1,
        environment: {
          [RECONCILER_ENV.tableName]: args.tableName,
          [RECONCILER_ENV.granularity]: args.granularity,
          [RECONCILER_ENV.lookbackHours]: String(lookbackHours),
          [RECONCILER_ENV.settleMinutes]: String(settleMinutes),
        },
        statements: (writeLogs) => [
          writeLogs,
          { Sid: "ReadCounters", Effect: "Allow", Action: ["dynamodb:Query"], Resource: args.tableArn },
          // Neither action has resource-level permissions: "*" is the only resource they take.
          { Sid: "ReadCatalogMetrics", Effect: "Allow", Action: ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], Resource: "*" },
          {
            Sid: "PutCatalogMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            // PutMetricData has no resource-level permissions; the namespace condition is the fence.
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": args.catalog.namespace } },
          },
        ],
      },
      this,
    );

    // A run is never retried nor started late: it would overlap the next one. A failed or missed
    // run is simply redone by the next, which reads everything afresh.
    const staleAfterSeconds = Math.max(60, everyMinutes * 60 - timeoutSeconds);
    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-async`,
      { functionName: fn.name, maximumRetryAttempts: 0, maximumEventAgeInSeconds: Math.min(21_600, staleAfterSeconds) },
      { parent: this },
    );
    const rule = new aws.cloudwatch.EventRule(
      `${name}-schedule`,
      {
        scheduleExpression: everyMinutes === 1 ? "rate(1 minute)" : `rate(${everyMinutes} minutes)`,
        description: `Reconciles ${args.catalog.namespace}'s CloudWatch series with the counter table every ${everyMinutes} min`,
      },
      { parent: this },
    );
    const permission = new aws.lambda.Permission(
      `${name}-invoke`,
      { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: rule.arn },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      { rule: rule.name, arn: fn.arn, retryPolicy: { maximumEventAgeInSeconds: Math.min(86_400, staleAfterSeconds) } },
      { parent: this, dependsOn: [permission, policy] },
    );

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.roleArn = role.arn;
    this.scheduleArn = rule.arn;
    this.registerOutputs({ functionName: this.functionName, functionArn: this.functionArn, roleArn: this.roleArn, scheduleArn: this.scheduleArn });
  }
}
