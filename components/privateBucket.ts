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
  /** One lifecycle rule each; each also aborts multipart uploads left incomplete after a day. None: no lifecycle configuration. */
  readonly expirations: readonly Expiration[];
  /** Let `pulumi destroy` delete the bucket while it still holds objects. */
  readonly forceDestroy: boolean;
  /**
   * `kms` (the AWS-managed `aws/s3` key, with a bucket key) or `s3` (SSE-S3, AES256), for a bucket
   * a service principal must read that can't use that key. @default "kms"
   */
  readonly encryption?: "kms" | "s3";
  /**
   * Leave the bucket policy to the caller, who declares it with `declareBucketPolicy` once what
   * its grants name exists (a distribution reading the bucket is declared after the bucket). @default false
   */
  readonly policyLater?: boolean;
}

/** A statement a bucket policy allows besides refusing plain HTTP. */
export interface BucketPolicyGrant {
  readonly Sid: string;
  readonly Effect: "Allow";
  readonly Principal: { readonly Service: string };
  readonly Action: string | readonly string[];
  readonly Resource: pulumi.Input<string> | readonly pulumi.Input<string>[];
  readonly Condition?: Record<string, Record<string, pulumi.Input<string>>>;
}

/**
 * The bucket's one policy (S3 takes one a bucket): every request refused unless over TLS, then
 * `grants`. A child of `parent` named `name`.
 */
export function declareBucketPolicy(name: string, bucket: aws.s3.Bucket, grants: readonly BucketPolicyGrant[], parent: pulumi.Resource): aws.s3.BucketPolicy {
  // Nothing reaches a bucket of this stack in clear text: refuse every request that isn't over TLS.
  return new aws.s3.BucketPolicy(
    name,
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
          ...grants,
        ],
      }),
    },
    { parent },
  );
}

/**
 * A private S3 bucket, as children of `parent` named `${name}-bucket`, `-public-access`,
 * `-tls-only` (unless `policyLater`), `-ownership`, `-encryption` and `-lifecycle`: no public
 * access, no ACLs, requests refused unless over TLS, encrypted (by default with KMS, a bucket key
 * keeping the KMS calls few), and objects expiring. A function, not a component, so a bucket
 * that was declared inline before keeps its URNs.
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
  if (!args.policyLater) declareBucketPolicy(`${name}-tls-only`, bucket, [], parent);
  new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent });
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    {
      bucket: bucket.id,
      rules: [args.encryption === "s3" ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } } : { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    },
    { parent },
  );
  if (args.expirations.length === 0) return bucket;
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
