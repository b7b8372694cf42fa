import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/**
 * Once per test run, before the package project's files: `npm run package` (the Functions
 * package) and the CLI's bundle (dist/cli, which npm pack ships) when either is older than what
 * goes into it, so the project's files test what a user gets from these sources; then the
 * package copied where Azure would have it, away from the checkout.
 */
const root = join(import.meta.dirname, "..", "..");

const newest = (p: string): number =>
  statSync(p).isDirectory()
    ? Math.max(0, ...readdirSync(p).map((e) => newest(join(p, e))))
    : statSync(p).mtimeMs;

const stale = (output: string, inputs: string[]): boolean =>
  !existsSync(output) || statSync(output).mtimeMs < Math.max(...inputs.map((p) => newest(join(root, p))));

declare module "vitest" {
  export interface ProvidedContext {
    /** The package as Azure gets it: a copy outside the checkout, where no node_modules of ours is near. */
    deployedApp: string;
  }
}

export function setup(project: TestProject): () => void {
  const inputs = ["src", "package.json", "package-lock.json", "scripts/bundle.mjs"];
  if (
    stale(join(root, ".local", "package", "app", "package.json"), [
      ...inputs,
      "host.json",
      "scripts/package.sh",
    ])
  )
    execFileSync("bash", [join(root, "scripts", "package.sh")], { stdio: "inherit" });
  if (stale(join(root, "dist", "cli", "main.mjs"), inputs))
    execFileSync(process.execPath, [join(root, "scripts", "bundle.mjs"), "cli"], { stdio: "inherit" });
  // Loaded from inside the checkout, the package would find the repository's node_modules for
  // anything it reached for outside itself: the copy Azure runs has none around it.
  const deployed = mkdtempSync(join(tmpdir(), "kvbackup-deployed-"));
  cpSync(join(root, ".local", "package", "app"), join(deployed, "wwwroot"), { recursive: true });
  project.provide("deployedApp", join(deployed, "wwwroot"));
  return () => rmSync(deployed, { recursive: true, force: true });
}
