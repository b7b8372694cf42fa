import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { startTestStack } from "../helpers.js";

const exec = promisify(execFile);
let stack: Stack;

/** Runs the real bin in its own process, with nothing but the stack's settings. */
async function kvbackup(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ["bin/kvbackup.mjs", ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "",
        ...stack.env,
        ...env,
      },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : -1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("the kvbackup CLI", () => {
  it("doctor passes against the stack, and names the storage firewall with its fix when it is on", async () => {
    const ok = await kvbackup(["doctor"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("all checks passed");
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    try {
      const bad = await kvbackup(["doctor", "--json"]);
      expect(bad.code).toBe(1);
      const report = JSON.parse(bad.stdout);
      expect(report.storage.diagnosis.code).toBe("StorageFirewall");
    } finally {
      stack.proxies.blob.clearRules();
    }
  }, 60_000);

  it("backup --json prints one JSON document on stdout; list and show find the run", async () => {
    const b = await kvbackup(["backup", "--vault", "demo-vault", "--json"]);
    expect(b.code).toBe(0);
    const doc = JSON.parse(b.stdout);
    expect(doc.runs).toHaveLength(1);
    expect(doc.runs[0]).toMatchObject({ vault: "demo-vault", status: "succeeded" });
    const runId = doc.runs[0].runId as string;
    const list = await kvbackup(["list", "--json"]);
    expect(JSON.parse(list.stdout).runs.map((r: { runId: string }) => r.runId)).toContain(runId);
    const people = await kvbackup(["list"]);
    expect(people.stdout).toMatch(/RUN\s+VAULT\s+TIER\s+STATUS/);
    const show = await kvbackup(["show", runId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("manifest:");
    expect(show.stdout).toMatch(/secrets\s+25\s+3\s+0/);
  }, 60_000);

  it("a partial run exits 1 and prints each failure with its fix", async () => {
    stack.emulator.vault("demo-vault").config.maxBackupVersions = 3;
    try {
      for (let i = 0; i < 4; i++)
        stack.emulator.call("demo-vault", "PUT", "/secrets/cli-many", { value: `v${i}` });
      const r = await kvbackup(["backup", "--kinds", "secrets"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("partial");
      expect(r.stdout).toContain("secrets/cli-many:");
      expect(r.stdout).toContain("fix:");
    } finally {
      stack.emulator.vault("demo-vault").config.maxBackupVersions = 500;
    }
  }, 60_000);

  // "latest" here is the secrets-only partial run of the test before.
  it("restore: dry run plans, the real one restores, a second one with --on-conflict fail exits 1", async () => {
    const plan = await kvbackup([
      "restore",
      "latest",
      "--vault",
      "demo-vault",
      "--to",
      "restore-vault",
      "--only",
      "secrets/expiring-token",
      "--only",
      "feature-flags",
      "--dry-run",
    ]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/secrets\s+expiring-token\s+restore/);
    expect(plan.stdout).toContain("dry run: nothing written");
    const real = await kvbackup([
      "restore",
      "latest",
      "--vault",
      "demo-vault",
      "--to",
      "restore-vault",
      "--only",
      "secrets/expiring-token",
      "--only",
      "feature-flags",
      "--json",
    ]);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout).results.map((r: { outcome: string }) => r.outcome)).toEqual([
      "restored",
      "restored",
    ]);
    const again = await kvbackup([
      "restore",
      "latest",
      "--vault",
      "demo-vault",
      "--to",
      "restore-vault",
      "--only",
      "feature-flags",
      "--on-conflict",
      "fail",
    ]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("RestoreConflict");
    expect((await kvbackup(["restore", "latest", "--vault", "demo-vault", "--to", "evil-vault"])).code).toBe(
      2,
    );
  }, 60_000);

  it("verify: ok after a backup, exit 1 once a blob is tampered with", async () => {
    const ok = await kvbackup(["verify", "latest", "--vault", "demo-vault"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ok: every blob matches its SHA-256");
    const { BlobServiceClient } = await import("@azure/storage-blob");
    const { appCredential } = await import("../helpers.js");
    const doc = JSON.parse((await kvbackup(["verify", "latest", "--vault", "demo-vault", "--json"])).stdout);
    const list = JSON.parse((await kvbackup(["show", doc.runId, "--json"])).stdout);
    const blob = list.manifest.items[0].blob as string;
    await new BlobServiceClient(stack.env.BACKUP_STORAGE__blobServiceUri as string, appCredential())
      .getContainerClient("keyvault-backups")
      .getBlockBlobClient(blob)
      .uploadData(Buffer.from("evil"));
    const bad = await kvbackup(["verify", doc.runId, "--vault", "demo-vault"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/corrupt\s+/);
  }, 60_000);

  it("bad usage and bad settings exit 2 with a clear message", async () => {
    expect((await kvbackup(["frobnicate"])).code).toBe(2);
    expect((await kvbackup(["backup", "--vault", "not-listed"])).stderr).toContain("not in BACKUP_VAULTS");
    expect((await kvbackup(["backup", "--vault", "not-listed"])).code).toBe(2);
    expect((await kvbackup(["show", "nope"])).code).toBe(2);
    const settings = await kvbackup(["list"], { BACKUP_VAULTS: "", BACKUP_RATE_PER_10S: "lots" });
    expect(settings.code).toBe(2);
    expect(settings.stderr).toContain("BACKUP_VAULTS");
    expect(settings.stderr).toContain("BACKUP_RATE_PER_10S");
  }, 60_000);
});
