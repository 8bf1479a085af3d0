import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamHandler } from "aws-lambda";
import { analyzerRules } from "../../catalog/rules";
import type { Catalog } from "../../catalog/schema";
import { sdkClient } from "../shared/clientOptions";
import { jsonLogger, type Logger, logLevel } from "../shared/log";
import { stateLedger } from "./ledger";
import { createAnalyzerHandler } from "./process";
import { registryGate } from "./registry";
import { analyzerEnv } from "./settings";

/** The analyzer's clients as the deployed function builds them, for the given log. */
export function analyzerClients(log: Logger): { dynamo: DynamoDBClient; s3: S3Client } {
  return { dynamo: sdkClient(DynamoDBClient, log), s3: sdkClient(S3Client, log, { cacheMiddleware: false }) };
}

/**
 * The deployed analyzer: its bundle's entry calls this once per container with the pipeline's
 * catalog. Reads the environment once; clients come from the default chain, so
 * AWS_ENDPOINT_URL_DYNAMODB points the same code at a local emulator.
 */
export function analyzerHandler(catalog: Catalog): KinesisStreamHandler {
  const env = analyzerEnv(process.env);
  const log = jsonLogger("analyzer", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) });
  const { dynamo, s3 } = analyzerClients(log);
  return createAnalyzerHandler({
    rules: analyzerRules({ catalog, granularity: env.granularity }),
    dynamo,
    s3,
    settings: env,
    log,
    gate: registryGate({ client: dynamo, tableName: env.stateTable }),
    ledger: stateLedger({ client: dynamo, tableName: env.stateTable }),
  });
}
