import { CASES } from "./cases";
import { planBatch } from "../functions/analyzer/aggregate";
import { compare, ratio, fmt } from "./harness";
import type { BatchRecord } from "../functions/analyzer/aggregate";
const bareParse = (batch: readonly BatchRecord[]) => { let n = 0; for (const r of batch) n += (JSON.parse(Buffer.from(r.data, "base64").toString("utf8")) as object) === null ? 0 : 1; return n; };
(async () => {
  for (const c of CASES) for (const size of [1000, 5000]) {
    const batch = c.batch(size);
    const r = await compare([{ name: "floor", units: size, run: () => bareParse(batch) }, { name: "analyzer", units: size, run: () => planBatch(batch, c.rules) }], { rounds: 7 });
    console.log(c.id, size, fmt.spread(r.perUnit.floor), fmt.spread(r.perUnit.analyzer), fmt.spread(ratio(r.samples, "analyzer", "floor")));
  }
})();
