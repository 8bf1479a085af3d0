import * as pulumi from "@pulumi/pulumi";
import type { Catalog } from "../catalog/schema";
import type { FunctionSettings, MappingSettings } from "../config/stack";
import { FORWARDER_STATE_KEYS } from "../catalog/state";
import { FORWARDER_ENV } from "../functions/forwarder/settings";
import { functionArchive } from "./bundle";
import { StreamConsumer } from "./streamFunction";

export interface MetricForwarderArgs extends FunctionSettings {
  /** The pipeline's catalog: embedded in the bundle; its namespace is the only one the function may put metrics in. */
  readonly catalog: Catalog;
  readonly tableStreamArn: pulumi.Input<string>;
  /** The pipeline's state table, where the forwarder notes how far each batch got. */
  readonly stateTableArn: pulumi.Input<string>;
  readonly stateTableName: pulumi.Input<string>;
  readonly mapping: MappingSettings;
  /** @default 14 */
  readonly logRetentionDays?: number;
}

/** The function that turns counter changes (new − old) into CloudWatch metrics. */
export class MetricForwarder extends StreamConsumer {
  constructor(name: string, args: MetricForwarderArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!args.catalog.namespace) throw new Error(`MetricForwarder ${name}: the catalog's namespace must not be empty`);
    super(
      "analytics:pipeline:MetricForwarder",
      name,
      {
        code: functionArchive("forwarder", args.catalog),
        sourceArn: args.tableStreamArn,
        sourceKind: "dynamodb",
        mapping: args.mapping,
        memoryMb: args.memoryMb,
        timeoutSeconds: args.timeoutSeconds,
        logRetentionDays: args.logRetentionDays,
        environment: { [FORWARDER_ENV.stateTable]: args.stateTableName },
        statements: [
          {
            Sid: "KeepForwardedMarks",
            Effect: "Allow",
            Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
            Resource: args.stateTableArn,
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": FORWARDER_STATE_KEYS } },
          },
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
      opts,
    );
  }
}
