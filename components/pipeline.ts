import * as pulumi from "@pulumi/pulumi";
import { assertNoProblems, catalogProblems } from "../catalog/limits";
import type { Catalog } from "../catalog/schema";
import type { LiveModel } from "../catalog/live";
import type { PipelineConfig, PipelineSettings } from "../config/stack";
import { liveModel } from "../dashboards/live";
import { AnalyzerFunction } from "./analyzerFunction";
import { Alerting } from "./alerting";
import { CounterTable } from "./counterTable";
import { EventArchive } from "./eventArchive";
import { EventStream } from "./eventStream";
import { functionArchive } from "./bundle";
import { LiveApp, type LiveAppFile } from "./liveApp";
import { MetricForwarder } from "./metricForwarder";
import { Monitoring } from "./monitoring";
import { QuarantineStore } from "./quarantineStore";
import { Reconciler } from "./reconciler";
import { StateTable } from "./stateTable";

export interface PipelineArgs {
  /** What this pipeline counts, forwards, draws and alarms on; embedded in its functions. */
  readonly catalog: Catalog;
  readonly settings: PipelineSettings;
  /** The stack name: with the pipeline's name, it starts every alarm and dashboard name. */
  readonly stack: string;
  /** The region dashboards' widgets read from. */
  readonly region: string;
  /** The live app's page for a model: its files, `index.html` among them (`config.json` is written by the app). */
  readonly webAppFiles: WebAppFiles;
}

/** Builds the live app's page files from a pipeline's page model. */
export type WebAppFiles = (model: LiveModel) => readonly LiveAppFile[];

/**
 * One pipeline: stream → analyzer → counter table → forwarder → metrics, alarms, dashboards, and
 * the table's stream → publisher → the live app. Its name (the catalog's) starts every child's
 * name, so several pipelines share a stack, each with an app of its own.
 */
export class Pipeline extends pulumi.ComponentResource {
  public readonly streamName: pulumi.Output<string>;
  public readonly streamArn: pulumi.Output<string>;
  public readonly tableName: pulumi.Output<string>;
  public readonly quarantineBucket: pulumi.Output<string>;
  public readonly analyzerFunctionName: pulumi.Output<string>;
  public readonly stateTableName: pulumi.Output<string>;
  public readonly analyzerDeadLetterQueueUrl: pulumi.Output<string>;
  public readonly forwarderFunctionName: pulumi.Output<string>;
  public readonly reconcilerFunctionName: pulumi.Output<string>;
  public readonly alarmTopicArn: pulumi.Output<string>;
  public readonly dashboardNames: pulumi.Output<string>[];
  public readonly alarmNames: string[];
  public readonly archiveBucket: pulumi.Output<string>;
  public readonly archiveDeliveryStream: pulumi.Output<string>;
  public readonly glueDatabase: pulumi.Output<string>;
  public readonly athenaWorkgroup: pulumi.Output<string>;
  public readonly namedQueries: pulumi.Output<string[]>;
  public readonly liveApp: LiveApp;

  constructor(name: string, args: PipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:Pipeline", name, {}, opts);
    const { catalog, settings: s } = args;
    assertNoProblems(`the catalog of pipeline ${name}`, catalogProblems(catalog, { granularity: s.granularity }));

    const stream = new EventStream(`${name}-events`, { mode: s.stream.mode, shardCount: s.stream.shardCount, retentionHours: s.stream.retentionHours, protect: s.protectData }, { parent: this });
    const table = new CounterTable(`${name}-counters`, { deletionProtection: s.protectData }, { parent: this });
    const quarantine = new QuarantineStore(`${name}-quarantine`, { retentionDays: s.quarantineRetentionDays, forceDestroy: !s.protectData }, { parent: this });
    const state = new StateTable(`${name}-state`, { deletionProtection: s.protectData }, { parent: this });
    const analyzer = new AnalyzerFunction(
      `${name}-analyzer`,
      {
        catalog,
        granularity: s.granularity,
        streamArn: stream.arn,
        tableArn: table.arn,
        tableName: table.name,
        quarantineArn: quarantine.arn,
        quarantineName: quarantine.name,
        stateTableArn: state.arn,
        stateTableName: state.name,
        mapping: s.analyzer.mapping,
        memoryMb: s.analyzer.memoryMb,
        timeoutSeconds: s.analyzer.timeoutSeconds,
        counterMode: s.counterMode,
        counterTtlDays: s.counterTtlDays,
        logRetentionDays: s.logRetentionDays,
      },
      { parent: this },
    );
    // The page's model: the same catalog, alarm names and thresholds the monitoring deploys.
    const model = liveModel({ catalog, stack: args.stack, pipeline: name, granularity: s.granularity, thresholds: s.alarmThresholds });
    const forwarder = new MetricForwarder(
      `${name}-forwarder`,
      {
        catalog,
        tableStreamArn: table.streamArn,
        stateTableArn: state.arn,
        stateTableName: state.name,
        mapping: s.forwarder.mapping,
        memoryMb: s.forwarder.memoryMb,
        timeoutSeconds: s.forwarder.timeoutSeconds,
        logRetentionDays: s.logRetentionDays,
      },
      { parent: this },
    );
    const reconciler = new Reconciler(
      `${name}-reconciler`,
      {
        catalog,
        granularity: s.granularity,
        tableArn: table.arn,
        tableName: table.name,
        everyMinutes: s.reconcile.everyMinutes,
        lookbackHours: s.reconcile.lookbackHours,
        settleMinutes: s.reconcile.settleMinutes,
        logRetentionDays: s.logRetentionDays,
      },
      { parent: this },
    );
    const archive = new EventArchive(
      `${name}-archive`,
      {
        catalog,
        granularity: s.granularity,
        stack: args.stack,
        pipeline: name,
        streamArn: stream.arn,
        stateTableArn: state.arn,
        stateTableName: state.name,
        retentionDays: s.archive.retentionDays,
        bufferSeconds: s.archive.bufferSeconds,
        scanLimitMb: s.archive.scanLimitMb,
        logRetentionDays: s.logRetentionDays,
        forceDestroy: !s.protectData,
      },
      { parent: this },
    );
    const live = new LiveApp(
      `${name}-live`,
      {
        stack: args.stack,
        pipeline: name,
        region: args.region,
        granularity: s.granularity,
        thresholds: s.alarmThresholds,
        model,
        files: args.webAppFiles(model),
        tableArn: table.arn,
        tableName: table.name,
        tableStreamArn: table.streamArn,
        stateTableArn: state.arn,
        stateTableName: state.name,
        publisherCode: functionArchive("publisher", catalog),
        snapshotCode: functionArchive("snapshot", catalog),
        viewers: s.dashboardViewers,
        protectData: s.protectData,
        logRetentionDays: s.logRetentionDays,
      },
      { parent: this },
    );
    const alerting = new Alerting(`${name}-alerts`, { emails: s.alarmEmails }, { parent: this });
    const monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        stack: args.stack,
        pipeline: name,
        catalog,
        granularity: s.granularity,
        region: args.region,
        resources: {
          stream: stream.name,
          table: table.name,
          functions: [
            { role: "analyzer", functionName: analyzer.functionName, dlqName: analyzer.dlqName },
            { role: "forwarder", functionName: forwarder.functionName, dlqName: forwarder.dlqName },
            { role: "publisher", functionName: live.publisherFunctionName, dlqName: live.publisherDlqName },
          ],
          reconciler: { functionName: reconciler.functionName },
          archive: { deliveryStreamName: archive.deliveryStreamName, archiverFunctionName: archive.archiverFunctionName, bufferSeconds: s.archive.bufferSeconds },
        },
        reconcileEveryMinutes: s.reconcile.everyMinutes,
        topicArn: alerting.topicArn,
        thresholds: s.alarmThresholds,
        iteratorAgeMs: s.iteratorAgeAlarmMs,
        rejectedThreshold: s.rejectedRecordsAlarmThreshold,
      },
      { parent: this },
    );

    this.streamName = stream.name;
    this.streamArn = stream.arn;
    this.tableName = table.name;
    this.quarantineBucket = quarantine.name;
    this.analyzerFunctionName = analyzer.functionName;
    this.stateTableName = state.name;
    this.analyzerDeadLetterQueueUrl = analyzer.dlqUrl;
    this.forwarderFunctionName = forwarder.functionName;
    this.reconcilerFunctionName = reconciler.functionName;
    this.alarmTopicArn = alerting.topicArn;
    this.dashboardNames = monitoring.dashboardNames;
    this.alarmNames = monitoring.alarmNames;
    this.archiveBucket = archive.bucketName;
    this.archiveDeliveryStream = archive.deliveryStreamName;
    this.glueDatabase = archive.databaseName;
    this.athenaWorkgroup = archive.workgroupName;
    this.namedQueries = archive.namedQueryNames;
    this.liveApp = live;
    this.registerOutputs({
      streamName: this.streamName,
      streamArn: this.streamArn,
      tableName: this.tableName,
      quarantineBucket: this.quarantineBucket,
      analyzerFunctionName: this.analyzerFunctionName,
      stateTableName: this.stateTableName,
      analyzerDeadLetterQueueUrl: this.analyzerDeadLetterQueueUrl,
      forwarderFunctionName: this.forwarderFunctionName,
      reconcilerFunctionName: this.reconcilerFunctionName,
      alarmTopicArn: this.alarmTopicArn,
      dashboardNames: this.dashboardNames,
      alarmNames: this.alarmNames,
      archiveBucket: this.archiveBucket,
      archiveDeliveryStream: this.archiveDeliveryStream,
      glueDatabase: this.glueDatabase,
      athenaWorkgroup: this.athenaWorkgroup,
      namedQueries: this.namedQueries,
      liveAppUrl: live.url,
    });
  }
}

/** What the stack exports per pipeline: what producers write to and what operators open. */
export interface PipelineOutputs {
  readonly streamName: string;
  readonly streamArn: string;
  readonly counterTableName: string;
  readonly quarantineBucket: string;
  readonly analyzerFunctionName: string;
  /** The state table `npm run replay` reads the analyzer's ledger from. */
  readonly stateTableName: string;
  /** Where the analyzer's dead letters wait for `npm run replay`. */
  readonly analyzerDeadLetterQueueUrl: string;
  readonly forwarderFunctionName: string;
  readonly reconcilerFunctionName: string;
  readonly alarmTopicArn: string;
  readonly dashboards: string[];
  readonly alarms: string[];
  /** Where Firehose archives every record, under `events/day=<yyyy-MM-dd>/`. */
  readonly archiveBucket: string;
  readonly archiveDeliveryStream: string;
  /** The Glue database holding the archive's `events` table. */
  readonly glueDatabase: string;
  /** The Athena workgroup to query the archive in (its results location and scan cutoff are enforced). */
  readonly athenaWorkgroup: string;
  /** The Athena named queries that give each counter back from the archive. */
  readonly namedQueries: string[];
  /** The live app, `https://<distribution domain>/`: viewers sign in there. */
  readonly liveAppUrl: string;
  /** The live app's Cognito user pool, where viewers are (`dashboardViewers` creates them). */
  readonly liveAppUserPoolId: string;
  /** The hosted UI's origin, where viewers sign in and reset passwords. */
  readonly liveAppSignInDomain: string;
  /** The distribution serving the app, for an invalidation or its metrics. */
  readonly liveAppDistributionId: string;
  /** The bucket the page's files are in. */
  readonly liveAppBucket: string;
  /** The AppSync Events API pushes go through. */
  readonly liveAppEventsApiId: string;
  readonly publisherFunctionName: string;
  readonly snapshotFunctionName: string;
}

/** Declares every configured pipeline; returns each one's outputs by pipeline name. */
export function declarePipelines(
  pipelines: readonly PipelineConfig[],
  args: { readonly stack: string; readonly region: string; readonly webAppFiles: WebAppFiles },
  opts?: pulumi.ComponentResourceOptions,
): pulumi.Output<Record<string, PipelineOutputs>> {
  const outputs = pipelines.map(({ name, catalog, settings }) => {
    const p = new Pipeline(name, { catalog, settings, stack: args.stack, region: args.region, webAppFiles: args.webAppFiles }, opts);
    return [
      name,
      pulumi.output({
        streamName: p.streamName,
        streamArn: p.streamArn,
        counterTableName: p.tableName,
        quarantineBucket: p.quarantineBucket,
        analyzerFunctionName: p.analyzerFunctionName,
        stateTableName: p.stateTableName,
        analyzerDeadLetterQueueUrl: p.analyzerDeadLetterQueueUrl,
        forwarderFunctionName: p.forwarderFunctionName,
        reconcilerFunctionName: p.reconcilerFunctionName,
        alarmTopicArn: p.alarmTopicArn,
        dashboards: p.dashboardNames,
        alarms: p.alarmNames,
        archiveBucket: p.archiveBucket,
        archiveDeliveryStream: p.archiveDeliveryStream,
        glueDatabase: p.glueDatabase,
        athenaWorkgroup: p.athenaWorkgroup,
        namedQueries: p.namedQueries,
        liveAppUrl: p.liveApp.url,
        liveAppUserPoolId: p.liveApp.userPoolId,
        liveAppSignInDomain: p.liveApp.signInDomain,
        liveAppDistributionId: p.liveApp.distributionId,
        liveAppBucket: p.liveApp.siteBucket,
        liveAppEventsApiId: p.liveApp.eventsApiId,
        publisherFunctionName: p.liveApp.publisherFunctionName,
        snapshotFunctionName: p.liveApp.snapshotFunctionName,
      }),
    ] as const;
  });
  return pulumi.all(Object.fromEntries(outputs));
}
