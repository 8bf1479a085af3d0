import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../local/stackConfig";

const START = path.join(ROOT, "local", "start.cjs");

/** Runs an entry through start.cjs, as `npm start` runs local/run.ts. */
const start = (entry: string, ...args: string[]) => spawnSync(process.execPath, [START, entry, ...args], { cwd: ROOT, encoding: "utf8" });

describe("npm start's launcher (local/start.cjs): one cached bundle, rebuilt when a source changes", function () {
  this.timeout(60_000);
  // Inside the project, as local/run.ts is: the bundle's cache key is the entry's path from the root.
  const dir = fs.mkdtempSync(path.join(ROOT, "out", "start-test-"));
  const entry = path.join(dir, "entry.ts");
  const helper = path.join(dir, "helper.ts");
  const cached = path.join(ROOT, "out", ".cache", "start", `${path.relative(ROOT, entry).replace(/[\\/]/g, "_").replace(/\.ts$/, "")}.cjs`);
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const file of [cached, cached.replace(/\.cjs$/, ".json")]) fs.rmSync(file, { force: true });
  });

  it("runs the entry with its arguments, its own __dirname, and a .ts file it loads at run time", () => {
    // Prepare: an entry that imports a helper and requires a .ts file by a path made at run time
    fs.writeFileSync(helper, `export const greeting = (name: string): string => \`hello \${name}\`;\n`);
    fs.writeFileSync(path.join(dir, "late.ts"), `export const late: number = 42;\n`);
    fs.writeFileSync(
      entry,
      // As catalog/load.ts loads a catalog: by an absolute path made from the source's own __dirname.
      `import * as path from "node:path";\nimport { greeting } from "./helper";\nconst late = require(path.join(__dirname, "late")) as { late: number };\nconsole.log(greeting(process.argv[2]), __dirname === ${JSON.stringify(dir)}, late.late);\n`,
    );
    // Act
    const run = start(entry, "world");
    // Assess
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), "hello world true 42");
    assert.ok(fs.existsSync(cached), "the bundle is kept in out/.cache/start");
  });

  it("reuses the bundle while the sources are unchanged, and rebuilds it when one changes", () => {
    // Prepare: the bundle from the test before, stamped so a rebuild shows
    const before = fs.statSync(cached).mtimeMs;
    fs.utimesSync(cached, new Date(before - 60_000), new Date(before - 60_000));
    const stamped = fs.statSync(cached).mtimeMs;
    // Act: once unchanged, then with the helper edited
    const same = start(entry, "again");
    const untouched = fs.statSync(cached).mtimeMs;
    fs.writeFileSync(helper, `export const greeting = (name: string): string => \`goodbye \${name}\`;\n`);
    const changed = start(entry, "world");
    // Assess
    assert.equal(same.stdout.trim(), "hello again true 42");
    assert.equal(untouched, stamped, "an unchanged entry is not bundled again");
    assert.equal(changed.status, 0, changed.stderr);
    assert.equal(changed.stdout.trim(), "goodbye world true 42");
    assert.notEqual(fs.statSync(cached).mtimeMs, stamped);
  });

  it("names the source's file and line in an error's stack, as tsx would", () => {
    fs.writeFileSync(helper, `export const greeting = (name: string): string => {\n  throw new Error(\`no greeting for \${name}\`);\n};\n`);
    const run = start(entry, "world");
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /no greeting for world/);
    assert.match(run.stderr, /helper\.ts:2/, run.stderr);
  });

  it("says what failed to build, and exits 1", () => {
    fs.writeFileSync(helper, `export const greeting = (name: string) => {\n`);
    const run = start(entry, "world");
    assert.equal(run.status, 1);
    assert.match(run.stderr, /could not build .*entry\.ts/);
  });
});
