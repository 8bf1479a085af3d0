import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";
import type { Catalog } from "../catalog/schema";

/** The project root: entry points and esbuild's output paths are relative to it, never absolute. */
const ROOT = path.resolve(__dirname, "..");

/** Each deployable function: the module and the factory that wires it from its environment and catalog. */
export const FUNCTIONS = {
  analyzer: { module: "./functions/analyzer/handler", factory: "analyzerHandler" },
  forwarder: { module: "./functions/forwarder/handler", factory: "forwarderHandler" },
  reconciler: { module: "./functions/reconciler/handler", factory: "reconcilerHandler" },
  archiver: { module: "./functions/archiver/handler", factory: "archiverHandler" },
  publisher: { module: "./functions/publisher/handler", factory: "publisherHandler" },
  snapshot: { module: "./functions/snapshot/handler", factory: "snapshotHandler" },
} as const;
export type FunctionKind = keyof typeof FUNCTIONS;

export interface Bundle {
  readonly code: string;
  readonly sha256: string;
}

/**
 * The generated entry of one pipeline's function: the factory called once per container with
 * the pipeline's catalog embedded as data, so the bundle counts exactly that catalog.
 */
function entrySource(kind: FunctionKind, catalog: Catalog): string {
  const { module, factory } = FUNCTIONS[kind];
  return `import { ${factory} } from "${module}";\nexport const handler = ${factory}(${JSON.stringify(catalog)});\n`;
}

const cache = new Map<string, Bundle>();

/**
 * Bundles one pipeline's function with esbuild, in process, at program time. The bytes depend
 * only on the sources, the catalog and the pinned esbuild, so an unchanged function shows no
 * diff in preview.
 */
export function bundleFunction(kind: FunctionKind, catalog: Catalog, options: { fresh?: boolean } = {}): Bundle {
  const contents = entrySource(kind, catalog);
  const cached = options.fresh ? undefined : cache.get(contents);
  if (cached) return cached;
  const result = buildSync({
    absWorkingDir: ROOT,
    stdin: { contents, resolveDir: ROOT, sourcefile: `${kind}.entry.ts`, loader: "ts" },
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    keepNames: true,
    legalComments: "none",
    sourcemap: false,
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  const bundle = { code, sha256: createHash("sha256").update(code).digest("hex") };
  cache.set(contents, bundle);
  return bundle;
}

/** The deployable archive: one `index.js`, so the handler is `index.handler`. */
export function functionArchive(kind: FunctionKind, catalog: Catalog): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(bundleFunction(kind, catalog).code) });
}
