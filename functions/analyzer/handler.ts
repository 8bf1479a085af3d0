import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamHandler } from "aws-lambda";
import { catalog } from "../../dashboards/catalog";
import { analyzerRules } from "../../dashboards/rules";
import { jsonLogger } from "../shared/log";
import { toBatchRecords } from "./aggregate";
import { processBatch } from "./process";
import { analyzerEnv } from "./settings";

// Created once per container and reused across invocations; endpoints come from the default
// chain, so AWS_ENDPOINT_URL_DYNAMODB points the same code at a local emulator.
const env = analyzerEnv(process.env);
const dynamo = new DynamoDBClient({ maxAttempts: 4, retryMode: "adaptive" });
const s3 = new S3Client({ maxAttempts: 4 });
const rules = analyzerRules({ catalog, bucket: env.bucket });
const log = jsonLogger("analyzer");

/** The module's clients, exposed so a local run can observe them at the SDK boundary. */
export const clients = { dynamo, s3 };

export const handler: KinesisStreamHandler = async (event) => {
  const result = await processBatch(toBatchRecords(event), {
    rules,
    dynamo,
    s3,
    tableName: env.tableName,
    quarantineBucket: env.quarantineBucket,
    mode: env.mode,
    ttlDays: env.ttlDays,
    log,
  });
  return { batchItemFailures: result.batchItemFailures };
};
