/**
 * The counter item codec: the table's shape, the item's attributes, the key encoding and the
 * per-shard high-water marks. One definition for the table component that deploys it, the
 * analyzer that writes items, the forwarder that reads their stream images, and the local run
 * and tests that read them back.
 */
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

/** The sort key: the bucket's start. */
export const bucketKey = (bucketMs: number): string => new Date(bucketMs).toISOString();

/**
 * Kinesis sequence numbers are decimal strings of up to 129 digits; zero-padded to a fixed
 * width they compare correctly as strings, which is what DynamoDB's `<` on strings does.
 */
export const MARK_WIDTH = 129;
export const toMark = (sequenceNumber: string): string => sequenceNumber.padStart(MARK_WIDTH, "0");
/** The attribute holding one shard's high-water mark. */
export const markAttribute = (shardId: string): string => `wm_${shardId}`;

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
  for (const [name, value] of Object.entries(item[ITEM.dimensions]?.M ?? {})) dimensions[name] = value.S ?? "";
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
