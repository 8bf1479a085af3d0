/**
 * The page's copy of the counter table over the range it shows: counter parts as the snapshot
 * and the pushes carry them, each kept at its newest mark, added up per counter and bucket on
 * demand. Plain data in, plain data out: the same code runs in the browser and in the tests.
 */
import { addDecimals } from "../catalog/decimal";
import { type LivePart, partId, supersedes } from "../catalog/live";

/** One bucket of a series as people read it. */
export interface Point {
  /** The bucket's start, epoch ms. */
  readonly x: number;
  readonly count: number;
  /** The exact decimal sum, when the metric sums a field. */
  readonly sum?: string;
}

export class PartStore {
  private readonly parts = new Map<string, LivePart>();

  /** Keeps each part that is newer than the one held; returns how many changed what is held. */
  apply(parts: readonly LivePart[]): number {
    let changed = 0;
    for (const part of parts) {
      const id = partId(part);
      const held = this.parts.get(id);
      if (!supersedes(part, held)) continue;
      if (held !== undefined && held.count === part.count && held.sum === part.sum && held.mark === part.mark) continue;
      this.parts.set(id, part);
      changed++;
    }
    return changed;
  }

  /** Holds exactly these parts: a snapshot, which is the table as it was read. */
  reset(parts: readonly LivePart[]): void {
    this.parts.clear();
    this.apply(parts);
  }

  /** Forgets the parts of buckets that started before `fromMs`: the range moved past them. */
  forgetBefore(fromMs: number): void {
    for (const [id, part] of this.parts) if (Date.parse(part.bucket) < fromMs) this.parts.delete(id);
  }

  get size(): number {
    return this.parts.size;
  }

  /**
   * One counter key's buckets from `fromMs` to `lastMs` (both starts included), every bucket
   * present: a bucket without a counter had no events, a true zero, so the time axis stays even.
   */
  series(key: string, o: { fromMs: number; lastMs: number; bucketMs: number }): Point[] {
    const byBucket = new Map<number, { count: number; sum?: string }>();
    for (const part of this.parts.values()) {
      if (part.key !== key) continue;
      const x = Date.parse(part.bucket);
      if (x < o.fromMs || x > o.lastMs) continue;
      const seen = byBucket.get(x);
      const sum = part.sum === undefined ? seen?.sum : seen?.sum === undefined ? part.sum : addDecimals(seen.sum, part.sum);
      byBucket.set(x, { count: (seen?.count ?? 0) + part.count, ...(sum === undefined ? {} : { sum }) });
    }
    const points: Point[] = [];
    for (let x = o.fromMs; x <= o.lastMs; x += o.bucketMs) points.push({ x, count: 0, ...byBucket.get(x) });
    return points;
  }

  /** The counter keys held for a metric, with their dimension values. */
  keysOf(metric: string): { key: string; dims: Readonly<Record<string, string>> }[] {
    const keys = new Map<string, Readonly<Record<string, string>>>();
    for (const part of this.parts.values()) if (part.metric === metric && !keys.has(part.key)) keys.set(part.key, part.dims);
    return [...keys].map(([key, dims]) => ({ key, dims }));
  }
}

/** A series' totals over its points: the count, and the exact sum when it has one. */
export function totals(points: readonly Point[]): { count: number; sum?: string } {
  let count = 0;
  let sum: string | undefined;
  for (const p of points) {
    count += p.count;
    if (p.sum !== undefined) sum = sum === undefined ? p.sum : addDecimals(sum, p.sum);
  }
  return { count, ...(sum === undefined ? {} : { sum }) };
}
