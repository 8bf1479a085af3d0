import * as pulumi from "@pulumi/pulumi";
import { declarePrivateBucket } from "./privateBucket";

export interface QuarantineStoreArgs {
  /** Days a rejected batch is kept for inspection and replay. @default 90 */
  readonly retentionDays?: number;
  /** Let `pulumi destroy` delete a bucket that still holds rejects. @default true */
  readonly forceDestroy?: boolean;
}

/** Where rejected records are kept with their reason: private, encrypted, expiring. */
export class QuarantineStore extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: QuarantineStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:QuarantineStore", name, {}, opts);
    const retentionDays = args.retentionDays ?? 90;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new Error(`QuarantineStore ${name}: retentionDays must be a whole number ≥ 1 (got ${retentionDays})`);
    }
    const bucket = declarePrivateBucket(
      name,
      { expirations: [{ id: "expire-rejects", prefix: "rejected/", days: retentionDays }], forceDestroy: args.forceDestroy ?? true },
      this,
    );
    this.arn = bucket.arn;
    this.name = bucket.bucket;
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
