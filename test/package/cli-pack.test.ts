import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The operator's CLI as it is published: npm pack, then an install of the tarball with production
 * dependencies only, then `kvbackup` run with plain node (no tsx, no dev dependencies).
 */
const root = join(import.meta.dirname, "..", "..");
let dir: string;
let bin: string;

beforeAll(() => {
  // Outside the checkout: an operator's machine has no kvbackup sources around the install.
  dir = mkdtempSync(join(tmpdir(), "kvbackup-cli-pack-"));
  // dist/ is built by globalSetup.ts (npm run package); prepack would only build it again.
  const packed = execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], {
    cwd: root,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .at(-1) as string;
  const install = join(dir, "operator");
  execFileSync("mkdir", ["-p", install]);
  writeFileSync(join(install, "package.json"), JSON.stringify({ name: "operator-machine", private: true }));
  // Seeded with the locked production tree of npm run package (hard links; a copy across devices),
  // so the test measures the package, not the registry: npm still resolves the tarball's declared
  // dependencies against it, and removes as extraneous anything the tarball does not declare.
  const seed = join(root, ".local", "package", "app", "node_modules");
  try {
    execFileSync("cp", ["-al", seed, join(install, "node_modules")]);
  } catch {
    execFileSync("cp", ["-a", seed, join(install, "node_modules")]);
  }
  execFileSync(
    "npm",
    [
      "install",
      "--omit=dev",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      join(dir, packed),
    ],
    { cwd: install, stdio: "pipe", timeout: 240_000 },
  );
  bin = join(install, "node_modules", ".bin", "kvbackup");
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  });

describe("the packed CLI, installed with production dependencies only", () => {
  it("installs without a dev dependency (no tsx, no vitest) and ships the built JS", () => {
    const modules = join(dir, "operator", "node_modules");
    expect(existsSync(join(modules, "tsx"))).toBe(false);
    expect(existsSync(join(modules, "vitest"))).toBe(false);
    expect(readdirSync(join(modules, "kvbackup")).sort()).toEqual([
      "README.md",
      "bin",
      "dist",
      "host.json",
      "package.json",
      "scripts",
    ]);
    expect(existsSync(join(modules, "kvbackup", "dist", "src", "cli", "main.js"))).toBe(true);
  });

  it("kvbackup --help runs with plain node and exits 0", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("kvbackup restore RUNID|latest --vault V");
  });

  it("without settings: exit 2, one JSON document naming the missing settings", () => {
    const r = run(["doctor", "--json"]);
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe("BadSettings");
    expect(doc.error.message).toContain("BACKUP_VAULTS");
  });

  it("kvbackup --version prints the package's version; a Node older than 22 is refused with one line (one JSON document with --json)", () => {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const v = run(["--version"]);
    expect([v.status, v.stdout]).toEqual([0, `kvbackup ${version}\n`]);
    // This Node, made to report itself as 20 before the bin runs.
    const preload = join(dir, "node20.mjs");
    writeFileSync(preload, 'Object.defineProperty(process.versions, "node", { value: "20.19.0" });\n');
    const old = spawnSync(process.execPath, ["--import", preload, bin, "doctor"], { encoding: "utf8" });
    expect(old.status).toBe(2);
    expect(old.stdout).toBe("");
    expect(old.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^kvbackup needs Node\.js 22 or newer .* this is Node\.js 20\.19\.0/),
    ]);
    const json = spawnSync(process.execPath, ["--import", preload, bin, "doctor", "--json"], {
      encoding: "utf8",
    });
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: "UnsupportedNode", message: expect.stringContaining("Node.js 22") },
    });
  });
});
