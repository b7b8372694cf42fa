import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Once per test run, before the package project's files: `npm run package` when its output is
 * older than what goes into it. It also builds dist/, which the packed CLI ships, so both files
 * of the project test one build.
 */
const root = join(import.meta.dirname, "..", "..");

const newest = (p: string): number =>
  statSync(p).isDirectory()
    ? Math.max(0, ...readdirSync(p).map((e) => newest(join(p, e))))
    : statSync(p).mtimeMs;

export function setup(): void {
  const stamp = join(root, ".local", "package", "app", "package.json");
  const inputs = ["src", "package.json", "package-lock.json", "host.json", "scripts/package.sh"].map((p) =>
    newest(join(root, p)),
  );
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < Math.max(...inputs))
    execFileSync("bash", [join(root, "scripts", "package.sh")], { stdio: "inherit" });
}
