import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import type { Manifest } from "../../../src/backup/manifest.js";
import { newRunId } from "../../../src/backup/runId.js";
import { runVault } from "../../../src/backup/runVault.js";
import { loadConfig } from "../../../src/config.js";
import { isKvBackupError } from "../../../src/errors.js";
import { BackupOperatorRole } from "../../stack/keyvault/roles.js";
import type { Stack } from "../../stack/stack.js";
import { startTestStack } from "../helpers.js";

let stack: Stack;
const app = (overrides = {}) => createApp(loadConfig(process.env), overrides);
const job = () => ({
  runId: newRunId(),
  vault: "demo-vault",
  tier: "manual" as const,
  trigger: "cli" as const,
});
const objectsInDemo = 25 + 5 + 3;

beforeAll(async () => {
  stack = await startTestStack();
});
afterEach(() => {
  for (const p of Object.values(stack.proxies)) p.clearRules();
  stack.emulator.setFaults("demo-vault", { errorRate: 0, dropRate: 0 });
  stack.emulator.setLimits("demo-vault", { perTenSeconds: 4000, retryAfter: false });
  stack.emulator.setLatency("demo-vault", { fixedMs: 0, jitterMs: 0 });
});
afterAll(async () => {
  await stack?.stop();
});

const blobsUnder = async (a: ReturnType<typeof app>, prefix: string) => [
  ...(await a.store.list(prefix)).keys(),
];

describe("storage firewall", () => {
  it("fails the run at the preflight with one diagnosis, before any Key Vault call, writing nothing", async () => {
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    stack.emulator.resetStats("demo-vault");
    const a = app();
    const j = job();
    const r = await runVault(a.engine, j);
    expect(r.status).toBe("failed");
    expect(r.preflight?.code).toBe("StorageFirewall");
    expect(r.preflight?.fix).toContain("Allow trusted Microsoft services");
    expect(stack.emulator.stats("demo-vault").total).toBe(0);
    stack.proxies.blob.clearRules();
    await a.store.preflight();
    expect(await blobsUnder(a, "manual/")).toEqual([]);
    expect((await a.inventory.get(j.runId))?.status).toBe("failed");
  });
});

describe("Key Vault authorization", () => {
  it("a missing backup permission is a ForbiddenByRbac diagnosis naming the action", async () => {
    const { url } = await stack.emulator.createVault("list-only-vault");
    stack.emulator.call("list-only-vault", "PUT", "/secrets/one", { value: "1" });
    stack.emulator.assignRole("list-only-vault", {
      principalId: stack.identities.app.principalId,
      role: { dataActions: ["Microsoft.KeyVault/vaults/secrets/readMetadata/action"] },
    });
    const config = loadConfig({
      ...process.env,
      BACKUP_VAULTS: `list-only-vault=${url}`,
      BACKUP_KINDS: "secrets",
    });
    const r = await runVault(createApp(config).engine, { ...job(), vault: "list-only-vault" });
    expect(r.status).toBe("failed");
    expect(r.failed[0]).toMatchObject({ kind: "secrets", name: "one", code: "KeyVaultRbac" });
    expect(r.failed[0]?.diagnosis.cause).toContain("Microsoft.KeyVault/vaults/secrets/backup/action");
  });

  it("a vault that refuses listing fails that kind with one entry; the other kinds go on (partial)", async () => {
    const { url } = await stack.emulator.createVault("half-vault");
    stack.emulator.call("half-vault", "PUT", "/secrets/s", { value: "1" });
    stack.emulator.call("half-vault", "POST", "/keys/k/create", { kty: "EC" });
    stack.emulator.assignRole("half-vault", {
      principalId: stack.identities.app.principalId,
      role: { dataActions: BackupOperatorRole.dataActions.filter((a) => !a.includes("/keys/")) },
    });
    const config = loadConfig({ ...process.env, BACKUP_VAULTS: `half-vault=${url}` });
    const a = createApp(config);
    const r = await runVault(a.engine, { ...job(), vault: "half-vault" });
    expect(r.status).toBe("partial");
    expect(r.failed).toEqual([expect.objectContaining({ kind: "keys", name: "*", code: "KeyVaultRbac" })]);
    const m = (await a.store.readManifest(r.manifestPath)) as Manifest;
    expect(m.items.map((i) => i.name)).toEqual(["s"]);
    expect((await a.inventory.get(r.runId))?.firstFailureCode).toBe("KeyVaultRbac");
  });
});

describe("objects Key Vault cannot back up", () => {
  it("an object over the version limit is a named failure; the run is partial", async () => {
    stack.emulator.vault("demo-vault").config.maxBackupVersions = 5;
    try {
      for (let i = 0; i < 6; i++)
        stack.emulator.call("demo-vault", "PUT", "/secrets/too-many-versions", { value: `v${i}` });
      const r = await runVault(app({ versionLimit: 5 }).engine, job());
      expect(r.status).toBe("partial");
      expect(r.failed).toEqual([
        expect.objectContaining({ kind: "secrets", name: "too-many-versions", code: "TooManyVersions" }),
      ]);
      expect(r.failed[0]?.diagnosis.cause).toContain("has 6 versions");
      expect(r.counts.secrets.backedUp).toBe(25);
    } finally {
      stack.emulator.vault("demo-vault").config.maxBackupVersions = 500;
      stack.emulator.call("demo-vault", "DELETE", "/secrets/too-many-versions");
      stack.emulator.call("demo-vault", "DELETE", "/deletedsecrets/too-many-versions");
    }
  });
});

describe("throttling and transient faults", () => {
  it("a 429 storm (vault limit far below the budget) still backs up everything", async () => {
    // About 40 requests against 20 per 10 s: half of them meet an empty bucket.
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 20 });
    stack.emulator.resetStats("demo-vault");
    const r = await runVault(app().engine, job());
    const stats = stack.emulator.stats("demo-vault");
    expect(stats.throttled).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
    expect(r.counts.secrets.backedUp + r.counts.keys.backedUp + r.counts.certificates.backedUp).toBe(
      objectsInDemo,
    );
  }, 120_000);

  it("honours Retry-After when the vault sends it", async () => {
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 20, retryAfter: true });
    stack.emulator.resetStats("demo-vault");
    const r = await runVault(app().engine, job());
    expect(stack.emulator.stats("demo-vault").throttled).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
  }, 120_000);

  it("503s and dropped connections are retried", async () => {
    stack.emulator.setFaults("demo-vault", { errorRate: 0.15, errorStatus: 503, dropRate: 0.05 });
    stack.emulator.resetStats("demo-vault");
    const r = await runVault(app().engine, job());
    expect(stack.emulator.stats("demo-vault").byStatus["503"] ?? 0).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
  }, 120_000);
});

describe("runs that stop midway and runs that overlap", () => {
  it("a run killed midway and rerun with its runId completes without duplicates or second backups", async () => {
    const a = app({ concurrency: 2 });
    const j = job();
    const ac = new AbortController();
    stack.emulator.setLatency("demo-vault", { fixedMs: 20 });
    let done = 0;
    const first = runVault(
      {
        ...a.engine,
        onProgress: (p) => {
          done = p.done;
          if (p.kind === "secrets" && p.done >= 10) ac.abort();
        },
      },
      j,
      ac.signal,
    );
    await expect(first).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "Aborted"));
    expect(done).toBeGreaterThanOrEqual(10);
    const prefix = `manual/demo-vault/${j.runId.slice(0, 4)}/${j.runId.slice(4, 6)}/${j.runId.slice(6, 8)}/${j.runId}/`;
    const before = await blobsUnder(a, prefix);
    expect(before.length).toBeGreaterThanOrEqual(8);
    expect(before).not.toContain(`${prefix}manifest.json`);
    expect((await a.inventory.get(j.runId))?.status).toBe("running");

    stack.emulator.resetStats("demo-vault");
    const r = await runVault(a.engine, j);
    expect(r.status).toBe("succeeded");
    const backups = Object.entries(stack.emulator.stats("demo-vault").byOperation)
      .filter(([op]) => op.startsWith("Backup"))
      .reduce((n, [, c]) => n + c, 0);
    expect(backups).toBe(objectsInDemo - before.length);
    const after = await blobsUnder(a, prefix);
    expect(after).toHaveLength(objectsInDemo + 1);
    const m = (await a.store.readManifest(r.manifestPath)) as Manifest;
    expect(m.items).toHaveLength(objectsInDemo);
    expect(new Set(m.items.map((i) => i.blob)).size).toBe(objectsInDemo);
  }, 120_000);

  it("a run whose lease is taken away stops (LeaseLost) and commits nothing", async () => {
    const { BlobServiceClient } = await import("@azure/storage-blob");
    const { appCredential } = await import("../helpers.js");
    stack.emulator.setLatency("demo-vault", { fixedMs: 300 });
    const a = app({ leaseSeconds: 15, concurrency: 1 });
    const j = job();
    const running = runVault(a.engine, j);
    await new Promise((r) => setTimeout(r, 1000));
    const lock = new BlobServiceClient(process.env.BACKUP_STORAGE__blobServiceUri as string, appCredential())
      .getContainerClient("keyvault-backups")
      .getBlockBlobClient("locks/demo-vault.lock");
    await lock.getBlobLeaseClient().breakLease(0);
    await expect(running).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "LeaseLost"));
    expect(
      await a.store.readManifest(
        `manual/demo-vault/${j.runId.slice(0, 4)}/${j.runId.slice(4, 6)}/${j.runId.slice(6, 8)}/${j.runId}/manifest.json`,
      ),
    ).toBeUndefined();
  }, 60_000);

  it("a second concurrent run of the same vault is refused and touches nothing", async () => {
    stack.emulator.setLatency("demo-vault", { fixedMs: 30 });
    const a = app();
    const first = runVault(a.engine, job());
    await new Promise((r) => setTimeout(r, 300));
    const second = job();
    await expect(runVault(a.engine, second)).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "AlreadyRunning"),
    );
    expect((await first).status).toBe("succeeded");
    expect(await a.inventory.get(second.runId)).toBeUndefined();
  }, 120_000);
});
