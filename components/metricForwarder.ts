import * as pulumi from "@pulumi/pulumi";
import type { FunctionSettings, MappingSettings } from "./config";
import { StreamConsumer } from "./streamFunction";

export interface MetricForwarderArgs extends FunctionSettings {
  readonly tableStreamArn: pulumi.Input<string>;
  /** The catalog's namespace: the only one the function may put metrics in. */
  readonly namespace: string;
  readonly mapping: MappingSettings;
  /** @default 14 */
  readonly logRetentionDays?: number;
}

export const FORWARDER_ENTRY = "functions/forwarder/handler.ts";

/** The function that turns counter changes (new − old) into CloudWatch metrics. */
export class MetricForwarder extends StreamConsumer {
  constructor(name: string, args: MetricForwarderArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!args.namespace) throw new Error(`MetricForwarder ${name}: namespace must be the catalog's namespace, not empty`);
    super(
      "analytics:pipeline:MetricForwarder",
      name,
      {
        entry: FORWARDER_ENTRY,
        sourceArn: args.tableStreamArn,
        sourceKind: "dynamodb",
        mapping: args.mapping,
        memoryMb: args.memoryMb,
        timeoutSeconds: args.timeoutSeconds,
        logRetentionDays: args.logRetentionDays,
        statements: [
          {
            Sid: "PutCatalogMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            // PutMetricData has no resource-level permissions; the namespace condition is the fence.
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": args.namespace } },
          },
        ],
      },
      opts,
    );
  }
}
