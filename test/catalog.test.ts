import assert from "node:assert/strict";
import { analyzerRules, assertNoProblems, type Catalog, CatalogError, type DimensionDef, describeSeries, seriesEstimate, catalogNames, catalogProblems, defineCatalog, type Granularity, loadCatalog, type MetricDef } from "../catalog";
import { alarmProblems, catalogAlarms, packDashboards, type PipelineResources, pipelineMonitoring, type Section } from "../dashboards";
import { bucketKey, type Counter, partKey, partRange, sumParts } from "../catalog/item";
import { fixtureCatalog } from "./fixtures";

const catalog = fixtureCatalog("web");
const resources: PipelineResources<string> = {
  stream: "events",
  table: "counters",
  functions: [
    { role: "analyzer", functionName: "an-fn", dlqName: "an-dlq" },
    { role: "forwarder", functionName: "fw-fn", dlqName: "fw-dlq" },
  ],
  reconciler: { functionName: "rc-fn" },
  archive: { deliveryStreamName: "archive-delivery", archiverFunctionName: "ar-fn", bufferSeconds: 300 },
};
const monitoring = (o: { catalog?: Catalog; granularity?: Granularity; thresholds?: Record<string, number> } = {}) =>
  pipelineMonitoring({ stack: "qa", pipeline: "web", catalog: o.catalog ?? catalog, granularity: o.granularity ?? "minute", region: "eu-west-1", resources, thresholds: o.thresholds, iteratorAgeMs: 60_000, rejectedThreshold: 1, reconcileEveryMinutes: 15 });

const withMetrics = (metrics: Record<string, MetricDef>, extra: Partial<Catalog> = {}): Catalog =>
  defineCatalog({ namespace: "Test", events: { typeField: "type", timeField: "time" }, metrics, ...extra });

describe("the catalog", () => {
  it("ships sound catalogs, at minute and hour granularity", () => {
    assert.ok(catalogNames().length > 0);
    for (const name of catalogNames()) {
      for (const granularity of ["minute", "hour"] as const) assert.deepEqual(catalogProblems(loadCatalog(name), { granularity }), [], `${name} at ${granularity}`);
    }
  });

  it("names the catalogs that exist when asked for one that doesn't", () => {
    assert.throws(() => loadCatalog("nope"), /no catalog "nope" in catalogs\/ \(there: analytics.*\); add catalogs\/nope.ts exporting `catalog`/);
  });

  it("gives an alarm without a period one datapoint per bucket", () => {
    assert.equal(monitoring({ granularity: "hour" }).alarms.find((a) => a.name === "qa-web-pageViews-low")!.period, 3600);
    assert.equal(monitoring().alarms.find((a) => a.name === "qa-web-donations-stalled")!.period, 60);
  });

  it("rejects at compile time an alarm with two bounds", () => {
    // @ts-expect-error: below and above together are not an AlarmDef
    withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, above: 2, periodSeconds: 60, evaluationPeriods: 1 } } } });
  });

  const cases: [string, Catalog, RegExp, Granularity?][] = [
    ["an AWS namespace", withMetrics({ a: { event: "a", label: "A" } }, { namespace: "AWS/Lambda" }), /namespace "AWS\/Lambda": must be 1-255 characters and must not start with "AWS\/"/],
    ["no metrics", withMetrics({}), /the catalog has no metric/],
    ["a bad metric id", withMetrics({ "page-views": { event: "a", label: "A" } }), /metric "page-views": ids are letters, digits and _/],
    ["a reserved metric id", withMetrics({ analyzer: { event: "a", label: "A" } }), /metric "analyzer": the id is reserved/],
    ["two metrics with one CloudWatch name", withMetrics({ d: { event: "a", label: "A", sum: "amount" }, dAmount: { event: "b", label: "B" } }), /CloudWatch metric name "dAmount" is also produced by "d"/],
    ["the rejected-records name", withMetrics({ RejectedRecords: { event: "a", label: "A" } }), /"RejectedRecords" is also produced by "\(pipeline\)"/],
    ["too many dimensions", withMetrics({ a: { event: "a", label: "A", dimensions: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`d${i}`, { maxValues: 5 }])) } }), /metric "a": 31 dimensions, CloudWatch allows 30 per metric/],
    ["a dimension on the type field", withMetrics({ a: { event: "a", label: "A", dimensions: { type: { maxValues: 5 } } } }), /field "type" must be non-empty and not the event type or time field/],
    ["an alarm window over a day", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 3600, evaluationPeriods: 25 } } } }), /metric "a" alarm "x": period × evaluationPeriods = 90000s exceeds CloudWatch's 86400s/],
    ["more datapoints than periods", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 60, evaluationPeriods: 2, datapointsToAlarm: 3 } } } }), /datapointsToAlarm 3 must be between 1 and evaluationPeriods \(2\)/],
    ["an odd period", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 45, evaluationPeriods: 1 } } } }), /period 45s must be 10, 30 or a multiple of 60/],
    ["a period shorter than the bucket", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 120, evaluationPeriods: 1 } } } }), /period 120s is not a multiple of the 3600s bucket/, "hour"],
    ["a sum alarm without a sum", withMetrics({ a: { event: "a", label: "A", alarms: { x: { above: 1, series: "sum", periodSeconds: 60, evaluationPeriods: 1 } } } }), /watches the sum but the metric sums no field/],
    ["the same field for type and time", withMetrics({ a: { event: "a", label: "A" } }, { events: { typeField: "t", timeField: "t" } }), /typeField and timeField must be two different, non-empty field names/],
    ["an empty event type", withMetrics({ a: { event: "", label: "A" } }), /metric "a": event must be a non-empty event type/],
    ["an empty label", withMetrics({ a: { event: "a", label: "" } }), /metric "a": label must be non-empty/],
    ["an unbounded dimension", withMetrics({ a: { event: "a", label: "A", dimensions: { p: {} as DimensionDef } } }), /metric "a" dimension "p": declare either its allowed values/],
    ["a cap of zero", withMetrics({ a: { event: "a", label: "A", dimensions: { p: { maxValues: 0 } } } }), /metric "a" dimension "p": maxValues 0 must be a whole number from 1 to 300/],
    ["a reserved allowed value", withMetrics({ a: { event: "a", label: "A", dimensions: { p: { values: ["x", "(other)"] } } } }), /allowed value "\(other\)" must be 1-1024 characters and not/],
    ["an allowed value listed twice", withMetrics({ a: { event: "a", label: "A", dimensions: { p: { values: ["x", "x"] } } } }), /metric "a" dimension "p": an allowed value is listed twice/],
    ["decimals without a sum", withMetrics({ a: { event: "a", label: "A", sumDecimals: 2 } }), /metric "a": sumDecimals 2 must be a whole number from 0 to 12, on a metric with a sum/],
    ["zero evaluation periods", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 60, evaluationPeriods: 0 } } } }), /evaluationPeriods must be a whole number of at least 1/],
    ["a non-finite bound", withMetrics({ a: { event: "a", label: "A", alarms: { x: { above: Number.NaN, periodSeconds: 60, evaluationPeriods: 1 } } } }), /give exactly one finite bound/],
  ];
  for (const [what, bad, expected, granularity = "minute"] of cases) {
    it(`rejects ${what}, naming the metric`, () => {
      const problems = catalogProblems(bad, { granularity });
      assert.ok(problems.some((p) => expected.test(p)), problems.join("\n"));
      assert.throws(() => assertNoProblems("the metric catalog", problems), CatalogError);
    });
  }

  it("says the most custom-metric series a catalog can produce, and their monthly cost (issue 8, item 7)", () => {
    // web: pageViews 1 + clicks 1 + donations (1 total + 6 platforms + (none) + (other)) × count and sum = 20;
    // the pipeline's own: CountedRecords 1, RejectedRecords 1 + 11 reasons, DimensionOverflow 1 + 1, the reconciler's 2.
    const estimate = seriesEstimate(catalog);
    assert.deepEqual(estimate, { catalog: 20, pipeline: 17, total: 37, monthlyUsd: 11.1 });
    assert.match(describeSeries("web", estimate), /pipeline web: at most 37 custom metric series \(20 from the catalog, 17 the pipeline's own\), \$11.10\/month/);
  });

  it("rejects an unknown granularity", () => {
    assert.deepEqual(catalogProblems(catalog, { granularity: "day" as "hour" }), ['granularity "day": use minute or hour']);
  });

  it("turns the catalog into analyzer rules: a total per metric and a split per dimension set", () => {
    const rules = analyzerRules({ catalog, granularity: "minute" });
    assert.deepEqual(Object.keys(rules.byEvent).sort(), ["click", "donation", "page view"]);
    assert.deepEqual(rules.byEvent.donation, [
      { metric: "donations", dimensions: [], bounds: [], sum: "amount", sumDecimals: 2 },
      { metric: "donations", dimensions: ["platform"], bounds: [{ values: new Set(["Web", "Facebook", "platform-1", "platform-2", "platform-3", "platform-4"]) }], sum: "amount", sumDecimals: 2 },
    ]);
    assert.equal(rules.bucketSeconds, 60);
    assert.equal(analyzerRules({ catalog, granularity: "hour" }).bucketSeconds, 3600);
    assert.equal(rules.byEvent["__proto__"], undefined);
  });
});

describe("a counter's parts, one per shard", () => {
  it("adds the parts of each counter up: counts, exact decimal sums and the latest change, keeping counters apart", () => {
    const part = (o: Partial<Counter> & { count: number }): Counter => ({ metric: "donations", dimensions: { platform: "Web" }, bucket: "2026-11-21T12:34:00.000Z", ...o });
    const counters = sumParts([
      part({ count: 2, sum: 0.1, sumText: "0.1", updatedAtMs: 1_000 }),
      part({ count: 1, sum: 0.2, sumText: "0.2", updatedAtMs: 3_000 }),
      part({ count: 4, dimensions: { platform: "iOS" }, sum: 1e21, sumText: "1000000000000000000000" }),
      part({ count: 5, sum: 1e21, sumText: "1000000000000000000000.05", updatedAtMs: 2_000 }),
      part({ count: 1, bucket: "2026-11-21T12:35:00.000Z", sumText: "7", sum: 7 }),
    ]);
    assert.deepEqual(
      counters.map((c) => [c.dimensions.platform, c.bucket.slice(11, 16), c.count, c.sumText, c.updatedAtMs]),
      [
        ["Web", "12:34", 8, "1000000000000000000000.35", 3_000],
        ["iOS", "12:34", 4, "1000000000000000000000", undefined],
        ["Web", "12:35", 1, "7", undefined],
      ],
    );
  });

  it("sorts every part of a bucket between the bucket's bounds, and no other bucket's", () => {
    const minute = 60_000;
    const t = Date.parse("2026-11-21T12:34:00.000Z");
    const range = partRange(t, t + minute);
    const inside = (sk: string) => sk >= range.from && sk <= range.to;
    for (const shard of ["shardId-000000000000", "shardId-999999999999", "replay-shardId-000000000001-4965"]) {
      assert.ok(inside(partKey(bucketKey(t), shard)) && inside(partKey(bucketKey(t + minute), shard)), shard);
      assert.ok(!inside(partKey(bucketKey(t - minute), shard)) && !inside(partKey(bucketKey(t + 2 * minute), shard)), shard);
    }
  });
});

describe("alarms from the catalog", () => {
  it("names alarms <stack>-<pipeline>-<metric>-<alarm> and applies threshold overrides", () => {
    const { alarms } = monitoring({ thresholds: { "pageViews.low": 7 } });
    const low = alarms.find((a) => a.name === "qa-web-pageViews-low")!;
    assert.equal(low.threshold, 7);
    assert.equal(low.datapointsToAlarm, 3);
    assert.equal(alarms.find((a) => a.name === "qa-web-donations-stalled")!.threshold, 1);
    assert.deepEqual(alarmProblems(alarms, { actions: 1 }), []);
    assert.ok(alarms.every((a) => a.name.startsWith("qa-web-")));
  });

  it("refuses more than five actions and duplicate names", () => {
    const { alarms } = monitoring();
    assert.ok(alarmProblems(alarms, { actions: 6 }).some((p) => /6 actions, CloudWatch allows 5/.test(p)));
    assert.ok(alarmProblems([alarms[0], alarms[0]], { actions: 1 }).some((p) => /generated twice/.test(p)));
  });

  it("watches rejected records over a period no shorter than the bucket", () => {
    assert.equal(monitoring({ granularity: "hour" }).alarms.find((a) => a.name === "qa-web-analyzer-rejected-records")!.period, 3600);
    assert.equal(monitoring().alarms.find((a) => a.name === "qa-web-analyzer-rejected-records")!.period, 300);
  });

  for (const granularity of ["minute", "hour"] as const) {
    it(`graphs every health alarm's own series: metric, dimensions, statistic and period (${granularity})`, () => {
      // Prepare
      const { alarms, dashboards } = monitoring({ granularity });
      const graphs = dashboards.flatMap((d) => d.body.widgets).filter((w) => w.type === "metric");
      // Act: every plain metric row as (namespace, metric, dimensions, stat, period), options falling back to the graph's.
      const rows = graphs.flatMap((g) =>
        g.properties.metrics
          .filter((row) => typeof row[0] === "string")
          .map((row) => {
            const options = (typeof row[row.length - 1] === "object" ? row[row.length - 1] : {}) as { stat?: string; period?: number };
            const [namespace, metricName, ...rest] = row.filter((v): v is string => typeof v === "string");
            const dimensions = Object.fromEntries(Array.from({ length: rest.length / 2 }, (_, i) => [rest[2 * i], rest[2 * i + 1]]));
            return { graph: g, key: JSON.stringify([namespace, metricName, dimensions, options.stat ?? g.properties.stat, options.period ?? g.properties.period]) };
          }),
      );
      // Assess
      const health = alarms.filter((a) => a.kind === "health");
      assert.equal(health.length, 15);
      for (const a of health) {
        const key = JSON.stringify([a.namespace, a.metricName, a.dimensions, a.statistic, a.period]);
        const shown = rows.filter((r) => r.key === key);
        assert.ok(shown.length > 0, `no graph shows the series of alarm ${a.name}: ${key}`);
        assert.ok(shown.some((r) => r.graph.properties.annotations?.horizontal.some((x) => x.label === a.name && x.value === a.threshold)), `${a.name}'s threshold is not drawn`);
      }
    });
  }
});

describe("dashboards from the catalog", () => {
  const big = (count: number, groups: number) => {
    const metrics: Record<string, MetricDef> = {};
    for (let i = 0; i < count; i++) metrics[`m${i}`] = { event: `e${i}`, label: `M${i}`, group: `G${i % groups}`, dimensions: { d: { maxValues: 5 } } };
    return withMetrics(metrics);
  };
  const headers = (widgets: readonly { type: string; properties: unknown }[]) => widgets.filter((w) => w.type === "text").map((w) => (w.properties as { markdown: string }).markdown);

  it("splits past 500 widgets at group boundaries, each dashboard within the limit", () => {
    // Prepare: 286 metrics in 7 groups, two graphs each: 572 graphs, plus the health sections.
    const { dashboards } = monitoring({ catalog: big(286, 7) });
    // Assess
    assert.deepEqual(dashboards.map((d) => d.name), ["qa-web", "qa-web-2"]);
    assert.ok(dashboards.every((d) => d.body.widgets.length <= 500));
    const widgets = dashboards.flatMap((d) => d.body.widgets);
    assert.equal(widgets.filter((w) => w.type === "metric").length, 286 * 2 + 14); // and fourteen health graphs
    // No group is cut: each header appears once, and the second dashboard holds whole groups.
    const all = dashboards.flatMap((d) => headers(d.body.widgets));
    assert.equal(new Set(all).size, all.length);
    // Six groups of 83 widgets fill the first; the seventh and the health sections go to the second.
    assert.deepEqual(headers(dashboards[0].body.widgets), ["## G0", "## G1", "## G2", "## G3", "## G4", "## G5"]);
    assert.deepEqual(headers(dashboards[1].body.widgets).slice(0, 2), ["## G6", "## Health: event stream"]);
    for (const d of dashboards) {
      for (const w of d.body.widgets) assert.ok(w.x >= 0 && w.x + w.width <= 24 && w.y >= 0);
    }
  });

  it("cuts a group only when it alone exceeds the limit, heading each part", () => {
    const sections: Section<string>[] = [
      { title: "small", graphs: Array.from({ length: 3 }, (_, i) => ({ title: `s${i}`, stat: "Sum", period: 60, metrics: [] })) },
      { title: "huge", graphs: Array.from({ length: 12 }, (_, i) => ({ title: `h${i}`, stat: "Sum", period: 60, metrics: [] })) },
    ];
    const dashboards = packDashboards({ name: "x", region: "eu-west-1", sections, maxWidgets: 5 });
    assert.deepEqual(
      dashboards.map((d) => headers(d.body.widgets)),
      [["## small"], ["## huge"], ["## huge (continued)"], ["## huge (continued)"]],
    );
    assert.deepEqual(dashboards.map((d) => d.body.widgets.length), [4, 5, 5, 5]);
  });

  it("lays widgets out without overlap", () => {
    const [dashboard] = monitoring().dashboards;
    const cells = new Set<string>();
    for (const w of dashboard.body.widgets) {
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          const cell = `${x},${y}`;
          assert.ok(!cells.has(cell), `overlap at ${cell}`);
          cells.add(cell);
        }
      }
    }
  });

  it("draws catalog alarm thresholds on their metric's graph", () => {
    const alarms = catalogAlarms({ catalog, prefix: "qa-web", granularity: "minute" });
    const graphs = monitoring().dashboards.flatMap((d) => d.body.widgets).filter((w) => w.type === "metric");
    for (const a of alarms) {
      assert.ok(graphs.some((g) => g.properties.annotations?.horizontal.some((x) => x.label === a.name && x.value === a.threshold)), a.name);
    }
  });
});
