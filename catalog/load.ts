import * as fs from "node:fs";
import * as path from "node:path";
import type { Catalog } from "./schema";

/** Shipped catalogs live here, one file per catalog, each exporting `catalog`. */
export const CATALOG_DIR = path.join(__dirname, "catalogs");

/**
 * Catalog (and pipeline) names: short, lowercase letters and digits, safe in every AWS resource
 * name (S3 bucket names take no `_`). No `-`: generated names join parts with it, so two
 * pipelines' alarm or dashboard names could otherwise meet (`shop` + `eu-orders` and `shop-eu` +
 * `orders`).
 */
export const CATALOG_NAME = /^[a-z][a-z0-9]{0,19}$/;

/** The names of the catalogs in `dir`, from their file names. */
export function catalogNames(dir = CATALOG_DIR): string[] {
  const names = fs
    .readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
    .map((f) => f.replace(/\.(ts|js)$/, ""))
    .filter((n) => CATALOG_NAME.test(n));
  return [...new Set(names)].sort();
}

/** Loads `<dir>/<name>.ts`'s `catalog` export; throws naming the catalogs that exist. */
export function loadCatalog(name: string, dir = CATALOG_DIR): Catalog {
  const known = catalogNames(dir);
  if (!known.includes(name)) {
    throw new Error(`no catalog "${name}" in ${path.basename(dir)}/ (there: ${known.join(", ") || "none"}); add ${path.basename(dir)}/${name}.ts exporting \`catalog\``);
  }
  const loaded = (require(path.join(dir, name)) as { catalog?: Catalog }).catalog;
  if (loaded === undefined || typeof loaded !== "object" || typeof loaded.namespace !== "string" || typeof loaded.metrics !== "object") {
    throw new Error(`${path.basename(dir)}/${name}.ts must export \`catalog\` = defineCatalog({ namespace, events, metrics })`);
  }
  return loaded;
}
