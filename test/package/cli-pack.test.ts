import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The operator's CLI as it is published: npm pack, then an install of the tarball with production
 * dependencies only (none: the CLI is one bundled module), offline, then `kvbackup` run with plain
 * node (no tsx, no dev dependencies) from outside any checkout.
 */
const root = join(import.meta.dirname, "..", "..");
let dir: string;
let bin: string;
let modules: string;

beforeAll(() => {
  // Outside the checkout: an operator's machine has no kvbackup sources around the install.
  dir = mkdtempSync(join(tmpdir(), "kvbackup-cli-pack-"));
  // dist/cli is built by globalSetup.ts; prepack would only build it again.
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
  // --offline: nothing to fetch, the tarball declares no dependency.
  execFileSync(
    "npm",
    ["install", "--omit=dev", "--offline", "--no-audit", "--no-fund", "--loglevel=error", join(dir, packed)],
    { cwd: install, stdio: "pipe", timeout: 240_000 },
  );
  modules = join(install, "node_modules");
  bin = join(modules, ".bin", "kvbackup");
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const diskBytes = (p: string): number =>
  statSync(p).isDirectory()
    ? readdirSync(p).reduce((n, e) => n + diskBytes(join(p, e)), 0)
    : statSync(p).blocks * 512;

const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  });

describe("the packed CLI, installed with production dependencies only", () => {
  it("installs one package and nothing else: the bundled CLI, its bin, the guides", () => {
    expect(
      readdirSync(modules)
        .filter((e) => !e.startsWith("."))
        .sort(),
    ).toEqual(["kvbackup"]);
    expect(readdirSync(join(modules, "kvbackup")).sort()).toEqual([
      "README.md",
      "bin",
      "dist",
      "docs",
      "package.json",
      "scripts",
    ]);
    expect(readdirSync(join(modules, "kvbackup", "dist", "cli")).sort()).toEqual([
      "THIRD_PARTY_NOTICES.txt",
      "main.mjs",
    ]);
    expect(readdirSync(join(modules, "kvbackup", "docs"))).toContain("troubleshooting.md");
    const pkg = JSON.parse(readFileSync(join(modules, "kvbackup", "package.json"), "utf8"));
    expect(pkg.dependencies).toBeUndefined();
  });

  it("at most 20 MB on disk, with no telemetry SDK inside (the CLI exports none)", () => {
    expect(diskBytes(modules)).toBeLessThanOrEqual(20 * 1024 * 1024);
    const notices = readFileSync(join(modules, "kvbackup", "dist", "cli", "THIRD_PARTY_NOTICES.txt"), "utf8");
    expect(notices).toMatch(/^@azure\/identity \d/m);
    expect(notices).not.toMatch(/^@azure\/monitor-opentelemetry/m);
    expect(notices).not.toMatch(/^@opentelemetry\/sdk-/m);
  });

  it("kvbackup --help runs with plain node and exits 0", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("kvbackup restore RUNID|latest --vault V");
  });

  it("a line that names a guide names the copy the install ships", () => {
    const r = run(["--help"]);
    const readme = join(modules, "kvbackup", "README.md");
    expect(r.stdout).toContain(`see ${readme}`);
    expect(readFileSync(readme, "utf8")).toMatch(/^# kvbackup/);
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
    // Wherever it stands, with --json one document.
    expect(run(["doctor", "--version"]).stdout).toBe(`kvbackup ${version}\n`);
    const j = run(["--json", "--version"]);
    expect([j.status, JSON.parse(j.stdout)]).toEqual([0, { version }]);
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
