import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assertNoProblems } from "../catalog/limits";
import { alarmProblems, type MonitoringOptions, pipelineMonitoring } from "../dashboards";

export interface MonitoringArgs extends MonitoringOptions<pulumi.Input<string>> {
  /** The topic every alarm notifies on ALARM and OK. */
  readonly topicArn: pulumi.Input<string>;
}

/** A pipeline's dashboards and alarms, generated from its catalog plus its resources' health. */
export class Monitoring extends pulumi.ComponentResource {
  public readonly dashboardNames: pulumi.Output<string>[];
  public readonly alarmNames: string[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:Monitoring", name, {}, opts);
    const { alarms, dashboards } = pipelineMonitoring(args);
    const actions = [args.topicArn];
    assertNoProblems("the alarms", alarmProblems(alarms, { actions: actions.length }));
    for (const spec of alarms) {
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
    this.dashboardNames = dashboards.map(
      (d) => new aws.cloudwatch.Dashboard(`${name}-${d.name}`, { dashboardName: d.name, dashboardBody: pulumi.jsonStringify(d.body) }, { parent: this }).dashboardName,
    );
    this.alarmNames = alarms.map((s) => s.name);
    this.registerOutputs({ dashboardNames: this.dashboardNames, alarmNames: this.alarmNames });
  }
}
