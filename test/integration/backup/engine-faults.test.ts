import { EventEmitter } from "node:events";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { runPrefix } from "../../../src/domain/manifest.js";
import { BackupOperatorRole } from "../../stack/keyvault/roles.js";
import type { Stack } from "../../stack/stack.js";
import { appCredential, appFor, cliJob, startTestStack } from "../helpers.js";

let stack: Stack;
const objectsInDemo = 25 + 5 + 3;
const container = () => process.env.BACKUP_CONTAINER as string;

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

const blobsUnder = async (prefix: string) => [...(await appFor().blobs.list(prefix)).keys()];

describe("storage firewall", () => {
  it("fails the run at the preflight with one diagnosis, before any Key Vault call, writing nothing", async () => {
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    stack.emulator.resetStats("demo-vault");
    const j = cliJob();
    const r = await runBackup(appFor(), j);
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "preflight",
      diagnosis: { code: "StorageFirewall" },
    });
    expect(r.diagnosis?.fix).toContain("Allow trusted Microsoft services");
    expect(stack.emulator.stats("demo-vault").total).toBe(0);
    stack.proxies.blob.clearRules();
    await appFor().blobs.probe();
    expect(await blobsUnder("manual/")).toEqual([]);
    expect((await appFor().inventory.get(j.runId))?.status).toBe("failed");
  });

  it("a PutBlob AuthorizationFailure that starts mid-run ends the run with that one diagnosis and a final row", async () => {
    const a = appFor({}, { tuning: { concurrency: 2 } });
    const j = cliJob();
    let armed = false;
    const r = await runBackup(a, j, {
      onProgress: (p) => {
        if (!armed && p.done >= 5) {
          armed = true;
          stack.proxies.blob.addRule({
            operation: "PutBlob",
            pathPrefix: `/${container()}/manual/`,
            fault: "AuthorizationFailure",
          });
        }
      },
    });
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "mid-run",
      diagnosis: { code: "StorageFirewall" },
    });
    stack.proxies.blob.clearRules();
    expect(await a.inventory.get(j.runId)).toMatchObject({
      status: "failed",
      firstFailureCode: "StorageFirewall",
    });
    expect(await blobsUnder(`${runPrefix("manual", "demo-vault", j.runId)}manifest.json`)).toEqual([]);
  });

  it("a table 403 after the manifest committed: succeeded, 'latest' finds it, the next run repairs the row", async () => {
    const a = appFor();
    const j = cliJob();
    const r = await runBackup(a, j, {
      onProgress: (p) => {
        if (p.kind === "certificates" && p.listingDone && p.done === p.listed)
          stack.proxies.table.addRule({ fault: "AuthorizationPermissionMismatch" });
      },
    });
    expect(r).toMatchObject({ status: "succeeded", inventoryStale: true });
    stack.proxies.table.clearRules();
    expect((await a.inventory.get(j.runId))?.status).toBe("running");
    expect((await findRun(a, "latest", "demo-vault")).manifest.runId).toBe(j.runId);
    await runBackup(a, cliJob(undefined, ["keys"]));
    expect(await a.inventory.get(j.runId)).toMatchObject({
      status: "succeeded",
      manifestSha256: expect.any(String),
    });
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
    const r = await runBackup(
      appFor({ BACKUP_VAULTS: `list-only-vault=${url}`, RESTORE_TARGET_VAULTS: "", BACKUP_KINDS: "secrets" }),
      cliJob("list-only-vault"),
    );
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
      role: { dataActions: BackupOperatorRole.dataActions.filter((x) => !x.includes("/keys/")) },
    });
    const a = appFor({ BACKUP_VAULTS: `half-vault=${url}`, RESTORE_TARGET_VAULTS: "" });
    const r = await runBackup(a, cliJob("half-vault"));
    expect(r.status).toBe("partial");
    expect(r.failed).toEqual([expect.objectContaining({ kind: "keys", name: "*", code: "KeyVaultRbac" })]);
    expect((await findRun(a, r.runId, "half-vault")).manifest.items.map((i) => i.name)).toEqual(["s"]);
    expect((await a.inventory.get(r.runId))?.firstFailureCode).toBe("KeyVaultRbac");
  });
});

describe("objects Key Vault cannot back up", () => {
  it("an object over the version limit is a named failure; the run is partial", async () => {
    stack.emulator.vault("demo-vault").config.maxBackupVersions = 5;
    try {
      for (let i = 0; i < 6; i++)
        stack.emulator.call("demo-vault", "PUT", "/secrets/too-many-versions", { value: `v${i}` });
      const r = await runBackup(appFor({}, { tuning: { versionLimit: 5 } }), cliJob(undefined, ["secrets"]));
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
  it("honours Retry-After when the vault sends it", async () => {
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 20, retryAfter: true });
    stack.emulator.resetStats("demo-vault");
    const r = await runBackup(appFor(), cliJob(undefined, ["secrets"]));
    expect(stack.emulator.stats("demo-vault").throttled).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
  }, 60_000);

  it("503s and dropped connections are retried", async () => {
    stack.emulator.setFaults("demo-vault", { errorRate: 0.15, errorStatus: 503, dropRate: 0.05 });
    stack.emulator.resetStats("demo-vault");
    const r = await runBackup(appFor(), cliJob());
    expect(stack.emulator.stats("demo-vault").byStatus["503"] ?? 0).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
  }, 60_000);
});

describe("runs that stop midway and runs that overlap", () => {
  it("a run killed midway and rerun with its runId completes: one row, no duplicates, no second backups", async () => {
    const a = appFor({}, { tuning: { concurrency: 2 } });
    const j = cliJob();
    const ac = new AbortController();
    let done = 0;
    const first = runBackup(a, j, {
      signal: ac.signal,
      onProgress: (p) => {
        done = p.runDone;
        if (p.kind === "secrets" && p.done >= 10) ac.abort();
      },
    });
    await expect(first).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "Aborted"));
    expect(done).toBeGreaterThanOrEqual(10);
    const prefix = runPrefix("manual", "demo-vault", j.runId);
    const before = await blobsUnder(prefix);
    expect(before.length).toBeGreaterThanOrEqual(8);
    expect(before).not.toContain(`${prefix}manifest.json`);
    expect((await a.inventory.get(j.runId))?.status).toBe("running");
    stack.emulator.resetStats("demo-vault");
    const r = await runBackup(a, j);
    expect(r.status).toBe("succeeded");
    const backups = Object.entries(stack.emulator.stats("demo-vault").byOperation)
      .filter(([op]) => op.startsWith("Backup"))
      .reduce((n, [, c]) => n + c, 0);
    expect(backups).toBe(objectsInDemo - before.length);
    expect(await blobsUnder(prefix)).toHaveLength(objectsInDemo + 1);
    const m = (await findRun(a, j.runId, "demo-vault")).manifest;
    expect(new Set(m.items.map((i) => i.blob)).size).toBe(objectsInDemo);
    // Every item's ETag — of blobs written by the first attempt (known from List Blobs, which gives
    // the tag bare) as of those the rerun wrote — is its blob's own, quoted as the ETag header gives it.
    const blobs = new BlobServiceClient(
      process.env.BACKUP_STORAGE__blobServiceUri as string,
      appCredential(),
    ).getContainerClient(container());
    for (const i of m.items) expect(i.etag).toBe((await blobs.getBlobClient(i.blob).getProperties()).etag);
    expect(
      (await a.inventory.list({ vault: "demo-vault" })).filter((row) => row.runId === j.runId),
    ).toHaveLength(1);
  }, 60_000);

  it("a run whose lease is taken away stops (LeaseLost) and commits nothing", async () => {
    stack.emulator.setLatency("demo-vault", { fixedMs: 100 });
    const a = appFor({}, { leaseSeconds: 15, leaseRenewMs: 100, tuning: { concurrency: 1 } });
    const j = cliJob();
    const lock = new BlobServiceClient(process.env.BACKUP_STORAGE__blobServiceUri as string, appCredential())
      .getContainerClient(container())
      .getBlockBlobClient("locks/demo-vault.lock");
    let broken: Promise<unknown> | undefined;
    const running = runBackup(a, j, {
      onProgress: () => {
        broken ??= lock.getBlobLeaseClient().breakLease(0);
      },
    });
    await expect(running).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "LeaseLost"));
    await broken;
    expect(await blobsUnder(`${runPrefix("manual", "demo-vault", j.runId)}manifest.json`)).toEqual([]);
  }, 60_000);

  it("a second concurrent run of the same vault is refused and touches nothing", async () => {
    stack.emulator.setLatency("demo-vault", { fixedMs: 30 });
    const a = appFor();
    let started!: () => void;
    const leaseHeld = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = runBackup(a, cliJob(), { onProgress: () => started() });
    await leaseHeld;
    const second = cliJob();
    await expect(runBackup(a, second)).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "AlreadyRunning"),
    );
    expect((await first).status).toBe("succeeded");
    expect(await a.inventory.get(second.runId)).toBeUndefined();
  }, 60_000);
});

describe("a run resumed after the vault changed", () => {
  it("re-backs up a changed object, deletes the blob of one gone since, verifies, and restores the new value", async () => {
    const { url } = await stack.emulator.createVault("resume-vault");
    const { url: target } = await stack.emulator.createVault("resume-target");
    for (const v of ["resume-vault", "resume-target"])
      stack.emulator.assignRole(v, {
        principalId: stack.identities.app.principalId,
        role: "Key Vault Administrator",
      });
    for (let i = 0; i < 6; i++)
      stack.emulator.call("resume-vault", "PUT", `/secrets/s${i}`, { value: `v${i}-first` });
    const env = { BACKUP_VAULTS: `resume-vault=${url}`, RESTORE_TARGET_VAULTS: `resume-target=${target}` };
    const a = appFor(env, { tuning: { concurrency: 1 } });
    const j = cliJob("resume-vault", ["secrets"]);
    const ac = new AbortController();
    await expect(
      runBackup(a, j, { signal: ac.signal, onProgress: (p) => p.done >= 3 && ac.abort() }),
    ).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "Aborted"));
    const prefix = runPrefix("manual", "resume-vault", j.runId);
    expect(await blobsUnder(prefix)).toEqual(expect.arrayContaining([`${prefix}secrets/s0.kvbak`]));
    // Between the attempts: s0 gets a new value (and content type: Key Vault's timestamps are in
    // seconds, so within one second only the metadata tells), s1 is deleted and purged.
    stack.emulator.call("resume-vault", "PUT", "/secrets/s0", { value: "v0-second", contentType: "rotated" });
    stack.emulator.call("resume-vault", "DELETE", "/secrets/s1");
    stack.emulator.call("resume-vault", "DELETE", "/deletedsecrets/s1");
    const r = await runBackup(a, j);
    expect(r.status).toBe("succeeded");
    const { manifest } = await findRun(a, j.runId, "resume-vault");
    expect(manifest.items.map((i) => i.name)).toEqual(["s0", "s2", "s3", "s4", "s5"]);
    expect(await blobsUnder(`${prefix}secrets/s1.kvbak`)).toEqual([]);
    expect(manifest.leftovers).toBeUndefined();
    expect(await verifyRun(a, manifest)).toMatchObject({ ok: true, problems: [] });
    const restored = await runRestore(a, {
      runId: j.runId,
      vault: "resume-vault",
      targetVault: "resume-target",
      names: ["secrets/s0"],
    });
    expect(restored.status).toBe("succeeded");
    const got = stack.emulator.call("resume-target", "GET", "/secrets/s0") as { value: string };
    expect(got.value).toBe("v0-second");
  }, 60_000);
});

describe("noise", () => {
  it("a run adds no abort listener per request: no MaxListenersExceededWarning, none left on the caller's signal", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on("warning", onWarning);
    try {
      const ac = new AbortController();
      stack.emulator.setLatency("demo-vault", { fixedMs: 20 });
      const r = await runBackup(appFor(), cliJob(), { signal: ac.signal });
      expect(r.status).toBe("succeeded");
      expect(EventEmitter.getEventListeners(ac.signal, "abort")).toHaveLength(0);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w === "MaxListenersExceededWarning")).toEqual([]);
  }, 60_000);
});
