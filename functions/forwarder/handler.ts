import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamHandler } from "aws-lambda";
import { forwarderRules } from "../../catalog/rules";
import type { Catalog } from "../../catalog/schema";
import { sdkClient } from "../shared/clientOptions";
import { jsonLogger, type Logger, logLevel } from "../shared/log";
import { stateMarks } from "./marks";
import { createForwarderHandler } from "./process";
import { FORWARDER_ENV } from "./settings";

/** The forwarder's clients as the deployed function builds them, for the given log. */
export function forwarderClients(log: Logger): { cloudwatch: CloudWatchClient; dynamo: DynamoDBClient } {
  return { cloudwatch: sdkClient(CloudWatchClient, log), dynamo: sdkClient(DynamoDBClient, log) };
}

/**
 * The deployed forwarder: its bundle's entry calls this once per container with the pipeline's
 * catalog, whose namespace is the only one its role may put metrics in.
 */
export function forwarderHandler(catalog: Catalog): DynamoDBStreamHandler {
  const stateTable = process.env[FORWARDER_ENV.stateTable];
  if (!stateTable) throw new Error(`environment variable ${FORWARDER_ENV.stateTable} is not set; the forwarder component sets it`);
  const log = jsonLogger("forwarder", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) });
  const { cloudwatch, dynamo } = forwarderClients(log);
  return createForwarderHandler({
    rules: forwarderRules(catalog),
    cloudwatch,
    log,
    marks: stateMarks({ client: dynamo, tableName: stateTable }),
  });
}
