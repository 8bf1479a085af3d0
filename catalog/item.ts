/**
 * The counter item codec: the table's shape, the item's attributes, the key encoding and the
 * high-water marks. One definition for the table component that deploys it, the analyzer that
 * writes items, the forwarder that reads their stream images, and the local run, the reconciler
 * and tests that read them back.
 *
 * A counter (one metric, one set of dimension values, one bucket) is kept in parts, one item per
 * Kinesis shard that counted into it, each with that shard's mark alone: the partition key is the
 * counter's, the sort key the bucket's start followed by the shard. Readers add the parts up
 * (`sumParts`). One item holding every shard's mark would grow by a mark per shard and cost its
 * whole size in write units on each write: a hot counter (this minute's page views, written once
 * per shard per batch) would pass a partition's 1,000 write units a second at about 80 shards.
 * A part stays one write unit whatever the shard count.
 */
import { addDecimals } from "./decimal";

export const COUNTER_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  streamViewType: "NEW_AND_OLD_IMAGES",
  billingMode: "PAY_PER_REQUEST",
} as const;

/** The attributes of a counter item beside its key. */
export const ITEM = {
  metric: "metric",
  dimensions: "dims",
  /** The bucket's start, ISO 8601 UTC (also the sort key). */
  bucket: "bucket",
  count: "count",
  sum: "sum",
  expiresAt: COUNTER_TABLE.ttlAttribute,
  /** When the analyzer last changed the item, epoch seconds: the reconciler leaves fresh items alone. */
  updatedAt: "at",
  /** The part's shard's high-water mark: the last sequence number applied (see `toMark`). */
  mark: "wm",
} as const;

/** A counter as people read it: one metric, one set of dimension values, one bucket. */
export interface Counter {
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** The bucket's start, ISO 8601 UTC. */
  readonly bucket: string;
  readonly count: number;
  readonly sum?: number;
  /** The sum exactly as the table holds it, a decimal string. */
  readonly sumText?: string;
  /** When the analyzer last changed the item, epoch ms (items written before it was kept lack it). */
  readonly updatedAtMs?: number;
}

// Characters the key uses as separators, and the escape character itself, are escaped in
// dimension values, so distinct value lists never share a key (whatever the strings hold).
const ESCAPES: Readonly<Record<string, string>> = { "%": "%25", "#": "%23", "&": "%26", "=": "%3D" };
const escapeValue = (value: string): string => value.replace(/[%#&=]/g, (c) => ESCAPES[c]);

/**
 * The value list's part of a key: injective for value lists of one length (the lists of one
 * counter rule). A single value is used as is, which is injective too and costs nothing.
 */
export function valuesKey(values: readonly string[]): string {
  if (values.length === 0) return "";
  if (values.length === 1) return values[0];
  let key = escapeValue(values[0]);
  for (let i = 1; i < values.length; i++) key += `&${escapeValue(values[i])}`;
  return key;
}

/**
 * The partition key of a counter: the metric id alone for its total, else
 * `metric#name=value&name=value` with values escaped. Metric ids are letters, digits and `_`.
 */
export function counterKey(metric: string, names: readonly string[], values: readonly string[]): string {
  let pk = metric;
  for (let i = 0; i < names.length; i++) pk += `${i === 0 ? "#" : "&"}${names[i]}=${escapeValue(values[i])}`;
  return pk;
}

/** A bucket's start as the items spell it, ISO 8601 UTC. */
export const bucketKey = (bucketMs: number): string => new Date(bucketMs).toISOString();

/** The sort key of one shard's part of a counter: the bucket's start, `#`, the shard. */
export const partKey = (bucket: string, shardId: string): string => `${bucket}#${shardId}`;

/**
 * Sort key bounds covering every part of the buckets starting in [fromMs, lastMs]: `$` sorts just
 * after the `#` that ends a bucket's start, and before the next bucket's start.
 */
export const partRange = (fromMs: number, lastMs: number): { from: string; to: string } => ({ from: bucketKey(fromMs), to: `${bucketKey(lastMs)}$` });

/**
 * Kinesis sequence numbers are decimal strings of up to 129 digits; zero-padded to a fixed
 * width they compare correctly as strings, which is what DynamoDB's `<` on strings does.
 */
export const MARK_WIDTH = 129;
export const toMark = (sequenceNumber: string): string => sequenceNumber.padStart(MARK_WIDTH, "0");

/** A mark as people (and the live app) read it: the sequence number without its padding, "0" for all zeros. */
export const fromMark = (mark: string): string => mark.replace(/^0+(?=\d)/, "");

/** An attribute value as both the SDK and Lambda's stream events shape it. */
export interface AttributeLike {
  readonly S?: string;
  readonly N?: string;
  readonly M?: Readonly<Record<string, AttributeLike>>;
}
export type ItemImage = Readonly<Record<string, AttributeLike>>;

/** Reads a counter item (or a stream image of one); undefined when it lacks its metric or bucket. */
export function decodeCounter(item: ItemImage | undefined): Counter | undefined {
  const metric = item?.[ITEM.metric]?.S;
  const bucket = item?.[ITEM.bucket]?.S;
  if (item === undefined || metric === undefined || bucket === undefined) return undefined;
  const dimensions: Record<string, string> = {};
  const stored = item[ITEM.dimensions]?.M;
  if (stored !== undefined) for (const name in stored) dimensions[name] = stored[name].S ?? "";
  const sum = item[ITEM.sum]?.N;
  const at = item[ITEM.updatedAt]?.N;
  return {
    metric,
    dimensions,
    bucket,
    count: Number(item[ITEM.count]?.N ?? 0),
    // DynamoDB Local returns 6600.70 where DynamoDB returns 6600.7: one spelling for both.
    ...(sum === undefined ? {} : { sum: Number(sum), sumText: sum.includes(".") && !/e/i.test(sum) ? sum.replace(/\.?0+$/, "") : sum }),
    ...(at === undefined ? {} : { updatedAtMs: Number(at) * 1000 }),
  };
}

/**
 * Counters as people read them: the parts of each counter (metric, dimension values, bucket)
 * added up, counts and exact sums, in the order each counter was first met. The latest change of
 * any part is the counter's.
 */
export function sumParts(parts: readonly Counter[]): Counter[] {
  const counters = new Map<string, Counter>();
  for (const part of parts) {
    const key = `${part.metric}\u0000${part.bucket}\u0000${JSON.stringify(Object.entries(part.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
    const seen = counters.get(key);
    if (seen === undefined) {
      counters.set(key, part);
      continue;
    }
    const sumText = seen.sumText === undefined || part.sumText === undefined ? (seen.sumText ?? part.sumText) : addDecimals(seen.sumText, part.sumText);
    const updatedAtMs = Math.max(seen.updatedAtMs ?? -Infinity, part.updatedAtMs ?? -Infinity);
    counters.set(key, {
      ...seen,
      count: seen.count + part.count,
      ...(sumText === undefined ? {} : { sum: Number(sumText), sumText }),
      ...(Number.isFinite(updatedAtMs) ? { updatedAtMs } : {}),
    });
  }
  return [...counters.values()];
}

/** One shard's part of a counter as the table keeps it: the counter's values, its key, shard and mark. */
export interface CounterPart extends Counter {
  /** The counter's partition key (`counterKey`). */
  readonly key: string;
  /** The Kinesis shard the part counts for: the sort key after `<bucket>#`. */
  readonly shard: string;
  /** The shard's mark as stored (zero-padded, see `toMark`); absent in `add` mode. */
  readonly mark?: string;
}

/** Reads a counter part (an item, or a stream image, with its keys); undefined when it isn't one. */
export function decodePart(item: ItemImage | undefined): CounterPart | undefined {
  const counter = decodeCounter(item);
  const key = item?.[COUNTER_TABLE.partitionKey]?.S;
  const sk = item?.[COUNTER_TABLE.sortKey]?.S;
  if (counter === undefined || key === undefined || sk === undefined || !sk.startsWith(`${counter.bucket}#`)) return undefined;
  const mark = item![ITEM.mark]?.S;
  return { ...counter, key, shard: sk.slice(counter.bucket.length + 1), ...(mark === undefined ? {} : { mark }) };
}
