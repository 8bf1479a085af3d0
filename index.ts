import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { describeSeries, loadCatalog, seriesEstimate } from "./catalog";
import { declarePipelines } from "./components";
import { parseConfig, PROJECT } from "./config";
import { webAppFiles } from "./web/build";

// Validate every key and load every pipeline's catalog before declaring a single resource:
// a bad value stops here, by name.
const config = new pulumi.Config(PROJECT);
const configured = parseConfig((key) => config.get(key), (name) => loadCatalog(name));
const stack = pulumi.getStack();
// What each catalog can cost in CloudWatch, in the preview everyone reviews.
for (const { name, catalog } of configured) void pulumi.log.info(describeSeries(name, seriesEstimate(catalog)));
const awsConfig = new pulumi.Config("aws");
const region = awsConfig.get("region");
if (!region) throw new Error("aws:region is not set. Fix: pulumi config set aws:region eu-west-1 (or your region)");

// One provider for the whole program, so every resource carries the same default tags.
const provider = new aws.Provider("aws", {
  region: region as aws.Region,
  profile: awsConfig.get("profile"),
  defaultTags: { tags: { project: PROJECT, stack, "managed-by": "pulumi" } },
});

/** Per pipeline, by name: what producers write to and what operators open. */
export const pipelines = declarePipelines(configured, { stack, region, webAppFiles }, { providers: [provider] });
