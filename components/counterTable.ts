import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COUNTER_TABLE } from "../catalog/item";

export interface CounterTableArgs {
  /** Refuse deletes of the table (turn on for prod). @default false */
  readonly deletionProtection?: boolean;
}

/** The DynamoDB table of per-bucket counters; its stream feeds the metric forwarder. */
export class CounterTable extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;
  public readonly name: pulumi.Output<string>;
  public readonly streamArn: pulumi.Output<string>;

  constructor(name: string, args: CounterTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:CounterTable", name, {}, opts);
    const table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        billingMode: COUNTER_TABLE.billingMode,
        hashKey: COUNTER_TABLE.partitionKey,
        rangeKey: COUNTER_TABLE.sortKey,
        attributes: [
          { name: COUNTER_TABLE.partitionKey, type: "S" },
          { name: COUNTER_TABLE.sortKey, type: "S" },
        ],
        ttl: { attributeName: COUNTER_TABLE.ttlAttribute, enabled: true },
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        streamEnabled: true,
        streamViewType: COUNTER_TABLE.streamViewType,
        deletionProtectionEnabled: args.deletionProtection ?? false,
      },
      { parent: this },
    );
    this.arn = table.arn;
    this.name = table.name;
    this.streamArn = table.streamArn;
    this.registerOutputs({ arn: this.arn, name: this.name, streamArn: this.streamArn });
  }
}
