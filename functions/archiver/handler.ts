import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { FirehoseTransformationHandler } from "aws-lambda";
import { archiveColumns } from "../../catalog/archive";
import { analyzerRules } from "../../catalog/rules";
import type { Catalog } from "../../catalog/schema";
import { registryGate } from "../analyzer/registry";
import { sdkClient } from "../shared/clientOptions";
import { jsonLogger, type Logger, logLevel } from "../shared/log";
import { createArchiverHandler } from "./process";
import { archiverEnv } from "./settings";

/** The archiver's client as the deployed function builds it, for the given log. */
export function archiverClients(log: Logger): { dynamo: DynamoDBClient } {
  return { dynamo: sdkClient(DynamoDBClient, log) };
}

/**
 * The deployed archiver, Firehose's transformation function: its bundle's entry calls this once
 * per container with the pipeline's catalog, so it reads records exactly as that pipeline's
 * analyzer does. Reads the environment once; clients come from the default chain.
 */
export function archiverHandler(catalog: Catalog): FirehoseTransformationHandler {
  const env = archiverEnv(process.env);
  const log = jsonLogger("archiver", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) });
  return createArchiverHandler({
    rules: analyzerRules({ catalog, granularity: env.granularity }),
    columns: archiveColumns(catalog),
    gate: registryGate({ client: archiverClients(log).dynamo, tableName: env.stateTable }),
    log,
  });
}
