import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ScheduledHandler } from "aws-lambda";
import { analyzerRules, forwarderRules } from "../../catalog/rules";
import type { Catalog } from "../../catalog/schema";
import { sdkClient } from "../shared/clientOptions";
import { jsonLogger, type Logger, logLevel } from "../shared/log";
import { createReconcilerHandler } from "./process";
import { reconcilerRules } from "./reconcile";
import { reconcilerEnv } from "./settings";

/** The reconciler's clients as the deployed function builds them, for the given log. */
export function reconcilerClients(log: Logger): { dynamo: DynamoDBClient; cloudwatch: CloudWatchClient } {
  return { dynamo: sdkClient(DynamoDBClient, log), cloudwatch: sdkClient(CloudWatchClient, log) };
}

/**
 * The deployed reconciler: its bundle's entry calls this once per container with the pipeline's
 * catalog, so it checks exactly the series the analyzer counts and the forwarder names. Reads
 * the environment once; clients come from the default chain.
 */
export function reconcilerHandler(catalog: Catalog): ScheduledHandler {
  const env = reconcilerEnv(process.env);
  const log = jsonLogger("reconciler", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) });
  return createReconcilerHandler({
    rules: reconcilerRules(analyzerRules({ catalog, granularity: env.granularity }), forwarderRules(catalog)),
    ...reconcilerClients(log),
    settings: env,
    log,
  });
}
