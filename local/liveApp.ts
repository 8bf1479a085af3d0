/**
 * The live app of a local run: the page built as it deploys, the real snapshot function reading
 * DynamoDB Local, CloudWatch's alarm states answered from the run's metrics as the local run
 * evaluates them, and the real publisher, fed by the counter table's stream, publishing to the
 * local server as it would to AppSync Events.
 */
import type { CloudWatchClient, DescribeAlarmsCommandInput, MetricAlarm } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LIVE_CHANNEL } from "../catalog/live";
import type { PipelineConfig } from "../config/stack";
import { type AlarmSpec, catalogAlarms, liveModel, monitoringPrefix } from "../dashboards";
import { appsyncPublisher } from "../functions/publisher/appsync";
import { createPublisherHandler } from "../functions/publisher/process";
import { PUBLISHER_DEFAULTS } from "../functions/publisher/settings";
import { createSnapshotHandler } from "../functions/snapshot/process";
import type { Logger } from "../functions/shared/log";
import { webAppFiles } from "../web/build";
import { evaluateAlarm } from "./alarms";
import { captureAtBoundary, LOCAL_AWS } from "./clients";
import { CloudWatchClient as Client } from "@aws-sdk/client-cloudwatch";
import { newStats } from "./esm";
import { type LiveServer, startLiveServer } from "./liveServer";
import type { MetricStore } from "./metricStore";

/**
 * CloudWatch's DescribeAlarms answered at the SDK boundary: each named alarm evaluated on the
 * run's metrics up to now, as CloudWatch would hold its state. Any other call is refused.
 */
export function alarmStates(store: MetricStore, specs: readonly AlarmSpec[], since: number): CloudWatchClient {
  const client = new Client({ ...LOCAL_AWS });
  captureAtBoundary<DescribeAlarmsCommandInput>(client, (input, commandName) => {
    if (commandName !== "DescribeAlarmsCommand") throw Object.assign(new Error(`the local CloudWatch for the live app answers DescribeAlarms only, not ${commandName}`), { name: "UnknownOperationException" });
    const names = new Set(input.AlarmNames ?? specs.map((s) => s.name));
    const now = Date.now();
    // A loop, not Math.min(...datums): a long --serve session holds more datums than a call takes arguments.
    let from = since;
    for (const d of store.datums) if (d.timestamp < from) from = d.timestamp;
    const MetricAlarms: MetricAlarm[] = specs
      .filter((s) => names.has(s.name))
      .map((spec) => {
        const evaluated = evaluateAlarm(spec, store, { from, to: now });
        const last = evaluated.history[evaluated.history.length - 1];
        return { AlarmName: spec.name, StateValue: evaluated.state, StateReason: last?.reason ?? "Unchecked: Initial alarm creation", ...(evaluated.stateChangedAt === null ? {} : { StateUpdatedTimestamp: new Date(evaluated.stateChangedAt) }) };
      });
    return { MetricAlarms };
  });
  return client;
}

export interface LocalLiveApp {
  readonly server: LiveServer;
  /** The publisher as the pollers deploy it, reading the table's stream beside the forwarder. */
  readonly publisher: Parameters<typeof import("./pollers").pollTableStream>[0]["fn"];
}

export async function serveLiveApp(o: {
  pipeline: PipelineConfig;
  stack: string;
  dynamo: DynamoDBClient;
  tableName: string;
  stateTable: string;
  store: MetricStore;
  startedAt: number;
  port?: number;
  anyPortIfTaken?: boolean;
  say?: (line: string) => void;
  log: (service: string) => Logger;
}): Promise<LocalLiveApp> {
  const { name, catalog, settings } = o.pipeline;
  const model = liveModel({ catalog, stack: o.stack, pipeline: name, granularity: settings.granularity, thresholds: settings.alarmThresholds });
  const specs = catalogAlarms({ catalog, prefix: monitoringPrefix(o.stack, name), granularity: settings.granularity, thresholds: settings.alarmThresholds });
  const snapshot = createSnapshotHandler({
    model,
    dynamo: o.dynamo,
    cloudwatch: alarmStates(o.store, specs, o.startedAt),
    settings: { tableName: o.tableName, stateTable: o.stateTable },
    log: o.log("snapshot"),
  });
  const server = await startLiveServer({ files: webAppFiles(model), snapshot, port: o.port, anyPortIfTaken: o.anyPortIfTaken, say: o.say });
  const publish = appsyncPublisher({ endpoint: server.publishEndpoint, region: LOCAL_AWS.region, credentials: LOCAL_AWS.credentials });
  return {
    server,
    publisher: {
      role: "publisher",
      functionName: `${name}-publisher`,
      dlqName: `${name}-publisher-dlq`,
      // As the component deploys it: from the table's latest changes, with the publisher's defaults.
      mapping: {
        startingPosition: "LATEST",
        parallelizationFactor: 1,
        batchSize: PUBLISHER_DEFAULTS.batchSize,
        batchingWindowSeconds: PUBLISHER_DEFAULTS.batchingWindowSeconds,
        maximumRetryAttempts: PUBLISHER_DEFAULTS.maximumRetryAttempts,
        maximumRecordAgeSeconds: PUBLISHER_DEFAULTS.maximumRecordAgeSeconds,
      },
      stats: newStats(),
      handler: createPublisherHandler({ publish, channel: LIVE_CHANNEL, log: o.log("publisher") }),
    },
  };
}
