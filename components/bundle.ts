import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";

/** The project root: entry points and esbuild's output paths are relative to it, never absolute. */
const ROOT = path.resolve(__dirname, "..");

export interface Bundle {
  readonly code: string;
  readonly sha256: string;
}

const cache = new Map<string, Bundle>();

/**
 * Bundles one Lambda entry point with esbuild, in process, at program time. The bytes depend
 * only on the sources and the pinned esbuild, so an unchanged function shows no diff in preview.
 */
export function bundleFunction(entry: string, options: { fresh?: boolean } = {}): Bundle {
  const cached = options.fresh ? undefined : cache.get(entry);
  if (cached) return cached;
  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [entry],
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
  cache.set(entry, bundle);
  return bundle;
}

/** The deployable archive: one `index.js`, so the handler is `index.handler`. */
export function functionArchive(entry: string): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(bundleFunction(entry).code) });
}
