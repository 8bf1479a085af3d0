import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { RecordingMocks } from "./mocks";

export const ROOT = path.resolve(__dirname, "..");

interface ProjectFile {
  name: string;
  config: Record<string, { type: string; default?: unknown }>;
}

export function projectFile(): ProjectFile {
  return parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

/**
 * The config the Pulumi CLI would hand the program for a stack: Pulumi.yaml's defaults under
 * the project's namespace, then the stack file's values, then `overrides`. Values are strings,
 * structured ones JSON, as the CLI passes them.
 */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
  const project = projectFile();
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(project.config)) {
    if (schema.default !== undefined) values[`${project.name}:${key}`] = schema.default;
  }
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(file)) Object.assign(values, (parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config);
  for (const [key, value] of Object.entries(overrides)) {
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    if (value === undefined) delete values[full];
    else values[full] = value;
  }
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  return config;
}

export interface ProgramRun {
  readonly mocks: RecordingMocks;
  readonly exports: Record<string, unknown>;
}

function forgetProjectModules(): void {
  for (const id of Object.keys(require.cache)) {
    if (id.startsWith(ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[id];
  }
}

async function settle(mocks: RecordingMocks): Promise<void> {
  let last = -1;
  while (mocks.resources.length !== last) {
    last = mocks.resources.length;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs index.ts under mocks for a stack and returns what it declared and exported. */
export async function runProgram(stack: string, overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
  const mocks = new RecordingMocks();
  pulumi.runtime.setAllConfig(stackConfig(stack, overrides));
  await pulumi.runtime.setMocks(mocks, projectFile().name, stack, false);
  forgetProjectModules();
  const exports = require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exports)) {
    resolved[key] = pulumi.Output.isInstance(value) ? await new Promise((r) => (value as pulumi.Output<unknown>).apply(r)) : value;
  }
  await settle(mocks);
  return { mocks, exports: resolved };
}
