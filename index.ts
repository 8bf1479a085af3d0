import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, Pipeline, PROJECT } from "./components";
import { catalog } from "./dashboards";

// Validate every key before declaring a single resource: a bad value stops here, by name.
const config = new pulumi.Config(PROJECT);
const settings = parseConfig((key) => config.get(key), catalog);
const stack = pulumi.getStack();
const awsConfig = new pulumi.Config("aws");
const region = awsConfig.get("region");
if (!region) throw new Error("aws:region is not set. Fix: pulumi config set aws:region eu-west-1 (or your region)");

// One provider for the whole program, so every resource carries the same default tags.
const provider = new aws.Provider("aws", {
  region: region as aws.Region,
  profile: awsConfig.get("profile"),
  defaultTags: { tags: { project: PROJECT, stack, "managed-by": "pulumi" } },
});

const pipeline = new Pipeline("analytics", { catalog, settings, stack, region }, { providers: [provider] });

export const streamName = pipeline.streamName;
export const streamArn = pipeline.streamArn;
export const counterTableName = pipeline.tableName;
export const quarantineBucket = pipeline.quarantineBucket;
export const analyzerFunctionName = pipeline.analyzerFunctionName;
export const forwarderFunctionName = pipeline.forwarderFunctionName;
export const alarmTopicArn = pipeline.alarmTopicArn;
export const dashboards = pulumi.all(pipeline.dashboardNames);
export const alarms = pipeline.alarmNames;
