import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import type { ProducedRecord } from "../local/producer";

const METRIC_OF: Record<string, string> = { "page view": "pageViews", click: "clicks", impression: "impressions", donation: "donations" };

/** Ground truth, computed here from the produced events without the analyzer's code. */
export function truth(records: readonly ProducedRecord[]) {
  const counters = new Map<string, { count: number; sum: number }>();
  const rejected = new Map<string, number>();
  const add = (key: string, sum: number) => {
    const c = counters.get(key) ?? { count: 0, sum: 0 };
    c.count += 1;
    c.sum += sum;
    counters.set(key, c);
  };
  for (const r of records) {
    if (r.badBecause) {
      rejected.set(r.badBecause, (rejected.get(r.badBecause) ?? 0) + 1);
      continue;
    }
    const e = r.event!;
    const minute = new Date(Math.floor(Date.parse(`${e.utc_timestamp}Z`) / 60_000) * 60_000).toISOString();
    const metric = METRIC_OF[e.event_type as string];
    add(`${metric}|${minute}`, (e.amount as number) ?? 0);
    if (metric === "donations") add(`${metric}|platform=${e.platform}|${minute}`, e.amount as number);
  }
  return { counters, rejected };
}

export async function scanCounters(dynamo: DynamoDBClient, table: string) {
  const items = (await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
  const counters = new Map<string, { count: number; sum: number }>();
  const rejected = new Map<string, number>();
  let counted = 0;
  for (const item of items) {
    const dims = Object.entries(item.dims?.M ?? {}).map(([k, v]) => `${k}=${v.S}`);
    const count = Number(item.count.N);
    if (item.metric.S === "CountedRecords") {
      counted += count;
      continue;
    }
    if (item.metric.S === "RejectedRecords") {
      if (dims.length) rejected.set(dims[0].slice("reason=".length), (rejected.get(dims[0].slice("reason=".length)) ?? 0) + count);
      continue;
    }
    counters.set([item.metric.S, ...dims, item.bucket.S].join("|"), { count, sum: Number(item.sum?.N ?? 0) });
  }
  return { counters, rejected, counted };
}

export const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;

/** Differences between two counter maps, for a readable failure. */
export function counterDiff(want: Map<string, { count: number; sum: number }>, got: Map<string, { count: number; sum: number }>): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...want.keys(), ...got.keys()])) {
    const w = want.get(key);
    const g = got.get(key);
    if (!w || !g || w.count !== g.count || !near(w.sum, g.sum)) diffs.push(`${key}: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
  }
  return diffs;
}
