import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Objects under a prefix that S3 deletes once they are `days` old. */
export interface Expiration {
  /** The lifecycle rule's id, unique within the bucket. */
  readonly id: string;
  /** `""` for every object. */
  readonly prefix: string;
  readonly days: number;
}

export interface PrivateBucketArgs {
  /** One lifecycle rule each; each also aborts multipart uploads left incomplete after a day. */
  readonly expirations: readonly Expiration[];
  /** Let `pulumi destroy` delete the bucket while it still holds objects. */
  readonly forceDestroy: boolean;
}

/**
 * A private S3 bucket, as children of `parent` named `${name}-bucket`, `-public-access`,
 * `-tls-only`, `-ownership`, `-encryption` and `-lifecycle`: no public access, no ACLs, requests
 * refused unless over TLS, encrypted with KMS (a bucket key keeps the KMS calls few), and
 * objects expiring. A function, not a component, so a bucket that was declared inline before
 * keeps its URNs.
 */
export function declarePrivateBucket(name: string, args: PrivateBucketArgs, parent: pulumi.Resource): aws.s3.Bucket {
  for (const e of args.expirations) {
    if (!Number.isInteger(e.days) || e.days < 1) {
      throw new Error(`private bucket ${name}: expiration "${e.id}" must be a whole number of days ≥ 1 (got ${e.days})`);
    }
  }
  if (new Set(args.expirations.map((e) => e.id)).size !== args.expirations.length) {
    throw new Error(`private bucket ${name}: two expirations share an id; give each rule its own`);
  }
  const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: args.forceDestroy }, { parent });
  new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    { parent },
  );
  // What these buckets hold is raw user data or derived from it: refuse every request that isn't over TLS.
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
    { parent },
  );
  new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent });
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] },
    { parent },
  );
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-lifecycle`,
    {
      bucket: bucket.id,
      rules: args.expirations.map((e) => ({
        id: e.id,
        status: "Enabled",
        filter: { prefix: e.prefix },
        expiration: { days: e.days },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      })),
    },
    { parent },
  );
  return bucket;
}
