import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { DynamoDBStreamHandler } from "aws-lambda";
import type { Catalog } from "../../catalog/schema";
import { jsonLogger, logLevel } from "../shared/log";
import { appsyncPublisher } from "./appsync";
import { createPublisherHandler } from "./process";
import { PUBLISHER_ENV, publisherEndpoint } from "./settings";

/**
 * The deployed publisher: its bundle's entry calls this once per container. The catalog isn't
 * needed: a part names its metric and dimensions, and the page knows the catalog. Reads the
 * environment once; credentials come from the default chain (the function's role), asked again
 * by the signer when they near expiry.
 */
export function publisherHandler(_catalog: Catalog): DynamoDBStreamHandler {
  const get = (key: string): string => {
    const value = process.env[key];
    if (!value) throw new Error(`environment variable ${key} is not set; the live app component sets it`);
    return value;
  };
  const log = jsonLogger("publisher", { level: logLevel(process.env.AWS_LAMBDA_LOG_LEVEL) });
  const publish = appsyncPublisher({ endpoint: publisherEndpoint(get(PUBLISHER_ENV.httpHost)), region: get("AWS_REGION"), credentials: defaultProvider() });
  return createPublisherHandler({ publish, channel: get(PUBLISHER_ENV.channel), log });
}
