/** The page's store of counter parts: which part wins, what a snapshot replaces, exact totals. */
import assert from "node:assert/strict";
import type { LivePart } from "../catalog/live";
import { PartStore, totals } from "../web/store";

const BUCKET = "2026-11-22T10:00:00.000Z";
const part = (shard: string, count: number, mark?: string, sum?: string): LivePart => ({ key: "donations", metric: "donations", dims: {}, bucket: BUCKET, shard, count, ...(sum === undefined ? {} : { sum }), ...(mark === undefined ? {} : { mark }) });
const window = { fromMs: Date.parse(BUCKET), lastMs: Date.parse(BUCKET), bucketMs: 60_000 };
const shown = (store: PartStore) => totals(store.series("donations", window));

describe("the live app's store of counter parts", () => {
  it("keeps each part at its newest mark: a late or repeated push changes nothing", () => {
    const store = new PartStore();
    assert.equal(store.apply([part("a", 10, "900", "10.10"), part("b", 5, "50", "0.05")]), 2);
    assert.equal(store.apply([part("a", 8, "899", "8.08")]), 0, "older mark");
    assert.equal(store.apply([part("a", 10, "900", "10.10")]), 0, "the same again");
    // Marks compare as numbers, not strings: "1000" is newer than "999".
    assert.equal(store.apply([part("b", 7, "1000", "0.07")]), 1);
    assert.deepEqual(shown(store), { count: 17, sum: "10.17" });
  });

  it("without marks (a bare ADD table), keeps the higher count", () => {
    const store = new PartStore();
    store.apply([part("a", 10)]);
    assert.equal(store.apply([part("a", 8)]), 0, "a stale read or a late push never moves a total back");
    assert.equal(store.apply([part("a", 12)]), 1);
    assert.equal(shown(store).count, 12);
  });

  it("takes a snapshot as the table's word: a part it doesn't confirm is gone", () => {
    const store = new PartStore();
    store.apply([part("a", 999, "9".repeat(60))]);
    store.reset([part("a", 10, "900")]);
    assert.equal(shown(store).count, 10);
    store.reset([]);
    assert.equal(store.size, 0);
  });
});
