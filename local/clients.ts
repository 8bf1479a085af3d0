import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Emulators accept any credentials; these keep the SDK from looking for real ones. */
export const LOCAL_AWS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;

export interface LocalClients {
  readonly dynamo: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly kinesis: KinesisClient;
}

export function localClients(endpoints: { dynamo: string; kinesis: string }): LocalClients {
  return {
    dynamo: new DynamoDBClient({ ...LOCAL_AWS, endpoint: endpoints.dynamo, maxAttempts: 4 }),
    streams: new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint: endpoints.dynamo }),
    // kinesalite speaks HTTP/1.1 only; the Kinesis client defaults to HTTP/2.
    kinesis: new KinesisClient({ ...LOCAL_AWS, endpoint: endpoints.kinesis, requestHandler: new NodeHttpHandler() }),
  };
}

/** A request the capture saw, with the command's input as the SDK would have sent it. */
export interface Captured<I> {
  readonly at: number;
  readonly input: I;
}

/**
 * Answers a client's calls at the SDK boundary instead of sending them: the command, its
 * input and the client's own validation all run; only the network call is replaced.
 */
export function captureAtBoundary<I>(client: { middlewareStack: { add: (m: never, o: never) => void } }, respond: (input: I, commandName: string) => unknown): void {
  const middleware = (_next: unknown, context: { commandName?: string }) => async (args: { input: I }) => ({
    output: { $metadata: { httpStatusCode: 200 }, ...(respond(args.input, context.commandName ?? "") as object) },
    response: {},
  });
  const add = client.middlewareStack.add.bind(client.middlewareStack) as (m: unknown, o: unknown) => void;
  add(middleware, { step: "initialize", name: "captureAtBoundary", override: true });
}

export function capturedCloudWatch(): { client: CloudWatchClient; calls: Captured<{ Namespace?: string; MetricData?: unknown[] }>[] } {
  const client = new CloudWatchClient({ ...LOCAL_AWS });
  const calls: Captured<{ Namespace?: string; MetricData?: unknown[] }>[] = [];
  captureAtBoundary<{ Namespace?: string; MetricData?: unknown[] }>(client, (input) => {
    calls.push({ at: Date.now(), input });
    return {};
  });
  return { client, calls };
}

export function capturedS3(): { client: S3Client; objects: Map<string, string> } {
  const client = new S3Client({ ...LOCAL_AWS });
  const objects = new Map<string, string>();
  captureAtBoundary<{ Key?: string; Body?: unknown }>(client, (input) => {
    objects.set(String(input.Key), String(input.Body));
    return { ETag: '"local"' };
  });
  return { client, objects };
}
