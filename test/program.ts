import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { projectFile, ROOT, stackConfig } from "../local/stackConfig";
import { RecordingMocks } from "./mocks";

export { projectFile, ROOT, stackConfig };

export interface ProgramRun {
  readonly mocks: RecordingMocks;
  readonly exports: Record<string, unknown>;
}

function forgetProjectModules(): void {
  for (const id of Object.keys(require.cache)) {
    if (id.startsWith(ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[id];
  }
}

/** Waits until the program stops declaring resources. */
export async function settle(mocks: RecordingMocks): Promise<void> {
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
