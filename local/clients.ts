import { CloudWatchClient, type PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
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

/** A CloudWatch client whose PutMetricData calls are recorded (and handed to `onPut`) instead of sent. */
export function capturedCloudWatch(onPut?: (input: PutMetricDataCommandInput) => void): { client: CloudWatchClient; calls: Captured<PutMetricDataCommandInput>[] } {
  const client = new CloudWatchClient({ ...LOCAL_AWS });
  const calls: Captured<PutMetricDataCommandInput>[] = [];
  captureAtBoundary<PutMetricDataCommandInput>(client, (input) => {
    calls.push({ at: Date.now(), input });
    onPut?.(input);
    return {};
  });
  return { client, calls };
}

/** An S3 client whose PutObject calls are kept by key (and handed to `onPut`) instead of sent. */
export function capturedS3(onPut?: (key: string, body: string) => void): { client: S3Client; objects: Map<string, string> } {
  const client = new S3Client({ ...LOCAL_AWS });
  const objects = new Map<string, string>();
  captureAtBoundary<{ Key?: string; Body?: unknown }>(client, (input) => {
    objects.set(String(input.Key), String(input.Body));
    onPut?.(String(input.Key), String(input.Body));
    return { ETag: '"local"' };
  });
  return { client, objects };
}
