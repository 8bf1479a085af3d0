import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBStreamHandler } from "aws-lambda";
import { forwarderRules } from "../../catalog/rules";
import type { Catalog } from "../../catalog/schema";
import { jsonLogger, logLevel } from "../shared/log";
import { createForwarderHandler } from "./process";

/**
 * The deployed forwarder: its bundle's entry calls this once per container with the pipeline's
 * catalog, whose namespace is the only one its role may put metrics in.
 */
export function forwarderHandler(catalog: Catalog): DynamoDBStreamHandler {
  return createForwarderHandler({
    rules: forwarderRules(catalog),
    cloudwatch: new CloudWatchClient({ maxAttempts: 4, retryMode: "adaptive" }),
    log: jsonLogger("forwarder", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) }),
  });
}
