import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

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
    const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: args.forceDestroy ?? true }, { parent: this });
    new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { parent: this },
    );
    // Rejected records are raw user data: refuse every request that isn't over TLS.
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
      { parent: this },
    );
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-rejects",
            status: "Enabled",
            filter: { prefix: "rejected/" },
            expiration: { days: retentionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      { parent: this },
    );
    this.arn = bucket.arn;
    this.name = bucket.bucket;
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
