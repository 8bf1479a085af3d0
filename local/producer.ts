/**
 * A synthetic producer: a realistic mix of the default catalog's events (page views, clicks,
 * impressions, donations per platform) plus a few bad records of every kind, from a seeded
 * generator so a run can be repeated exactly.
 */

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

export const PLATFORMS = ["Facebook", "Twitter", "Web", "Mobile"] as const;

const BAD: [string, (now: number) => Buffer][] = [
  ["not_json", () => Buffer.from("{event_type: page view")],
  ["bad_utf8", () => Buffer.from([0xc3, 0x28, 0x7b])],
  ["missing_field", (now) => Buffer.from(JSON.stringify({ utc_timestamp: new Date(now).toISOString() }))],
  ["wrong_type", (now) => Buffer.from(JSON.stringify({ event_type: 7, utc_timestamp: new Date(now).toISOString() }))],
  ["bad_timestamp", () => Buffer.from(JSON.stringify({ event_type: "click", utc_timestamp: "31/10/2015 12:34" }))],
  ["outside_window", (now) => Buffer.from(JSON.stringify({ event_type: "click", utc_timestamp: new Date(now - 30 * 86_400_000).toISOString() }))],
  ["unknown_event", (now) => Buffer.from(JSON.stringify({ event_type: "purchase", utc_timestamp: new Date(now).toISOString() }))],
  ["not_object", () => Buffer.from("[1,2,3]")],
];

/**
 * `count` records whose timestamps spread over the `spanMs` before `now`; about `badRatio` of
 * them are bad. Timestamps are ISO 8601 without a zone (UTC), as the reference producer sends.
 */
export function produce(options: { count: number; seed?: number; now?: number; spanMs?: number; badRatio?: number }): ProducedRecord[] {
  const random = seeded(options.seed ?? 42);
  const now = options.now ?? Date.now();
  const span = options.spanMs ?? 5 * 60_000;
  const badRatio = options.badRatio ?? 0.02;
  const out: ProducedRecord[] = [];
  for (let i = 0; i < options.count; i++) {
    const partitionKey = `user-${Math.floor(random() * 10_000)}`;
    if (random() < badRatio) {
      const [reason, make] = BAD[Math.floor(random() * BAD.length)];
      out.push({ data: make(now), partitionKey, badBecause: reason });
      continue;
    }
    const at = new Date(now - Math.floor(random() * span)).toISOString().slice(0, 23);
    const roll = random();
    let event: Record<string, unknown>;
    if (roll < 0.55) event = { event_type: "page view", utc_timestamp: at, page: `/p/${Math.floor(random() * 50)}` };
    else if (roll < 0.8) event = { event_type: "click", utc_timestamp: at };
    else if (roll < 0.95) event = { event_type: "impression", utc_timestamp: at };
    else {
      const platform = PLATFORMS[Math.floor(random() * PLATFORMS.length)];
      event = { event_type: "donation", utc_timestamp: at, platform, amount: Math.round(random() * 10_000) / 100 };
    }
    out.push({ data: Buffer.from(JSON.stringify(event)), partitionKey, event });
  }
  return out;
}
