/**
 * The traffic the benchmark measures, as the analyzer receives it: batches of Kinesis records
 * (base64 data), all well formed so the floor and the analyzer parse the same records.
 */
import { analyzerRules, type AnalyzerRules, loadCatalog } from "../catalog";
import { type Catalog, defineCatalog } from "../catalog/schema";
import type { BatchRecord } from "../functions/analyzer/aggregate";
import { produce, seeded } from "../local/producer";

export const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const SHARD = "shardId-000000000000";
const MINUTE = 60_000;

const shipped = loadCatalog("analytics");

/** Distinct pages that, over 60 minute buckets, make 10,020 counter keys. */
export const PAGES = 167;
/** A catalog whose one metric is split by page: many keys per batch. */
const pagesCatalog = defineCatalog({
  namespace: "BenchPages",
  events: { typeField: "event_type", timeField: "utc_timestamp" },
  metrics: {
    pageViews: {
      event: "page view",
      label: "Page views",
      dimensions: { page: { values: Array.from({ length: PAGES }, (_, i) => `/page/${i}`) } },
    },
  },
});

export interface TrafficCase {
  readonly id: string;
  readonly label: string;
  readonly catalog: Catalog;
  readonly rules: AnalyzerRules;
  /** `count` records starting at sequence `offset` (so successive batches continue one shard). */
  batch(count: number, offset?: number): BatchRecord[];
}

const toRecords = (data: readonly Buffer[], offset: number): BatchRecord[] =>
  data.map((d, i) => ({
    shardId: SHARD,
    sequenceNumber: (49_000_000_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(offset + i)).toString(),
    data: d.toString("base64"),
    arrivalMs: NOW,
  }));

const minuteRules = (catalog: Parameters<typeof analyzerRules>[0]["catalog"]) => analyzerRules({ catalog, granularity: "minute" });

export const CASES: readonly TrafficCase[] = [
  {
    id: "fewKeys",
    label: "few keys (shipped catalog, 5 minutes)",
    catalog: shipped,
    rules: minuteRules(shipped),
    batch: (count, offset = 0) => toRecords(produce({ catalog: shipped, count, seed: 1 + offset, now: NOW, spanMs: 5 * MINUTE, badRatio: 0 }).map((p) => p.data), offset),
  },
  {
    id: "manyKeys",
    label: `10,020 keys (${PAGES} pages × 60 minutes)`,
    catalog: pagesCatalog,
    rules: minuteRules(pagesCatalog),
    batch: (count, offset = 0) => {
      const random = seeded(7 + offset);
      const data = Array.from({ length: count }, () => {
        const minute = Math.floor(random() * 60);
        const page = Math.floor(random() * PAGES);
        const at = new Date(NOW - minute * MINUTE - Math.floor(random() * MINUTE)).toISOString().slice(0, 19);
        return Buffer.from(JSON.stringify({ event_type: "page view", utc_timestamp: at, page: `/page/${page}`, user: `u${Math.floor(random() * 1e6)}` }));
      });
      return toRecords(data, offset);
    },
  },
  {
    id: "sumsAndDimensions",
    label: "donations: sums and a dimension",
    catalog: shipped,
    rules: minuteRules(shipped),
    batch: (count, offset = 0) => {
      const donations: Buffer[] = [];
      for (let seed = 1 + offset; donations.length < count; seed += 1000) {
        for (const p of produce({ catalog: shipped, count: count * 8, seed, now: NOW, spanMs: 5 * MINUTE, badRatio: 0 })) {
          if (p.event?.event_type === "donation" && donations.length < count) donations.push(p.data);
        }
      }
      return toRecords(donations, offset);
    },
  },
];

export const caseById = (id: string): TrafficCase => CASES.find((c) => c.id === id)!;
