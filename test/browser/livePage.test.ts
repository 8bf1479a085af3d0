/**
 * The live app in headless Chromium, against `npm start -- --serve`: the page shows the counter
 * table's totals, follows new events without a reload, rides out a dropped push channel by
 * refetching what it missed, and fits a 390 px wide phone.
 */
import * as assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable, Writable } from "node:stream";
import { type DynamoDBClient, paginateScan } from "@aws-sdk/client-dynamodb";
import { type KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { type Browser, type BrowserContext, chromium, type Page, type WebSocketRoute } from "playwright-core";
import { metricEntries } from "../../catalog";
import { addDecimals } from "../../catalog/decimal";
import { decodeCounter } from "../../catalog/item";
import { dynamoClients, kinesisClient } from "../../local/clients";
import { eventShapes } from "../../local/producer";
import { readStack } from "../../local/stackConfig";

const ROOT = path.resolve(__dirname, "..", "..");
const START = path.join(ROOT, "local", "start.cjs");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = process.env.LIVE_SCREENSHOTS;

// npm start runs the dev stack's first pipeline: the page and this test follow its catalog.
const pipeline = readStack("dev").pipelines[0];
const catalog = pipeline.catalog;
const metricIds = metricEntries(catalog).map(([id]) => id);

interface Serving {
  url: string;
  kinesisEndpoint: string;
  streamName: string;
  dynamoEndpoint: string;
  tableName: string;
}

/** Starts the run with a pipe for its input (closing it stops the run) and waits for it to serve. */
function startServing(outDir: string): { child: ChildProcessByStdio<Writable, Readable, Readable>; serving: Promise<Serving>; output: () => string } {
  const child = spawn(process.execPath, [START, path.join(ROOT, "local", "run.ts"), "--count", "2000", "--serve", "--port", "0", "--out", outDir], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const serving = new Promise<Serving>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const url = /^live app: (\S+) stays up/m.exec(stdout);
      const kinesis = /^ {2}put more events: Kinesis at (\S+), stream (\S+) /m.exec(stdout);
      const dynamo = /^ {2}the counters: DynamoDB Local at (\S+), table (\S+)$/m.exec(stdout);
      if (url && kinesis && dynamo) resolve({ url: url[1], kinesisEndpoint: kinesis[1], streamName: kinesis[2], dynamoEndpoint: dynamo[1], tableName: dynamo[2] });
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => reject(new Error(`the run exited (${code}) before it served:\n${stdout}\n${stderr}`)));
  });
  return { child, serving, output: () => `${stdout}\n${stderr}` };
}

/** The run stopped by closing its input (it then exits 0), or by Ctrl-C when it doesn't within a minute. */
async function stopServing(child: ChildProcessByStdio<Writable, Readable, Readable>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdin.end();
  const interrupt = setTimeout(() => child.kill("SIGINT"), 60_000);
  try {
    return await exited;
  } finally {
    clearTimeout(interrupt);
  }
}

/** Each catalog metric's totals over every bucket in the table, read straight from DynamoDB. */
async function tableTotals(dynamo: DynamoDBClient, tableName: string): Promise<Totals> {
  const totals = new Map(metricIds.map((id) => [id, { count: 0, sum: "0" }]));
  for await (const page of paginateScan({ client: dynamo }, { TableName: tableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      const counter = decodeCounter(item);
      const total = counter === undefined ? undefined : totals.get(counter.metric);
      if (counter === undefined || total === undefined || Object.keys(counter.dimensions).length > 0) continue;
      total.count += counter.count;
      if (counter.sumText !== undefined) total.sum = addDecimals(total.sum, counter.sumText);
    }
  }
  return totals;
}

/** What the page shows as each metric's totals over its range, exactly (`data-value`). */
async function pageTotals(page: Page): Promise<Map<string, { count: number; sum: string | undefined }>> {
  const shown = await page.evaluate((ids) => {
    const value = (card: Element | null, which: string) => card?.querySelector<HTMLElement>(`[data-total="${which}"]`)?.dataset.value;
    return ids.map((id) => {
      const card = document.querySelector(`.card[data-metric="${id}"]`);
      return [id, value(card, "count"), value(card, "sum")] as const;
    });
  }, metricIds);
  return new Map(shown.map(([id, count, sum]) => [id, { count: Number(count), sum }]));
}

type Totals = Map<string, { count: number; sum: string }>;
const sameTotals = (a: Totals, b: Totals) => metricIds.every((id) => a.get(id)!.count === b.get(id)!.count && addDecimals(a.get(id)!.sum, `-${b.get(id)!.sum}`) === "0");

/** Waits until the table holds `expected` (when given) and the page shows what the table holds, and returns it. */
async function totalsMatch(page: Page, dynamo: DynamoDBClient, tableName: string, timeoutMs: number, expected?: Totals): Promise<Totals> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const table = await tableTotals(dynamo, tableName);
    if (expected !== undefined && !sameTotals(table, expected)) {
      if (Date.now() > until) throw new Error(`the table holds ${JSON.stringify([...table])}, not yet ${JSON.stringify([...expected])}`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const shown = await pageTotals(page);
    const differences = metricIds.filter((id) => {
      const t = table.get(id)!;
      const s = shown.get(id)!;
      return s.count !== t.count || (s.sum !== undefined && addDecimals(s.sum, `-${t.sum}`) !== "0");
    });
    if (differences.length === 0) return table;
    if (Date.now() > until) {
      throw new Error(`the page shows ${differences.map((id) => `${id} ${JSON.stringify(shown.get(id))}`).join(", ")}; the table holds ${differences.map((id) => `${id} ${JSON.stringify(table.get(id))}`).join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Valid events for every event type of the catalog, `perType` each, stamped now. */
function freshEvents(perType: number, amount: string): { records: Buffer[]; byMetric: Totals } {
  const { typeField, timeField } = catalog.events;
  const records: Buffer[] = [];
  for (const shape of eventShapes(catalog)) {
    for (let i = 0; i < perType; i++) {
      const event: Record<string, unknown> = { [typeField]: shape.type, [timeField]: new Date().toISOString() };
      for (const d of shape.dimensions) event[d] = shape.values[d][i % shape.values[d].length];
      for (const s of shape.sums) event[s] = Number(amount);
      records.push(Buffer.from(JSON.stringify(event)));
    }
  }
  const byMetric: Totals = new Map();
  for (const [id, metric] of metricEntries(catalog)) {
    const n = eventShapes(catalog).some((s) => s.type === metric.event) ? perType : 0;
    let sum = "0";
    if (metric.sum !== undefined) for (let i = 0; i < n; i++) sum = addDecimals(sum, amount);
    byMetric.set(id, { count: n, sum });
  }
  return { records, byMetric };
}

const plus = (a: Totals, b: Totals): Totals => new Map(metricIds.map((id) => [id, { count: a.get(id)!.count + b.get(id)!.count, sum: addDecimals(a.get(id)!.sum, b.get(id)!.sum) }]));

async function putEvents(kinesis: KinesisClient, streamName: string, records: Buffer[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records.slice(i, i + 500).map((data, k) => ({ Data: data, PartitionKey: `live-${i + k}` })) }));
    assert.equal(out.FailedRecordCount ?? 0, 0, "every put record accepted");
  }
}

const status = (page: Page) => page.evaluate(() => document.body.dataset.status);
const counter = (page: Page, name: "snapshots" | "pushes") => page.evaluate((n) => Number(document.body.dataset[n] ?? 0), name);

describe("the live app in a browser, against npm start --serve", function () {
  this.timeout(300_000);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "live-app-"));
  let run: ReturnType<typeof startServing> | undefined;
  let at: Serving;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let dynamo: DynamoDBClient;
  let kinesis: KinesisClient;

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
    run = startServing(outDir);
    at = await run.serving;
    assert.match(at.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, "served on loopback only");
    dynamo = dynamoClients(at.dynamoEndpoint).dynamo;
    kinesis = kinesisClient(at.kinesisEndpoint);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    // tsx names the functions this file hands to page.evaluate with a helper of its own, __name; the page needs it too.
    context = await browser.newContext();
    await context.addInitScript("globalThis.__name = (f) => f;");
  });

  after(async function () {
    await browser?.close();
    dynamo?.destroy();
    kinesis?.destroy();
    if (run !== undefined) {
      const code = await stopServing(run.child);
      fs.rmSync(outDir, { recursive: true, force: true });
      assert.equal(code, 0, `the run stops cleanly when its input closes:\n${run.output().slice(-2000)}`);
    }
  });

  it("shows the table's totals, follows new events without a reload, and catches up after the push channel drops", async function () {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });

    // The push channel goes through the test, which can drop it and refuse it, as a network would.
    let outage = false;
    let connections = 0;
    const open = new Set<WebSocketRoute>();
    await page.routeWebSocket(/\/event\/realtime$/, (ws) => {
      if (outage) {
        void ws.close({ code: 1011, reason: "unreachable" });
        return;
      }
      connections++;
      const server = ws.connectToServer();
      open.add(ws);
      ws.onClose(() => {
        open.delete(ws);
        void server.close();
      });
    });

    await page.goto(at.url);
    await page.waitForSelector("body[data-status=live]", { timeout: 30_000 });
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const before = await totalsMatch(page, dynamo, at.tableName, 15_000);
    assert.ok([...before.values()].some((t) => t.count > 0), "the run counted something for the page to show");

    // More events: the publisher pushes the changed counters and the totals move, no reload.
    const pushesBefore = await counter(page, "pushes");
    const snapshotsBefore = await counter(page, "snapshots");
    const more = freshEvents(25, "2.50");
    const putAt = Date.now();
    await putEvents(kinesis, at.streamName, more.records);
    // Every new event counted once and each amount summed once, in the table and on the page.
    const after = await totalsMatch(page, dynamo, at.tableName, 30_000, plus(before, more.byMetric));
    console.log(`      the new totals on the page ${((Date.now() - putAt) / 1000).toFixed(1)} s after the put`);
    assert.ok((await counter(page, "pushes")) > pushesBefore, "the new totals came as pushes");
    assert.equal(await counter(page, "snapshots"), snapshotsBefore, "not from a refetched snapshot");
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, "and without a reload");
    assert.equal(await status(page), "live");

    // The push channel drops and stays down: the page says so, and events keep flowing meanwhile.
    outage = true;
    for (const ws of open) await ws.close({ code: 1001, reason: "network gone" });
    await page.waitForSelector("body[data-status=reconnecting]", { timeout: 10_000 });
    const shownBeforeOutage = await pageTotals(page);
    const missed = freshEvents(15, "1.25");
    await putEvents(kinesis, at.streamName, missed.records);
    const missedTotals = plus(after, missed.byMetric);
    const untilCounted = Date.now() + 30_000;
    while (!sameTotals(await tableTotals(dynamo, at.tableName), missedTotals)) {
      assert.ok(Date.now() < untilCounted, "the table counts the events put during the outage");
      await new Promise((r) => setTimeout(r, 250));
    }
    // The publisher has pushed them by now (the page refetches only on reconnect): the page missed them.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(await pageTotals(page), shownBeforeOutage, "nothing reached the page while its channel was down");
    assert.equal(await status(page), "reconnecting");

    // The channel comes back: the page resubscribes, refetches the snapshot and shows what it missed.
    const connectionsBefore = connections;
    outage = false;
    await page.waitForSelector("body[data-status=live]", { timeout: 60_000 });
    assert.ok(connections > connectionsBefore, "it reconnected");
    await totalsMatch(page, dynamo, at.tableName, 15_000, missedTotals);
    assert.ok((await counter(page, "snapshots")) > snapshotsBefore, "by refetching the snapshot");
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, "still without a reload");
    if (SCREENSHOTS !== undefined) await page.screenshot({ path: path.join(SCREENSHOTS, "live-app.png"), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("fits a 390 px wide phone: no chart, legend, axis or total clipped or overflowing", async function () {
    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await phone.addInitScript("globalThis.__name = (f) => f;");
    const page = await phone.newPage();
    await page.goto(at.url);
    await page.waitForSelector("body[data-status=live]", { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll("canvas[data-plot]").length > 0 && Number(document.body.dataset.snapshots ?? 0) > 0);
    const layout = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const problems: string[] = [];
      const name = (e: Element) => `${e.tagName.toLowerCase()}${e.className ? `.${String(e.className).replace(/ /g, ".")}` : ""}${e.closest(".card") ? ` in ${(e.closest(".card") as HTMLElement).dataset.metric}` : ""}`;
      const inside = (e: Element, box: DOMRect, what: string) => {
        const r = e.getBoundingClientRect();
        if (r.left < box.left - 0.5 || r.right > box.right + 0.5) problems.push(`${name(e)} spills out of ${what} (${r.left.toFixed(1)}..${r.right.toFixed(1)} in ${box.left.toFixed(1)}..${box.right.toFixed(1)})`);
      };
      if (document.documentElement.scrollWidth > width) problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide in ${width}`);
      const viewport = new DOMRect(0, 0, width, window.innerHeight);
      const cards = [...document.querySelectorAll(".card")];
      const charts = [...document.querySelectorAll<HTMLCanvasElement>("canvas")];
      for (const card of cards) {
        inside(card, viewport, "the screen");
        const box = card.getBoundingClientRect();
        for (const e of card.querySelectorAll("header, h3, .alarm, dl, dt, dd, figure, canvas, .legend, .legend li")) inside(e, box, "its card");
        for (const e of card.querySelectorAll<HTMLElement>("dd, dt, .legend li, .alarm, h3")) {
          if (e.scrollWidth > e.clientWidth + 1) problems.push(`${name(e)} clips its text (${e.scrollWidth} px in ${e.clientWidth})`);
        }
      }
      const plots = charts.map((canvas) => {
        const plot = JSON.parse(canvas.dataset.plot ?? "null") as { width: number; height: number; area: { left: number; right: number; top: number; bottom: number }; xTicks: number } | null;
        if (plot === null) {
          problems.push(`${name(canvas)} has no plot`);
          return 0;
        }
        const r = canvas.getBoundingClientRect();
        if (Math.abs(plot.width - r.width) > 1) problems.push(`${name(canvas)} draws ${plot.width} px into ${r.width.toFixed(1)}`);
        if (plot.area.left < 0 || plot.area.right > plot.width || plot.area.top < 0 || plot.area.bottom > plot.height) problems.push(`${name(canvas)}: the plot area leaves the canvas ${JSON.stringify(plot)}`);
        if (plot.area.right - plot.area.left < plot.width * 0.6) problems.push(`${name(canvas)}: the axes leave the plot ${plot.area.right - plot.area.left} of ${plot.width} px`);
        if (plot.xTicks < 2) problems.push(`${name(canvas)}: ${plot.xTicks} time axis labels`);
        return plot.xTicks;
      });
      return { problems, cards: cards.length, charts: charts.length, ticks: plots };
    });
    if (SCREENSHOTS !== undefined) await page.screenshot({ path: path.join(SCREENSHOTS, "live-app-phone.png") });
    await phone.close();
    assert.deepEqual(layout.problems, []);
    assert.ok(layout.cards >= metricIds.length, `a card per metric (${layout.cards})`);
    assert.ok(layout.charts >= layout.cards, `a chart per card (${layout.charts})`);
  });
});
