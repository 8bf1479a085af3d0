/**
 * The live app's files for one pipeline: the browser code bundled with esbuild (Chart.js
 * included), the styles, and index.html with the pipeline's model inside. Content-addressed
 * names and deterministic bytes: an unchanged app uploads nothing and shows no diff in preview.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import type { LiveModel } from "../catalog/live";

const ROOT = path.resolve(__dirname, "..");

/** One file of the site, as the bucket (or the local server) serves it. */
export interface SiteFile {
  /** The path under the site's root, without a leading slash. */
  readonly path: string;
  readonly contentType: string;
  readonly cacheControl: string;
  readonly content: string;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
/** The page and its config are looked at again on every load, so a deploy shows at once. */
export const REVALIDATE = "no-cache";

const bundles = new Map<string, string>();

/** A browser entry point of web/ bundled with everything it imports (Chart.js among it), once per process. */
export function bundleBrowserCode(entry: "main.ts" | "dashboardPreview.ts"): string {
  const cached = bundles.get(entry);
  if (cached !== undefined) return cached;
  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [path.join("web", entry)],
    bundle: true,
    platform: "browser",
    format: "iife",
    target: ["es2020", "chrome100", "safari15", "firefox100"],
    minify: true,
    legalComments: "none",
    sourcemap: false,
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  bundles.set(entry, code);
  return code;
}

/** The charts' styles, shared by the live app and the local dashboard preview. */
export const chartStyles = (): string => fs.readFileSync(path.join(ROOT, "web", "charts.css"), "utf8");

/** The live app's bundle and styles: the same for every pipeline. */
export function browserBundle(): { js: string; css: string } {
  return { js: bundleBrowserCode("main.ts"), css: `${chartStyles()}${fs.readFileSync(path.join(ROOT, "web", "style.css"), "utf8")}` };
}

const hashed = (name: string, ext: string, content: string) => `${name}-${createHash("sha256").update(content).digest("hex").slice(0, 16)}.${ext}`;
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Every file of one pipeline's app; `config.json` is not among them (it holds deploy-time endpoints). */
export function webAppFiles(model: LiveModel): SiteFile[] {
  const { js, css } = browserBundle();
  const script = hashed("app", "js", js);
  const styles = hashed("app", "css", css);
  // JSON inside a script element: "<" escaped so no value can close the element.
  const data = JSON.stringify(model).replace(/</g, "\\u003c");
  const title = `${model.pipeline} · live counters · ${model.stack}`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${styles}">
<script type="application/json" id="model">${data}</script>
<script src="${script}" defer></script>
</head>
<body data-status="loading">
<noscript>This page needs JavaScript to show the live counters.</noscript>
</body>
</html>
`;
  return [
    { path: "index.html", contentType: "text/html; charset=utf-8", cacheControl: REVALIDATE, content: html },
    { path: script, contentType: "text/javascript; charset=utf-8", cacheControl: IMMUTABLE, content: js },
    { path: styles, contentType: "text/css; charset=utf-8", cacheControl: IMMUTABLE, content: css },
  ];
}
