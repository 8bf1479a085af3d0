/**
 * A synthetic producer for any catalog: a realistic mix of the catalog's events (every event
 * type, every dimension, every summed field) plus a few bad records of every kind, from a
 * seeded generator so a run can be repeated exactly.
 */
import { type Catalog, type DimensionDef, metricEntries } from "../catalog/schema";

/** mulberry32: small, fast, and good enough to drive a simulation reproducibly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ProducedRecord {
  /** The bytes put on the stream, exactly. */
  readonly data: Buffer;
  readonly partitionKey: string;
  /** The event, when the record is a well-formed one. */
  readonly event?: Record<string, unknown>;
  /** Why the analyzer must reject it, when it is a bad record. */
  readonly badBecause?: string;
}

/** What an event type carries: the fields its metrics split by and sum. */
export interface EventShape {
  readonly type: string;
  /** Each dimension field with the values synthetic events give it. */
  readonly dimensions: readonly string[];
  readonly values: Readonly<Record<string, readonly string[]>>;
  readonly sums: readonly string[];
}

/** The catalog's event types in catalog order, each with the union of its metrics' fields. */
export function eventShapes(catalog: Catalog): EventShape[] {
  const shapes = new Map<string, { type: string; values: Map<string, string[]>; sums: Set<string> }>();
  for (const [, metric] of metricEntries(catalog)) {
    const shape = shapes.get(metric.event) ?? { type: metric.event, values: new Map(), sums: new Set() };
    for (const [field, def] of Object.entries(metric.dimensions ?? {})) if (!shape.values.has(field)) shape.values.set(field, dimensionValues(field, def));
    if (metric.sum !== undefined) shape.sums.add(metric.sum);
    shapes.set(metric.event, shape);
  }
  return [...shapes.values()].map((s) => ({ type: s.type, dimensions: [...s.values.keys()], values: Object.fromEntries(s.values), sums: [...s.sums] }));
}

/**
 * The values a dimension takes in synthetic events: up to four of its allowed values, or four
 * made-up ones within its cap, so every split has several lines and nothing overflows.
 */
export function dimensionValues(field: string, def: DimensionDef): string[] {
  if (def.values !== undefined) return def.values.slice(0, 4);
  return Array.from({ length: Math.min(4, def.maxValues) }, (_, k) => `${field}-${k + 1}`);
}

/** An event type no catalog metric counts. */
export function unknownEventType(catalog: Catalog): string {
  const known = new Set(metricEntries(catalog).map(([, m]) => m.event));
  let type = "not in the catalog";
  while (known.has(type)) type += "!";
  return type;
}

/** One bad record of each kind the analyzer must reject, written for this catalog's fields. */
export function badRecords(catalog: Catalog, now: number): [reason: string, data: Buffer][] {
  const { typeField, timeField } = catalog.events;
  const type = eventShapes(catalog)[0]?.type ?? "event";
  const json = (event: unknown) => Buffer.from(JSON.stringify(event));
  const at = new Date(now).toISOString();
  return [
    ["not_json", Buffer.from(`{${typeField}: ${type}`)],
    ["bad_utf8", Buffer.from([0xc3, 0x28, 0x7b])],
    ["missing_field", json({ [timeField]: at })],
    ["wrong_type", json({ [typeField]: 7, [timeField]: at })],
    ["bad_timestamp", json({ [typeField]: type, [timeField]: "31/10/2015 12:34" })],
    ["outside_window", json({ [typeField]: type, [timeField]: new Date(now - 30 * 86_400_000).toISOString() })],
    ["unknown_event", json({ [typeField]: unknownEventType(catalog), [timeField]: at })],
    ["not_object", Buffer.from("[1,2,3]")],
  ];
}

/**
 * `count` records whose timestamps spread over the `spanMs` before `now`; about `badRatio` of
 * them are bad. Earlier event types are more frequent (weights 1, 1/2, 1/3, ...). Timestamps
 * are ISO 8601 without a zone (UTC), as the reference producer sends.
 */
export function produce(options: { catalog: Catalog; count: number; seed?: number; now?: number; spanMs?: number; badRatio?: number }): ProducedRecord[] {
  const random = seeded(options.seed ?? 42);
  const now = options.now ?? Date.now();
  const span = options.spanMs ?? 5 * 60_000;
  const badRatio = options.badRatio ?? 0.02;
  const { typeField, timeField } = options.catalog.events;
  const shapes = eventShapes(options.catalog);
  const weights = shapes.map((_, i) => 1 / (i + 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const bad = badRecords(options.catalog, now);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const out: ProducedRecord[] = [];
  for (let i = 0; i < options.count; i++) {
    const partitionKey = `user-${Math.floor(random() * 10_000)}`;
    if (random() < badRatio) {
      const [reason, data] = pick(bad);
      out.push({ data, partitionKey, badBecause: reason });
      continue;
    }
    let roll = random() * totalWeight;
    let k = 0;
    while (k < shapes.length - 1 && roll >= weights[k]) roll -= weights[k++];
    const shape = shapes[k];
    const event: Record<string, unknown> = { [typeField]: shape.type, [timeField]: new Date(now - Math.floor(random() * span)).toISOString().slice(0, 23) };
    for (const d of shape.dimensions) event[d] = pick(shape.values[d]);
    for (const s of shape.sums) event[s] = Math.round(random() * 10_000) / 100;
    out.push({ data: Buffer.from(JSON.stringify(event)), partitionKey, event });
  }
  return out;
}
