import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Once per test run, before the package project's files: `npm run package` (the Functions
 * package) and the CLI's bundle (dist/cli, which npm pack ships) when either is older than what
 * goes into it, so the project's files test what a user gets from these sources.
 */
const root = join(import.meta.dirname, "..", "..");

const newest = (p: string): number =>
  statSync(p).isDirectory()
    ? Math.max(0, ...readdirSync(p).map((e) => newest(join(p, e))))
    : statSync(p).mtimeMs;

const stale = (output: string, inputs: string[]): boolean =>
  !existsSync(output) || statSync(output).mtimeMs < Math.max(...inputs.map((p) => newest(join(root, p))));

export function setup(): void {
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
}
