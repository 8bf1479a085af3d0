import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyHandlerV2WithJWTAuthorizer } from "aws-lambda";
import type { Catalog } from "../../catalog/schema";
import { liveModel } from "../../dashboards/live";
import { sdkClient } from "../shared/clientOptions";
import { jsonLogger, type Logger, logLevel } from "../shared/log";
import { createSnapshotHandler } from "./process";
import { snapshotEnv } from "./settings";

/** The snapshot function's clients as the deployed function builds them, for the given log. */
export function snapshotClients(log: Logger): { dynamo: DynamoDBClient; cloudwatch: CloudWatchClient } {
  return { dynamo: sdkClient(DynamoDBClient, log), cloudwatch: sdkClient(CloudWatchClient, log) };
}

/**
 * The deployed snapshot endpoint: its bundle's entry calls this once per container with the
 * pipeline's catalog, from which (with the stack's settings) it builds the same page model the
 * page is built from, alarm names included.
 */
export function snapshotHandler(catalog: Catalog): APIGatewayProxyHandlerV2WithJWTAuthorizer {
  const env = snapshotEnv(process.env);
  const log = jsonLogger("snapshot", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) });
  const model = liveModel({ catalog, stack: env.stack, pipeline: env.pipeline, granularity: env.granularity, thresholds: env.thresholds });
  return createSnapshotHandler({ model, ...snapshotClients(log), settings: { tableName: env.tableName, stateTable: env.stateTable }, log });
}
