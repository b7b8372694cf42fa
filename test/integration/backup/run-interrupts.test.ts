import { EventEmitter } from "node:events";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { runPrefix } from "../../../src/domain/manifest.js";
import { appCredential, appFor, cliJob } from "../helpers.js";
import { blobsUnder, container, faultStack } from "./faultStack.js";

const stackOf = faultStack();
const objectsInDemo = 25 + 5 + 3;

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
    stackOf().emulator.resetStats("demo-vault");
    const r = await runBackup(a, j);
    expect(r.status).toBe("succeeded");
    const backups = Object.entries(stackOf().emulator.stats("demo-vault").byOperation)
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
    stackOf().emulator.setLatency("demo-vault", { fixedMs: 100 });
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
    stackOf().emulator.setLatency("demo-vault", { fixedMs: 30 });
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
    const { url } = await stackOf().emulator.createVault("resume-vault");
    const { url: target } = await stackOf().emulator.createVault("resume-target");
    for (const v of ["resume-vault", "resume-target"])
      stackOf().emulator.assignRole(v, {
        principalId: stackOf().identities.app.principalId,
        role: "Key Vault Administrator",
      });
    for (let i = 0; i < 6; i++)
      stackOf().emulator.call("resume-vault", "PUT", `/secrets/s${i}`, { value: `v${i}-first` });
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
    stackOf().emulator.call("resume-vault", "PUT", "/secrets/s0", {
      value: "v0-second",
      contentType: "rotated",
    });
    stackOf().emulator.call("resume-vault", "DELETE", "/secrets/s1");
    stackOf().emulator.call("resume-vault", "DELETE", "/deletedsecrets/s1");
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
    const got = stackOf().emulator.call("resume-target", "GET", "/secrets/s0") as { value: string };
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
      stackOf().emulator.setLatency("demo-vault", { fixedMs: 20 });
      const r = await runBackup(appFor(), cliJob(), { signal: ac.signal });
      expect(r.status).toBe("succeeded");
      expect(EventEmitter.getEventListeners(ac.signal, "abort")).toHaveLength(0);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w === "MaxListenersExceededWarning")).toEqual([]);
  }, 60_000);
});
