import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { alarmProblems, assertNoProblems, type AlarmSpec, buildAlarms, buildDashboards, type Bucket, type Catalog, type PipelineNames } from "../dashboards";

export interface MonitoringArgs {
  readonly catalog: Catalog;
  readonly stack: string;
  readonly region: string;
  readonly names: PipelineNames<pulumi.Output<string>>;
  readonly topicArn: pulumi.Input<string>;
  /** Overrides of catalog thresholds, keyed `<metricId>.<alarmName>`. */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** @default catalog.bucket */
  readonly bucket?: Bucket;
  /** @default 60000 */
  readonly iteratorAgeMs?: number;
  /** @default 1 */
  readonly rejectedThreshold?: number;
}

/** Dashboards and alarms, generated from the catalog: the catalog's thresholds plus pipeline health. */
export class Monitoring extends pulumi.ComponentResource {
  public readonly dashboardNames: pulumi.Output<string>[];
  public readonly alarmNames: string[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:Monitoring", name, {}, opts);
    const specs: AlarmSpec<pulumi.Output<string>>[] = buildAlarms({
      catalog: args.catalog,
      stack: args.stack,
      names: args.names,
      thresholds: args.thresholds,
      bucket: args.bucket,
      iteratorAgeMs: args.iteratorAgeMs,
      rejectedThreshold: args.rejectedThreshold,
    });
    const actions = [args.topicArn];
    assertNoProblems("the alarms", alarmProblems(specs, { actions: actions.length }));
    for (const spec of specs) {
      new aws.cloudwatch.MetricAlarm(
        `${name}-${spec.name}`,
        {
          name: spec.name,
          alarmDescription: spec.description,
          namespace: spec.namespace,
          metricName: spec.metricName,
          dimensions: spec.dimensions,
          statistic: spec.statistic,
          period: spec.period,
          evaluationPeriods: spec.evaluationPeriods,
          datapointsToAlarm: spec.datapointsToAlarm,
          threshold: spec.threshold,
          comparisonOperator: spec.comparison,
          treatMissingData: spec.treatMissingData,
          alarmActions: actions,
          okActions: actions,
        },
        { parent: this },
      );
    }
    const dashboards = buildDashboards({
      catalog: args.catalog,
      stack: args.stack,
      region: args.region,
      names: args.names,
      alarms: specs,
      bucket: args.bucket,
    });
    this.dashboardNames = dashboards.map(
      (d) => new aws.cloudwatch.Dashboard(`${name}-${d.name}`, { dashboardName: d.name, dashboardBody: pulumi.jsonStringify(d.body) }, { parent: this }).dashboardName,
    );
    this.alarmNames = specs.map((s) => s.name);
    this.registerOutputs({ dashboardNames: this.dashboardNames, alarmNames: this.alarmNames });
  }
}
