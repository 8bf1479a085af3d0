import assert from "node:assert/strict";
import {
  alarmProblems,
  analyzerRules,
  assertNoProblems,
  buildAlarms,
  buildDashboards,
  type Catalog,
  CatalogError,
  catalog,
  catalogProblems,
  defineCatalog,
  type MetricDef,
  type PipelineNames,
} from "../dashboards";

const names: PipelineNames<string> = {
  analyzerFunction: "an-fn",
  forwarderFunction: "fw-fn",
  analyzerDlq: "an-dlq",
  forwarderDlq: "fw-dlq",
  table: "counters",
  stream: "events",
};

const withMetrics = (metrics: Record<string, MetricDef>, extra: Partial<Catalog> = {}): Catalog =>
  defineCatalog({ namespace: "Test", events: { typeField: "type", timeField: "time" }, metrics, ...extra });

describe("the catalog", () => {
  it("ships a sound default catalog, with minute or hour buckets", () => {
    assert.deepEqual(catalogProblems(catalog), []);
    assert.deepEqual(catalogProblems(catalog, { bucket: "minute" }), []);
    assert.deepEqual(catalogProblems(catalog, { bucket: "hour" }), []);
  });

  it("gives an alarm without a period one datapoint per bucket", () => {
    const hourly = buildAlarms({ catalog, stack: "qa", names, bucket: "hour" });
    assert.equal(hourly.find((a) => a.name === "qa-pageViews-low")!.period, 3600);
    assert.equal(buildAlarms({ catalog, stack: "qa", names }).find((a) => a.name === "qa-donations-stalled")!.period, 60);
  });

  it("rejects at compile time an alarm with two bounds", () => {
    // @ts-expect-error: below and above together are not an AlarmDef
    withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, above: 2, periodSeconds: 60, evaluationPeriods: 1 } } } });
  });

  const cases: [string, Catalog, RegExp][] = [
    ["an AWS namespace", withMetrics({ a: { event: "a", label: "A" } }, { namespace: "AWS/Lambda" }), /namespace "AWS\/Lambda": must be 1-255 characters and must not start with "AWS\/"/],
    ["no metrics", withMetrics({}), /the catalog has no metric/],
    ["a bad metric id", withMetrics({ "page-views": { event: "a", label: "A" } }), /metric "page-views": ids are letters, digits and _/],
    ["a reserved metric id", withMetrics({ analyzer: { event: "a", label: "A" } }), /metric "analyzer": the id is reserved/],
    ["two metrics with one CloudWatch name", withMetrics({ d: { event: "a", label: "A", sum: "amount" }, dAmount: { event: "b", label: "B" } }), /CloudWatch metric name "dAmount" is also produced by "d"/],
    ["the rejected-records name", withMetrics({ RejectedRecords: { event: "a", label: "A" } }), /"RejectedRecords" is also produced by "\(pipeline\)"/],
    ["too many dimensions", withMetrics({ a: { event: "a", label: "A", dimensions: Array.from({ length: 31 }, (_, i) => `d${i}`) } }), /metric "a": 31 dimensions, CloudWatch allows 30 per metric/],
    ["a dimension on the type field", withMetrics({ a: { event: "a", label: "A", dimensions: ["type"] } }), /field "type" must be non-empty and not the event type or time field/],
    ["an alarm window over a day", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 3600, evaluationPeriods: 25 } } } }), /metric "a" alarm "x": period × evaluationPeriods = 90000s exceeds CloudWatch's 86400s/],
    ["more datapoints than periods", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 60, evaluationPeriods: 2, datapointsToAlarm: 3 } } } }), /datapointsToAlarm 3 must be between 1 and evaluationPeriods \(2\)/],
    ["an odd period", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 45, evaluationPeriods: 1 } } } }), /period 45s must be 10, 30 or a multiple of 60/],
    ["a period shorter than the bucket", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 60, evaluationPeriods: 1 } } } }, { bucket: "hour" }), /period 60s is not a multiple of the 3600s bucket/],
    ["a sum alarm without a sum", withMetrics({ a: { event: "a", label: "A", alarms: { x: { above: 1, series: "sum", periodSeconds: 60, evaluationPeriods: 1 } } } }), /watches the sum but the metric sums no field/],
    ["the same field for type and time", withMetrics({ a: { event: "a", label: "A" } }, { events: { typeField: "t", timeField: "t" } }), /typeField and timeField must be two different, non-empty field names/],
    ["an unknown bucket", withMetrics({ a: { event: "a", label: "A" } }, { bucket: "day" as "hour" }), /bucket "day": use "minute" or "hour"/],
    ["an empty event type", withMetrics({ a: { event: "", label: "A" } }), /metric "a": event must be a non-empty event type/],
    ["an empty label", withMetrics({ a: { event: "a", label: "" } }), /metric "a": label must be non-empty/],
    ["a dimension listed twice", withMetrics({ a: { event: "a", label: "A", dimensions: ["p", "p"] } }), /metric "a": a dimension is listed twice/],
    ["zero evaluation periods", withMetrics({ a: { event: "a", label: "A", alarms: { x: { below: 1, periodSeconds: 60, evaluationPeriods: 0 } } } }), /evaluationPeriods must be a whole number of at least 1/],
    ["a non-finite bound", withMetrics({ a: { event: "a", label: "A", alarms: { x: { above: Number.NaN, periodSeconds: 60, evaluationPeriods: 1 } } } }), /give exactly one finite bound/],
  ];
  for (const [what, bad, expected] of cases) {
    it(`rejects ${what}, naming the metric`, () => {
      const problems = catalogProblems(bad);
      assert.ok(problems.some((p) => expected.test(p)), problems.join("\n"));
      assert.throws(() => assertNoProblems("the metric catalog", problems), CatalogError);
    });
  }

  it("turns the catalog into analyzer rules: a total per metric and a split per dimension set", () => {
    const rules = analyzerRules({ catalog });
    assert.deepEqual(Object.keys(rules.byEvent).sort(), ["click", "donation", "impression", "page view"]);
    assert.deepEqual(rules.byEvent.donation, [
      { metric: "donations", dimensions: [], sum: "amount" },
      { metric: "donations", dimensions: ["platform"], sum: "amount" },
    ]);
    assert.equal(rules.bucketSeconds, 60);
    assert.equal(analyzerRules({ catalog, bucket: "hour" }).bucketSeconds, 3600);
    assert.equal(rules.byEvent["__proto__"], undefined);
  });
});

describe("alarms from the catalog", () => {
  it("names alarms <stack>-<metric>-<alarm> and applies threshold overrides", () => {
    const alarms = buildAlarms({ catalog, stack: "qa", names, thresholds: { "pageViews.low": 7 } });
    const low = alarms.find((a) => a.name === "qa-pageViews-low")!;
    assert.equal(low.threshold, 7);
    assert.equal(low.datapointsToAlarm, 3);
    assert.equal(alarms.find((a) => a.name === "qa-donations-stalled")!.threshold, 1);
    assert.deepEqual(alarmProblems(alarms, { actions: 1 }), []);
  });

  it("refuses more than five actions and duplicate names", () => {
    const alarms = buildAlarms({ catalog, stack: "qa", names });
    assert.ok(alarmProblems(alarms, { actions: 6 }).some((p) => /6 actions, CloudWatch allows 5/.test(p)));
    assert.ok(alarmProblems([alarms[0], alarms[0]], { actions: 1 }).some((p) => /generated twice/.test(p)));
  });

  it("watches rejected records over a period no shorter than the bucket", () => {
    const hourly = buildAlarms({ catalog: { ...catalog, bucket: "hour" }, stack: "qa", names });
    assert.equal(hourly.find((a) => a.name === "qa-analyzer-rejected-records")!.period, 3600);
  });
});

describe("dashboards from the catalog", () => {
  it("splits past 500 widgets instead of failing, each dashboard within the limit", () => {
    const metrics: Record<string, MetricDef> = {};
    for (let i = 0; i < 300; i++) metrics[`m${i}`] = { event: `e${i}`, label: `M${i}`, group: `G${i % 7}`, dimensions: ["d"] };
    const big = withMetrics(metrics);
    const alarms = buildAlarms({ catalog: big, stack: "qa", names });
    const dashboards = buildDashboards({ catalog: big, stack: "qa", region: "eu-west-1", names, alarms });
    assert.equal(dashboards.length, 2);
    assert.deepEqual(dashboards.map((d) => d.name), ["qa-Test", "qa-Test-2"]);
    const widgets = dashboards.flatMap((d) => d.body.widgets);
    assert.ok(dashboards.every((d) => d.body.widgets.length <= 500));
    assert.equal(widgets.filter((w) => w.type === "metric").length, 300 * 2 + 7);
    for (const d of dashboards) {
      for (const w of d.body.widgets) assert.ok(w.x >= 0 && w.x + w.width <= 24 && w.y >= 0);
    }
  });

  it("lays widgets out without overlap", () => {
    const [dashboard] = buildDashboards({ catalog, stack: "qa", region: "eu-west-1", names, alarms: buildAlarms({ catalog, stack: "qa", names }) });
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
});
