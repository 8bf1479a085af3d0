import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AlertingArgs {
  /** Addresses that get every alarm; each must confirm the subscription SNS mails it. */
  readonly emails: readonly string[];
}

/**
 * The SNS topic every alarm notifies, encrypted with a key CloudWatch may use (the AWS-managed
 * SNS key would silently drop alarm notifications), publishable only by this account's alarms.
 */
export class Alerting extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  public readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: AlertingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:Alerting", name, {}, opts);
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this });
    const account = identity.accountId;
    const alarmSource = pulumi.interpolate`arn:${partition.partition}:cloudwatch:${region.region}:${account}:alarm:*`;

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: "Encrypts the alarm topic; usable by CloudWatch alarms of this account",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AccountAdministers",
              Effect: "Allow",
              Principal: { AWS: pulumi.interpolate`arn:${partition.partition}:iam::${account}:root` },
              Action: "kms:*",
              Resource: "*",
            },
            {
              Sid: "CloudWatchAlarmsEncrypt",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              Resource: "*",
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
          ],
        }),
      },
      { parent: this },
    );
    const topic = new aws.sns.Topic(`${name}-topic`, { kmsMasterKeyId: key.id }, { parent: this });
    new aws.sns.TopicPolicy(
      `${name}-topic-policy`,
      {
        arn: topic.arn,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "OnlyThisAccountsAlarms",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: "sns:Publish",
              Resource: topic.arn,
              Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": alarmSource } },
            },
          ],
        }),
      },
      { parent: this },
    );
    for (const email of args.emails) {
      // Named by address, not position: removing one address leaves the others' subscriptions alone.
      const slug = email.toLowerCase().replace(/[^a-z0-9]+/g, "-");
      new aws.sns.TopicSubscription(`${name}-email-${slug}`, { topic: topic.arn, protocol: "email", endpoint: email }, { parent: this });
    }
    this.topicArn = topic.arn;
    this.keyArn = key.arn;
    this.registerOutputs({ topicArn: this.topicArn, keyArn: this.keyArn });
  }
}
