import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { STATE_TABLE } from "../catalog/state";

export interface StateTableArgs {
  /** Refuse deletes of the table (turn on for prod). @default false */
  readonly deletionProtection?: boolean;
}

/**
 * The pipeline's bookkeeping beside the counters: capped dimensions' kept values, the
 * forwarder's progress marks and the analyzer's unapplied ledger. A table of its own, without a
 * stream, so this bookkeeping never reaches the forwarder.
 */
export class StateTable extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: StateTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:StateTable", name, {}, opts);
    const table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        billingMode: STATE_TABLE.billingMode,
        hashKey: STATE_TABLE.partitionKey,
        attributes: [{ name: STATE_TABLE.partitionKey, type: "S" }],
        ttl: { attributeName: STATE_TABLE.ttlAttribute, enabled: true },
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        deletionProtectionEnabled: args.deletionProtection ?? false,
      },
      { parent: this },
    );
    this.arn = table.arn;
    this.name = table.name;
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
