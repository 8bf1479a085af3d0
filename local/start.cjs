/*
 * Runs a TypeScript entry point (`node local/start.cjs local/run.ts [args]`, what `npm start`
 * does) from one esbuild bundle kept under out/.cache/start/. The bundle is rebuilt when a source
 * it was built from changes (their contents are hashed at every start, a few milliseconds), so a
 * start loads one file instead of compiling and resolving every module as tsx does, seconds on a
 * small machine. Packages stay in node_modules, required as usual. A catalog is loaded by name at
 * run time (catalog/load.ts), so `.ts` files required outside the bundle are compiled on the way
 * in, as tsx would.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const CACHE = path.join(ROOT, "out", ".cache", "start");
const TARGET = `node${process.versions.node.split(".")[0]}`;

const [entryArg, ...args] = process.argv.slice(2);
if (entryArg === undefined) {
  console.error("usage: node local/start.cjs <entry.ts> [args...]");
  process.exit(2);
}
const entry = path.resolve(entryArg);
const name = path.relative(ROOT, entry).replace(/[\\/]/g, "_").replace(/\.ts$/, "");
const bundleFile = path.join(CACHE, `${name}.cjs`);
const manifestFile = path.join(CACHE, `${name}.json`);

/** What a bundle is built from besides its sources: this file (its options) and esbuild's version. */
function recipe() {
  return `${fs.readFileSync(__filename, "utf8")}\0${require("esbuild/package.json").version}\0${TARGET}\0${ROOT}`;
}

/** The hash of a set of sources, as read now; undefined when one is gone. */
function hashOf(inputs, read) {
  const hash = crypto.createHash("sha256").update(recipe());
  for (const input of inputs) {
    const contents = read(input);
    if (contents === undefined) return undefined;
    hash.update(`\0${input}\0`).update(contents);
  }
  return hash.digest("hex");
}

const readSource = (input) => {
  try {
    return fs.readFileSync(path.join(ROOT, input));
  } catch {
    return undefined;
  }
};

function isFresh() {
  try {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    return fs.existsSync(bundleFile) && manifest.hash === hashOf(manifest.inputs, readSource);
  } catch {
    return false;
  }
}

/**
 * Bundles the entry. Each source is read once, by the plugin, and hashed as read, so an edit made
 * during the build makes the next start build again. `__dirname` and `__filename` are each
 * source's own, as they are when tsx runs it, not the bundle's.
 */
async function build() {
  const esbuild = require("esbuild");
  const read = new Map();
  const sources = {
    name: "sources-as-read",
    setup(b) {
      b.onLoad({ filter: /\.(ts|js|cjs|json)$/ }, (a) => {
        if (a.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const contents = fs.readFileSync(a.path);
        read.set(path.relative(ROOT, a.path), contents);
        const ext = path.extname(a.path).slice(1);
        if (ext === "json") return { contents, loader: "json" };
        const text = contents
          .toString("utf8")
          .replace(/\b__dirname\b/g, JSON.stringify(path.dirname(a.path)))
          .replace(/\b__filename\b/g, JSON.stringify(a.path));
        return { contents: text, loader: ext === "ts" ? "ts" : "js" };
      });
    },
  };
  fs.mkdirSync(CACHE, { recursive: true });
  const temp = `${bundleFile}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    packages: "external",
    platform: "node",
    target: TARGET,
    format: "cjs",
    outfile: temp,
    logLevel: "error",
    metafile: false,
    // An unexpected error's stack names the sources' files and lines, as under tsx.
    sourcemap: "inline",
    plugins: [sources],
  });
  const inputs = [...read.keys()].sort();
  const hash = hashOf(inputs, (input) => read.get(input));
  // Renamed into place whole: a start running beside this one reads the old bundle or the new.
  fs.writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify({ entry: path.relative(ROOT, entry), hash, inputs }));
  fs.renameSync(temp, bundleFile);
  fs.renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
}

async function main() {
  if (!isFresh()) {
    try {
      await build();
    } catch (error) {
      console.error(`could not build ${path.relative(ROOT, entry)}: ${error.message}`);
      process.exit(1);
    }
  }
  require.extensions[".ts"] = (module, filename) => {
    const { code } = require("esbuild").transformSync(fs.readFileSync(filename, "utf8"), { loader: "ts", format: "cjs", target: TARGET, sourcefile: filename, sourcemap: "inline" });
    module._compile(code, filename);
  };
  process.argv = [process.argv[0], entry, ...args];
  process.setSourceMapsEnabled(true);
  require(bundleFile);
}

void main();
