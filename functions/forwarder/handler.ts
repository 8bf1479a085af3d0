import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBStreamHandler } from "aws-lambda";
import { catalog } from "../../dashboards/catalog";
import { jsonLogger } from "../shared/log";
import { forwarderRules } from "./deltas";
import { forwardBatch } from "./process";

// Reused across invocations; the endpoint comes from the default chain.
const cloudwatch = new CloudWatchClient({ maxAttempts: 4, retryMode: "adaptive" });
const rules = forwarderRules(catalog);
const log = jsonLogger("forwarder");

/** The module's client, exposed so a local run can observe it at the SDK boundary. */
export const clients = { cloudwatch };

export const handler: DynamoDBStreamHandler = async (event) => {
  const result = await forwardBatch(event.Records, { rules, cloudwatch, log });
  return { batchItemFailures: result.batchItemFailures };
};
