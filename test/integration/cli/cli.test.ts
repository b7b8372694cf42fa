import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import type { Stack } from "../../stack/stack.js";
import { captureIo } from "../../unit/fakes/io.js";
import { appCredential, childEnv, DoctorKeys, startTestStack } from "../helpers.js";

const exec = promisify(execFile);
let stack: Stack;

/** The CLI in this process, with nothing but the stack's settings, against the real SDKs. */
async function kvbackup(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, stdout, stderr } = captureIo();
  const code = await main(args, { ...stack.env, ...env }, io);
  return { code, stdout: stdout(), stderr: stderr() };
}

/** The real bin, in its own process (what an operator runs). */
async function bin(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ["bin/kvbackup.mjs", ...args], {
      env: childEnv({ ...stack.env, ...env }),
      timeout: 60_000,
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

describe("the kvbackup CLI against the local Azure", () => {
  it("the real bin: backup --json prints one JSON document on stdout; bad usage with --json too", async () => {
    const b = await bin(["backup", "--vault", "demo-vault", "--kinds", "keys", "--json"]);
    expect(b.code).toBe(0);
    const doc = JSON.parse(b.stdout);
    expect(doc.runs).toEqual([expect.objectContaining({ vault: "demo-vault", status: "succeeded" })]);
    const bad = await bin(["frobnicate", "--json"]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toContain("unknown command");
  }, 60_000);

  it("the real bin, Ctrl-C mid-backup: exit 130, one JSON document, and the vault's lease released at once", async () => {
    stack.emulator.setLatency("demo-vault", { fixedMs: 150 });
    try {
      const child = spawn(
        process.execPath,
        ["bin/kvbackup.mjs", "backup", "--vault", "demo-vault", "--json"],
        {
          env: childEnv(stack.env),
        },
      );
      let stdout = "";
      child.stdout.on("data", (d) => {
        stdout += String(d);
      });
      // The run has started once it names its runId on stderr; then the operator presses Ctrl-C.
      child.stderr.on("data", (d) => {
        if (String(d).includes("as run ")) child.kill("SIGINT");
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(code).toBe(130);
      expect(JSON.parse(stdout).error.code).toBe("Aborted");
      // Released, not left to expire: the next backup of the vault starts at once.
      stack.emulator.setLatency("demo-vault", { fixedMs: 0 });
      expect((await kvbackup(["backup", "--vault", "demo-vault", "--kinds", "keys"])).code).toBe(0);
    } finally {
      stack.emulator.setLatency("demo-vault", { fixedMs: 0 });
    }
  }, 60_000);

  it("doctor passes against the stack, and names the storage firewall, blaming this machine, when it is on; --json keeps one shape", async () => {
    const ok = await kvbackup(["doctor"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("all checks passed");
    const good = JSON.parse((await kvbackup(["doctor", "--json"])).stdout);
    expect(Object.keys(good).sort()).toEqual(DoctorKeys);
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    try {
      const bad = await kvbackup(["doctor", "--json"]);
      expect(bad.code).toBe(1);
      const report = JSON.parse(bad.stdout);
      expect(report.storage.diagnosis.code).toBe("StorageFirewall");
      expect(report.storage.diagnosis.cause).toContain("this machine");
      // Every check still ran and is listed; the document has the same keys as a passing one.
      expect(Object.keys(report).sort()).toEqual(DoctorKeys);
      expect(Object.keys(report.storage.checks).sort()).toEqual(Object.keys(good.storage.checks).sort());
      expect(report.vaults.map((v: { name: string }) => v.name)).toEqual(
        good.vaults.map((v: { name: string }) => v.name),
      );
    } finally {
      stack.proxies.blob.clearRules();
    }
  });

  it("doctor fails (exit 1) when only the queue is firewalled", async () => {
    stack.proxies.queue.addRule({ fault: "AuthorizationFailure" });
    try {
      const r = await kvbackup(["doctor"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAIL queue backup-jobs/);
      expect(r.stdout).not.toContain("all checks passed");
    } finally {
      stack.proxies.queue.clearRules();
    }
  });

  it("doctor fails (exit 1) when the inventory table takes a row but cannot be read: the table check reads back what it wrote (adversary on issue 21)", async () => {
    stack.proxies.table.addRule({
      method: "GET",
      pathPrefix: `/${stack.env.BACKUP_INVENTORY_TABLE}`,
      // A role that lets the identity write rows but not read them (a 503 would do as well, but
      // the SDK retries it for seconds).
      fault: "AuthorizationPermissionMismatch",
    });
    try {
      const r = await kvbackup(["doctor", "--json"]);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report.storage.checks.table).toMatchObject({ ok: false, diagnosis: { code: "StorageRbac" } });
      expect(report.storage.checks.blob.ok).toBe(true);
    } finally {
      stack.proxies.table.clearRules();
    }
  });

  it("backup --json; list and show find the run", async () => {
    const b = await kvbackup(["backup", "--vault", "demo-vault", "--json"]);
    expect(b.code).toBe(0);
    const runId = JSON.parse(b.stdout).runs[0].runId as string;
    expect(
      JSON.parse((await kvbackup(["list", "--json"])).stdout).runs.map((r: { runId: string }) => r.runId),
    ).toContain(runId);
    expect((await kvbackup(["list"])).stdout).toMatch(/RUN\s+VAULT\s+TIER\s+STATUS/);
    const show = await kvbackup(["show", runId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("manifest:");
    expect(show.stdout).toMatch(/secrets\s+25\s+3\s+0/);
  });

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
  });

  // "latest" here is the secrets-only partial run of the test before.
  it("restore: dry run plans, the real one restores, --on-conflict fail exits 1, a name not in the run exits 1", async () => {
    const base = ["restore", "latest", "--vault", "demo-vault", "--to", "restore-vault"];
    const plan = await kvbackup([
      ...base,
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
      ...base,
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
    const again = await kvbackup([...base, "--only", "feature-flags", "--on-conflict", "fail"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("RestoreConflict");
    const missing = await kvbackup([...base, "--only", "secrets/no-such-secret"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("not in this backup");
    const keys = await kvbackup([...base, "--only", "keys/data-encryption-key"]);
    expect(keys.code).toBe(1);
    expect(keys.stdout).toContain("did not back up keys");
    expect((await kvbackup(["restore", "latest", "--vault", "demo-vault", "--to", "evil-vault"])).code).toBe(
      2,
    );
  });

  it("verify: ok after a backup, exit 1 once a blob is tampered with", async () => {
    const ok = await kvbackup(["verify", "latest", "--vault", "demo-vault"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ok: every blob matches its SHA-256");
    const doc = JSON.parse((await kvbackup(["verify", "latest", "--vault", "demo-vault", "--json"])).stdout);
    const shown = JSON.parse((await kvbackup(["show", doc.runId, "--json"])).stdout);
    await new BlobServiceClient(stack.env.BACKUP_STORAGE__blobServiceUri as string, appCredential())
      .getContainerClient(stack.env.BACKUP_CONTAINER as string)
      .getBlockBlobClient(shown.manifest.items[0].blob as string)
      .uploadData(Buffer.from("evil"));
    const bad = await kvbackup(["verify", doc.runId, "--vault", "demo-vault"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/corrupt\s+/);
  });

  it("bad usage and bad settings exit 2 with a clear message", async () => {
    expect((await kvbackup(["frobnicate"])).code).toBe(2);
    const notListed = await kvbackup(["backup", "--vault", "not-listed"]);
    expect(notListed.code).toBe(2);
    expect(notListed.stderr).toContain("is not in BACKUP_VAULTS");
    expect((await kvbackup(["show", "nope"])).code).toBe(2);
    const settings = await kvbackup(["list"], { BACKUP_VAULTS: "", BACKUP_RATE_PER_10S: "lots" });
    expect(settings.code).toBe(2);
    expect(settings.stderr).toContain("BACKUP_VAULTS");
    expect(settings.stderr).toContain("BACKUP_RATE_PER_10S");
    const twins = await kvbackup(["doctor", "--json"], {
      BACKUP_VAULTS: `demo-vault=${stack.vaults.demo.url},Demo-Vault=${stack.vaults.restore.url}`,
    });
    expect(twins.code).toBe(2);
    expect(JSON.parse(twins.stdout).error.message).toContain("listed twice");
  });
});
