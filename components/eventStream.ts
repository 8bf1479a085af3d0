import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface EventStreamArgs {
  /** @default "provisioned" */
  readonly mode?: "provisioned" | "on-demand";
  /** Shards when provisioned; each takes 1 MB/s or 1,000 records/s in. @default 1 */
  readonly shardCount?: number;
  /** How long records stay replayable. @default 24 */
  readonly retentionHours?: number;
  /**
   * Guard the stream and its retained records against deletion, as the table's deletion
   * protection guards the counters: Kinesis has no such flag, so Pulumi refuses to delete or
   * replace the stream (`protect`), and a `pulumi destroy` that is forced leaves it in place
   * (`retainOnDelete`). @default false
   */
  readonly protect?: boolean;
}

/** The Kinesis stream producers put raw events on, encrypted with KMS. */
export class EventStream extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: EventStreamArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:EventStream", name, {}, opts);
    const mode = args.mode ?? "provisioned";
    const shardCount = args.shardCount ?? 1;
    const retentionHours = args.retentionHours ?? 24;
    if (mode === "provisioned" && (!Number.isInteger(shardCount) || shardCount < 1)) {
      throw new Error(`EventStream ${name}: shardCount must be a whole number ≥ 1 when mode is provisioned (got ${shardCount})`);
    }
    if (!Number.isInteger(retentionHours) || retentionHours < 24 || retentionHours > 8760) {
      throw new Error(`EventStream ${name}: retentionHours must be 24-8760 (got ${retentionHours})`);
    }
    const stream = new aws.kinesis.Stream(
      `${name}-stream`,
      {
        retentionPeriod: retentionHours,
        streamModeDetails: { streamMode: mode === "on-demand" ? "ON_DEMAND" : "PROVISIONED" },
        shardCount: mode === "on-demand" ? undefined : shardCount,
        // The AWS-managed key costs nothing and needs no key policy for consumers in the account.
        encryptionType: "KMS",
        kmsKeyId: "alias/aws/kinesis",
      },
      { parent: this, protect: args.protect ?? false, retainOnDelete: args.protect ?? false },
    );
    this.arn = stream.arn;
    this.name = stream.name;
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
