import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { loadCatalog } from "../catalog/load";
import { parseConfig, type PipelineConfig, PROJECT } from "../config/stack";

/** The project root (this file lives one level below it). */
export const ROOT = path.resolve(__dirname, "..");

interface ProjectFile {
  name: string;
  config: Record<string, { type: string; default?: unknown }>;
}

export function projectFile(): ProjectFile {
  return parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

/** A stack name with no `Pulumi.<name>.yaml` beside Pulumi.yaml. */
export class StackError extends Error {
  constructor(
    readonly stackName: string,
    readonly known: readonly string[],
  ) {
    super(`there is no stack "${stackName}" (no Pulumi.${stackName}.yaml at the project root); the stacks are ${known.join(", ") || "none"}`);
    this.name = "StackError";
  }
}

/** The stacks this project has a config file for, by name, sorted. */
export function stacks(): string[] {
  return fs
    .readdirSync(ROOT)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

/**
 * The config the Pulumi CLI would hand the program for a stack: Pulumi.yaml's defaults under
 * the project's namespace, then the stack file's values, then `overrides`. Values are strings,
 * structured ones JSON, as the CLI passes them. Throws a StackError for a stack without a file:
 * running on the defaults alone would hide a mistyped name.
 */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
  // Matched against the listing rather than tested with existsSync, so a name like "../x" can't reach outside.
  const known = stacks();
  if (!known.includes(stack)) throw new StackError(stack, known);
  const project = projectFile();
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(project.config)) {
    if (schema.default !== undefined) values[`${project.name}:${key}`] = schema.default;
  }
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  Object.assign(values, (parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config);
  for (const [key, value] of Object.entries(overrides)) {
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    if (value === undefined) delete values[full];
    else values[full] = value;
  }
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  return config;
}

/** A stack's pipelines, validated exactly as the program validates them, and its region. */
export function readStack(stack: string, overrides: Record<string, unknown> = {}): { pipelines: PipelineConfig[]; region?: string } {
  const config = stackConfig(stack, overrides);
  return { pipelines: parseConfig((key) => config[`${PROJECT}:${key}`], (name) => loadCatalog(name)), region: config["aws:region"] };
}

/**
 * A deployed stack's outputs: `pulumi stack output --json --stack <stack>`, or that command's
 * output saved to `file` (for a machine without the Pulumi CLI, or without access to the state).
 */
export function stackOutputs(stack: string, file?: string): unknown {
  let text: string;
  if (file !== undefined) {
    text = fs.readFileSync(file, "utf8");
  } else {
    try {
      text = execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") {
        throw new Error(`reading stack ${stack}'s outputs needs the Pulumi CLI, and \`pulumi\` was not found: install it, or save \`pulumi stack output --json --stack ${stack}\` from a machine that has it and pass --outputs FILE`, { cause: error });
      }
      throw new Error(`pulumi stack output --json --stack ${stack} failed: ${(e.stderr ?? e.message).trim()}`, { cause: error });
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`stack ${stack}'s outputs${file === undefined ? "" : ` in ${file}`} are not JSON: expected what pulumi stack output --json prints`, { cause: error });
  }
}
