import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyHandlerV2WithJWTAuthorizer, APIGatewayProxyResultV2 } from "aws-lambda";
import { bucketKey } from "../../catalog/item";
import { type LiveAlarmState, type LiveModel, type LivePart, livePart, SNAPSHOT_RANGES, type Snapshot, snapshotWindow } from "../../catalog/live";
import { keptValuesKey, STATE, STATE_TABLE } from "../../catalog/state";
import { isTransient, type Logger, withFields } from "../shared/log";
import { queryParts } from "../shared/queryCounters";
import { alarmBatches, alarmState, cappedDimensions, dimensionId, modelAlarmNames, parseRange, snapshotKeys } from "./keys";

export interface SnapshotSettings {
  /** The counter table. */
  readonly tableName: string;
  /** The state table, where capped dimensions' kept values are. */
  readonly stateTable: string;
}

export interface SnapshotDeps {
  /** The page model (`liveModel`), built from the pipeline's catalog and the stack's settings. */
  readonly model: LiveModel;
  readonly dynamo: DynamoDBClient;
  readonly cloudwatch: CloudWatchClient;
  readonly settings: SnapshotSettings;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Queries in flight at once: enough to hide the round trips, few enough not to burst a cold table. */
export const QUERY_CONCURRENCY = 8;

/**
 * Lambda caps a synchronous response at 6 MB, the whole answer with its headers and the body's
 * escaping; past it the caller gets a 502 and no hint. Kept below it, counting a MB as 10^6 bytes.
 */
export const RESPONSE_LIMIT_BYTES = 6_000_000;

const HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } as const;
const answer = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResultV2 => ({
  statusCode,
  headers: { ...HEADERS, ...headers },
  body: JSON.stringify(body),
});

/** Runs `task` over `items`, at most `limit` at once; results in the items' order. Rejects with the first failure. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * `GET /api/snapshot?range=1h`: the counter parts of the range's buckets for every key the page
 * shows, and the catalog alarms' states. Behind the route's Cognito JWT authorizer.
 */
export function createSnapshotHandler(deps: SnapshotDeps): APIGatewayProxyHandlerV2WithJWTAuthorizer {
  const { model, dynamo, cloudwatch, settings } = deps;
  const now = deps.now ?? Date.now;
  const capped = cappedDimensions(model);
  const alarmNames = modelAlarmNames(model);

  /** Eventually consistent too: a value kept a moment ago is in the next snapshot, and its parts come by push meanwhile. */
  async function keptValues(): Promise<{ kept: Map<string, string[]>; readCapacityUnits: number }> {
    let readCapacityUnits = 0;
    const kept = new Map<string, string[]>();
    await mapLimited(capped, QUERY_CONCURRENCY, async ({ metric, field }) => {
      const got = await dynamo.send(
        new GetItemCommand({
          TableName: settings.stateTable,
          Key: { [STATE_TABLE.partitionKey]: { S: keptValuesKey(metric, field) } },
          ProjectionExpression: "#v",
          ExpressionAttributeNames: { "#v": STATE.values },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      readCapacityUnits += got.ConsumedCapacity?.CapacityUnits ?? 0;
      kept.set(dimensionId(metric, field), [...(got.Item?.[STATE.values]?.SS ?? [])].sort());
    });
    return { kept, readCapacityUnits };
  }

  async function alarmStates(log: Logger): Promise<LiveAlarmState[]> {
    const states = new Map<string, LiveAlarmState>();
    try {
      for (const AlarmNames of alarmBatches(alarmNames)) {
        let NextToken: string | undefined;
        do {
          const page = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames, MaxRecords: AlarmNames.length, NextToken }));
          for (const a of page.MetricAlarms ?? []) {
            const state = alarmState(a);
            if (state !== undefined) states.set(state.name, state);
          }
          NextToken = page.NextToken;
        } while (NextToken);
      }
    } catch (error) {
      // The parts are what the page is for; without alarm states it still draws them.
      log("WARN", "DescribeAlarms failed: the snapshot carries no alarm states", { error: String(error), transient: isTransient(error) });
      return [];
    }
    return alarmNames.flatMap((name) => states.get(name) ?? []);
  }

  return async (event, context) => {
    const log = withFields(deps.log, { requestId: context.awsRequestId });
    const method = event.requestContext.http.method;
    if (method !== "GET") return answer(405, { error: `${method} is not allowed; the snapshot answers GET` }, { allow: "GET" });
    // The route's authorizer refuses a request without a valid token before it gets here; this holds even if the route is misconfigured.
    if (!event.requestContext.authorizer?.jwt?.claims?.sub) {
      log("WARN", "snapshot refused: no authenticated subject");
      return answer(401, { error: "sign in first: the request carries no authenticated user" });
    }
    const parsed = parseRange(event.queryStringParameters?.range);
    if ("error" in parsed) return answer(400, { error: parsed.error });
    const { range } = parsed;
    const readAtMs = now();
    const { fromMs, lastMs } = snapshotWindow(range, readAtMs, model.bucketSeconds);

    let keys: string[];
    let parts: LivePart[];
    let readCapacityUnits = 0;
    let pages = 0;
    try {
      const values = await keptValues();
      readCapacityUnits += values.readCapacityUnits;
      keys = snapshotKeys(model, values.kept);
      // Strongly consistent reads: the page takes a snapshot as the table's word, and the refetch
      // after a reconnect is there for changes whose push was lost; a stale read could hide the
      // last change of a bucket that will never change again (and never be pushed again).
      const perKey = await mapLimited(keys, QUERY_CONCURRENCY, async (partitionKey) => {
        const got = await queryParts(dynamo, { tableName: settings.tableName, partitionKey, fromMs, lastMs, consistentRead: true, marks: true });
        readCapacityUnits += got.readCapacityUnits;
        pages += got.pages;
        return got.parts.map(livePart);
      });
      parts = perKey.flat();
    } catch (error) {
      log("ERROR", "reading the counters failed", { range, error: String(error), transient: isTransient(error), pages, readCapacityUnits });
      return answer(503, { error: "the counters could not be read just now; try again" }, { "retry-after": "1" });
    }
    const alarms = await alarmStates(log);

    const snapshot: Snapshot = { readAt: new Date(readAtMs).toISOString(), range, from: bucketKey(fromMs), to: bucketKey(lastMs), parts, alarms };
    const response = answer(200, snapshot);
    const bytes = Buffer.byteLength(JSON.stringify(response));
    const fields = { range, keys: keys.length, parts: parts.length, alarms: alarms.length, pages, readCapacityUnits, bytes };
    if (bytes > RESPONSE_LIMIT_BYTES) {
      const shorter = Object.keys(SNAPSHOT_RANGES).filter((r) => SNAPSHOT_RANGES[r as keyof typeof SNAPSHOT_RANGES] < SNAPSHOT_RANGES[range]);
      log("WARN", "snapshot too large for Lambda's response", fields);
      return answer(413, { error: `the ${range} snapshot is ${bytes} bytes, over Lambda's 6 MB response limit; choose a shorter range${shorter.length > 0 ? ` (${shorter.join(", ")})` : ""}` });
    }
    log("INFO", "snapshot", fields);
    return response;
  };
}
