import assert from "node:assert/strict";
import { type Catalog, CatalogError, catalogNames, defineCatalog, loadCatalog } from "../catalog";
import { CONFIG_KEYS, ConfigError, parseConfig, type PipelineConfig, PROJECT } from "../config";
import { FIXTURE_CATALOGS, fixtureCatalog } from "./fixtures";
import { projectFile, runProgram, stackConfig } from "./program";

/** The shipped catalogs, and the fixtures `web` and `shop` as if they were shipped beside them. */
const anyCatalog = (name: string) => (catalogNames(FIXTURE_CATALOGS).includes(name) ? fixtureCatalog(name) : loadCatalog(name));

/** Parses a stack's config the way index.ts does, with some keys changed; all its pipelines. */
function parseAll(overrides: Record<string, unknown>, stack = "dev"): PipelineConfig[] {
  const config = stackConfig(stack, overrides);
  return parseConfig((key) => config[`${PROJECT}:${key}`], anyCatalog);
}
/** The first pipeline's settings. */
const parse = (overrides: Record<string, unknown>, stack = "dev") => parseAll(overrides, stack)[0].settings;

function rejects(overrides: Record<string, unknown>, ...expected: RegExp[]) {
  assert.throws(
    () => parseAll(overrides),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      for (const pattern of expected) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe("stack config", () => {
  it("declares in Pulumi.yaml exactly the keys the program reads, with the same types and a default each", () => {
    const schema = projectFile().config;
    assert.deepEqual(Object.keys(schema).sort(), Object.keys(CONFIG_KEYS).sort());
    for (const [key, type] of Object.entries(CONFIG_KEYS)) {
      assert.equal(schema[key].type, type, key);
      assert.notEqual(schema[key].default, undefined, `${key} has no default`);
    }
  });

  it("deploys several pipelines, each with its own catalog and its own thresholds", () => {
    // Act
    const pipelines = parseAll({ pipelines: ["analytics", "shop"], alarmThresholds: ["pageViews.low=3", "shop/orders.none=2", "orders.none=4"] });
    // Assess
    assert.deepEqual(pipelines.map((p) => [p.name, p.catalog.namespace]), [["analytics", loadCatalog("analytics").namespace], ["shop", "ShopFixture"]]);
    assert.deepEqual(pipelines[0].settings.alarmThresholds, { "pageViews.low": 3 });
    assert.deepEqual(pipelines[1].settings.alarmThresholds, { "orders.none": 4 });
    assert.equal(pipelines[1].settings.analyzer.mapping.batchSize, pipelines[0].settings.analyzer.mapping.batchSize);
  });

  /** Parses the dev stack with `pipelines` served by `load` instead of the catalog folder. */
  const parseWith = (pipelines: string[], load: (name: string) => Catalog, overrides: Record<string, unknown> = {}) => {
    const config = stackConfig("dev", { ...overrides, pipelines, alarmThresholds: [] });
    return parseConfig((key) => config[`${PROJECT}:${key}`], load);
  };

  it("refuses two pipelines whose catalogs share a namespace, since their metrics would mix", () => {
    assert.throws(() => parseWith(["a", "b"], () => fixtureCatalog("web")), /pipelines \[1\] "b": its catalog's namespace "WebFixture" is also "a"'s, so their metrics would mix/);
  });

  it("checks each catalog against the stack's granularity, naming the pipeline", () => {
    const minutely = defineCatalog({ namespace: "M", events: { typeField: "t", timeField: "at" }, metrics: { m: { event: "m", label: "M", alarms: { x: { below: 1, periodSeconds: 120, evaluationPeriods: 1 } } } } });
    assert.doesNotThrow(() => parseWith(["m"], () => minutely));
    assert.throws(
      () => parseWith(["m"], () => minutely, { granularity: "hour" }),
      (e: unknown) => e instanceof CatalogError && /catalog "m" has 1 problem\(s\):\n {2}- metric "m" alarm "x": period 120s is not a multiple of the 3600s bucket/.test(e.message),
    );
  });

  it("accepts the dev and prod stacks", () => {
    assert.equal(parse({}, "dev").analyzer.mapping.batchSize, 1000);
    assert.deepEqual(parse({}, "dev").dashboardViewers, ["dev-viewer@example.com"]);
    const prod = parse({}, "prod");
    assert.deepEqual(prod.dashboardViewers, ["analytics-team@example.com", "product@example.com"]);
    assert.equal(prod.stream.mode, "on-demand");
    assert.deepEqual(prod.alarmThresholds, { "pageViews.low": 50 });
  });

  const cases: [string, Record<string, unknown>, RegExp[]][] = [
    ["an email that isn't one", { alarmEmails: ["ops@example.com", "not-an-email"] }, [/realtime-analytics:alarmEmails \[1\] "not-an-email" is not an email address/, /Fix: pulumi config set --path 'alarmEmails\[1\]'/]],
    ["a duplicated email", { alarmEmails: ["a@example.com", "A@example.com"] }, [/alarmEmails lists an address twice/]],
    ["alarm emails that aren't a list", { alarmEmails: "ops@example.com" }, [/alarmEmails must be a list of strings/]],
    ["a dashboard viewer that isn't an email", { dashboardViewers: ["ann@example.com", "ann"] }, [/realtime-analytics:dashboardViewers \[1\] "ann" is not an email address/, /Fix: pulumi config set --path 'dashboardViewers\[1\]' someone@example.com/]],
    ["a dashboard viewer listed twice", { dashboardViewers: ["ann@example.com", "Ann@Example.com"] }, [/dashboardViewers lists an address twice/]],
    ["dashboard viewers that aren't a list", { dashboardViewers: "ann@example.com" }, [/dashboardViewers must be a list of strings. Fix: pulumi config set --path 'dashboardViewers\[0\]'/]],
    ["a negative threshold", { alarmThresholds: ["pageViews.low=-3"] }, [/alarmThresholds \[0\] "pageViews.low=-3": threshold must be a number of at least 0/]],
    ["a threshold that isn't a number", { alarmThresholds: ["pageViews.low=lots"] }, [/threshold must be a number/]],
    ["an alarm on a metric the catalog lacks", { alarmThresholds: ["pageView.low=5"] }, [/names metric "pageView", which the catalog lacks \(it has pageViews, clicks, .*\)/]],
    ["an alarm the metric doesn't have", { alarmThresholds: ["clicks.high=5"] }, [/metric "clicks" has no alarm "high" \(it has none\)/]],
    ["a malformed threshold entry", { alarmThresholds: ["pageViews low 5"] }, [/is not \[<pipeline>\/\]<metric>.<alarm>=<number>/]],
    ["a threshold for a pipeline the stack lacks", { alarmThresholds: ["shop/orders.none=5"] }, [/names pipeline "shop", which the stack lacks \(it has analytics\)/]],
    ["a threshold that two pipelines' catalogs both have", { pipelines: ["analytics", "web"], alarmThresholds: ["pageViews.low=5"] }, [/matches the pipelines analytics and web/, /Fix: say which: analytics\/pageViews.low=5/]],
    ["no pipeline", { pipelines: [] }, [/pipelines is empty/]],
    ["a pipeline without a catalog", { pipelines: ["analytics", "billing"] }, [/pipelines \[1\] "billing": no catalog "billing" in catalogs\/ \(there: analytics.*\)/]],
    ["a pipeline listed twice", { pipelines: ["analytics", "analytics"] }, [/pipelines \[1\] "analytics" is listed twice/]],
    ["a pipeline name no AWS name can hold", { pipelines: ["Analytics_Team"] }, [/pipelines \[0\] "Analytics_Team" is not a pipeline name/]],
    ["a pipeline name with a hyphen, which generated names use to join their parts", { pipelines: ["analytics", "shop-eu"] }, [/pipelines \[1\] "shop-eu" is not a pipeline name \(lowercase letters and digits/]],
    ["an unknown stream mode", { streamMode: "serverless" }, [/streamMode is "serverless", not one of provisioned, on-demand/]],
    ["zero shards", { shardCount: 0 }, [/shardCount is "0", must be a whole number from 1 to 500/, /Fix: pulumi config set shardCount 1/]],
    ["a fractional batch size", { analyzerBatchSize: 10.5 }, [/analyzerBatchSize is "10.5", must be a whole number/]],
    ["a batch size over Kinesis' limit", { analyzerBatchSize: 20000 }, [/analyzerBatchSize is "20000", must be a whole number from 1 to 10000/]],
    ["infinite retries", { maximumRetryAttempts: -1 }, [/maximumRetryAttempts is "-1", must be a whole number from 0 to 10000 \(finite/]],
    ["infinite record age", { maximumRecordAgeSeconds: -1 }, [/maximumRecordAgeSeconds is "-1"/]],
    ["a record age that outlasts forwarding", { maximumRecordAgeSeconds: 86_400 }, [/maximumRecordAgeSeconds is "86400", must be a whole number from 60 to 39600 \(so a counted change still reaches CloudWatch/]],
    // Issue 8, item 3: dev used 7 days, shorter than the 13 days an event may be late.
    ["a counter TTL shorter than the count window plus replay", { counterTtlDays: 7 }, [/counterTtlDays is 7, but a counter can still be written/, /Fix: pulumi config set counterTtlDays 16/]],
    ["a TTL that fits 24 h of retention but not 72", { counterTtlDays: 16, streamRetentionHours: 72 }, [/Fix: pulumi config set counterTtlDays 18/]],
    ["parallelization with exactly-once counters", { analyzerParallelizationFactor: 4 }, [/analyzerParallelizationFactor is 4, but exactly-once counters need per-shard order/]],
    ["a timeout too short for the batch", { analyzerBatchSize: 10000, analyzerTimeoutSeconds: 10 }, [/analyzerTimeoutSeconds is 10s, too short for a 10000-record batch \(needs at least 30s\)/]],
    ["a log retention CloudWatch doesn't offer", { logRetentionDays: 10 }, [/logRetentionDays is 10, which CloudWatch Logs does not offer/, /Fix: pulumi config set logRetentionDays 14/]],
    ["the old name of granularity", { bucket: "hour" }, [/realtime-analytics:bucket was renamed granularity. Fix: pulumi config rm bucket && pulumi config set granularity hour/]],
    ["a granularity that isn't minute or hour", { granularity: "day" }, [/granularity is "day", not one of minute, hour/]],
    ["an unknown counter mode", { counterMode: "twice" }, [/counterMode is "twice"/]],
    ["a non-boolean flag", { protectData: "yes" }, [/protectData is "yes", not true or false/]],
    ["a missing key", { shardCount: undefined }, [/shardCount is not set/]],
    ["an unknown starting position", { startingPosition: "AT_TIMESTAMP" }, [/startingPosition is "AT_TIMESTAMP"/]],
  ];
  for (const [what, overrides, expected] of cases) {
    it(`rejects ${what}, naming the key and the fix`, () => rejects(overrides, ...expected));
  }

  for (const key of Object.keys(CONFIG_KEYS).filter((k) => CONFIG_KEYS[k as keyof typeof CONFIG_KEYS] === "integer")) {
    it(`rejects a ${key} that isn't a whole number in range`, () => {
      rejects({ [key]: "many" }, new RegExp(`realtime-analytics:${key} is "many", must be a whole number from -?\\d+ to \\d+.*Fix: pulumi config set ${key} -?\\d+`));
      rejects({ [key]: -99999999999 }, new RegExp(`realtime-analytics:${key} is "-99999999999"`));
    });
  }

  it("gives every pipeline the stack's dashboard viewers, none by default", () => {
    const pipelines = parseAll({ pipelines: ["analytics", "shop"], alarmThresholds: [], dashboardViewers: ["ann@example.com", "bob@example.org"] });
    for (const p of pipelines) assert.deepEqual(p.settings.dashboardViewers, ["ann@example.com", "bob@example.org"]);
    assert.deepEqual(parse({ dashboardViewers: undefined }).dashboardViewers, []);
  });

  it("allows parallelization once exactly-once counting is off", () => {
    assert.equal(parse({ analyzerParallelizationFactor: 4, counterMode: "add" }).analyzer.mapping.parallelizationFactor, 4);
  });

  it("lists every problem at once", () => {
    rejects({ shardCount: 0, granularity: "day", alarmEmails: ["x"] }, /3 problem\(s\)/);
  });

  it("stops the program before any resource is declared", async () => {
    await assert.rejects(runProgram("dev", { alarmEmails: ["nope"] }), /alarmEmails \[0\] "nope" is not an email address/);
  });

  it("requires aws:region", async () => {
    await assert.rejects(runProgram("dev", { "aws:region": undefined }), /aws:region is not set/);
  });
});
