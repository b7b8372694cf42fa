import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { enqueueBackups } from "../../../src/backup/backupJobs.js";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { listRuns } from "../../../src/backup/catalog/listRuns.js";
import { verifyRef } from "../../../src/backup/catalog/verifyRun.js";
import { type HsmJob, runBackup } from "../../../src/backup/engine.js";
import { restoreHsm } from "../../../src/backup/hsm/restoreHsm.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { isKvBackupError, KvBackupError } from "../../../src/domain/errors.js";
import { newRunId } from "../../../src/domain/runId.js";
import { seed, world } from "../fakes/deps.js";
import { MemoryHsm } from "../fakes/memoryHsm.js";

const hsms = [{ name: "demo-hsm", url: "https://demo-hsm.managedhsm.azure.net" }];
const job = (over: Partial<HsmJob> = {}): HsmJob => ({
  runId: newRunId(new Date("2026-11-26T02:00:00Z")),
  vault: "demo-hsm",
  tier: "daily",
  trigger: "timer",
  hsm: true,
  ...over,
});
const hsmWorld = () => world({ hsms }, { hsmPollMs: 1, hsmJobTimeoutMs: 50 });

describe("a Managed HSM run", () => {
  it("starts the HSM's full backup in the tier's container, reads back what it wrote, and records it like a run", async () => {
    const w = hsmWorld();
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("succeeded");
    expect(w.hsmFolders.containers.has("keyvault-backups-hsm-daily")).toBe(true);
    const { manifest, row } = await findRun(w.deps, r.runId, "demo-hsm");
    expect(manifest.hsm).toMatchObject({
      container: "keyvault-backups-hsm-daily",
      folder: "mhsm-demo-hsm-2026112602000000",
    });
    expect(manifest.hsm?.files).toHaveLength(1);
    expect(manifest.items).toEqual([]);
    expect(row?.status).toBe("succeeded");
    expect(r.bytes).toBeGreaterThan(0);
    expect(w.telemetry.events.map((e) => [e.vault, e.status])).toEqual([["demo-hsm", "succeeded"]]);
    expect((await listRuns(w.deps, { vault: "demo-hsm" })).map((x) => x.runId)).toEqual([r.runId]);
    const latest = await findRun(w.deps, "latest", "demo-hsm");
    expect(latest.manifest.runId).toBe(r.runId);
    expect((await verifyRef(w.deps, r.runId, "demo-hsm")).ok).toBe(true);
  });

  it("a job the storage firewall failed ends failed with the HSM's firewall diagnosis, a final row and the event", async () => {
    const w = hsmWorld();
    w.hsm().failJob = {
      code: "BadRequest",
      message:
        "Backup failed: storage answered 403 AuthorizationFailure: This request is not authorized to perform this operation.",
    };
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("failed");
    expect(r.diagnosis?.code).toBe("HsmStorageFirewall");
    expect(r.diagnosis?.fix).toContain("--resource-id $(az keyvault show --hsm-name demo-hsm");
    expect((await w.deps.inventory.get(r.runId, "demo-hsm"))?.status).toBe("failed");
    expect(w.telemetry.events.map((e) => e.status)).toEqual(["failed"]);
    await expect(findRun(w.deps, r.runId, "demo-hsm")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "NotFound"),
    );
  });

  it("names the HSM identity's missing data role, the app's missing HSM role, and a backup already running", async () => {
    const cases: [() => void, string][] = [];
    const w = hsmWorld();
    cases.push([
      () => {
        w.hsm().failJob = { code: "BadRequest", message: "storage: 403 AuthorizationPermissionMismatch" };
      },
      "HsmStorageRbac",
    ]);
    cases.push([
      () => {
        w.hsm().failJob = undefined;
        w.hsm().refuseNext = MemoryHsm.refusal(
          403,
          "AccessDenied",
          "Not authorized to access Microsoft.KeyVault/managedHsm/backup/start/action on / (Activity ID: 1)",
        );
      },
      "HsmBackupForbidden",
    ]);
    cases.push([
      () => {
        w.hsm().refuseNext = MemoryHsm.refusal(409, "Conflict", "Another backup operation is in progress");
      },
      "HsmBusy",
    ]);
    for (const [arrange, code] of cases) {
      arrange();
      const r = await runBackup(w.deps, job({ runId: newRunId(new Date()) }));
      expect([r.status, r.diagnosis?.code]).toEqual(["failed", code]);
    }
    expect(w.telemetry.events.map((e) => e.status)).toEqual(["failed", "failed", "failed"]);
  });

  it("a job that never ends, or ends Succeeded with an empty folder, is a failed run, not a success", async () => {
    const w = hsmWorld();
    w.hsm().neverEnds = true;
    const slow = await runBackup(w.deps, job({ runId: newRunId(new Date()) }));
    expect([slow.status, slow.diagnosis?.code]).toEqual(["failed", "HsmJobTimedOut"]);
    w.hsm().neverEnds = false;
    w.hsm().writeNothing = true;
    const empty = await runBackup(w.deps, job({ runId: newRunId(new Date()) }));
    expect([empty.status, empty.diagnosis?.code]).toEqual(["failed", "HsmBackupEmpty"]);
  });

  it("verify catches an HSM file changed, removed or added after the run; a restore then refuses to hand it to the HSM", async () => {
    const w = hsmWorld();
    const r = await runBackup(w.deps, job());
    const { manifest } = await findRun(w.deps, r.runId, "demo-hsm");
    const blobs = w.hsmFolders.containers.get("keyvault-backups-hsm-daily") as Map<string, Buffer>;
    const file = manifest.hsm?.files[0]?.name as string;
    blobs.set(file, Buffer.from("tampered"));
    blobs.set(`${manifest.hsm?.folder}/planted`, Buffer.from("x"));
    const v = await verifyRef(w.deps, r.runId, "demo-hsm");
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.problem).sort()).toEqual(["corrupt", "extra"]);
    const restore = await restoreHsm(w.deps, { runId: r.runId, hsm: "demo-hsm", key: "gone-key" });
    expect(restore.status).toBe("failed");
    expect(restore.diagnosis?.code).toBe("CorruptBlob");
    blobs.delete(file);
    expect((await verifyRef(w.deps, r.runId, "demo-hsm")).problems.map((p) => p.problem)).toContain(
      "missing",
    );
  });
});

/** A manifest as JSON, edited freely. */
type EditableManifest = ReturnType<typeof JSON.parse>;

/** Rewrites a run's manifest and the row's SHA-256 to match: an attacker with write access to both. */
function edit(w: ReturnType<typeof world>, runId: string, change: (m: EditableManifest) => void): void {
  const row = w.storage.rows.get(runId);
  if (!row) throw new Error("no row");
  const doc = w.storage.documents.get(row.manifest);
  if (!doc) throw new Error("no manifest");
  const m = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
  change(m);
  const bytes = Buffer.from(JSON.stringify(m));
  w.storage.documents.set(row.manifest, { bytes, etag: `"${Math.random()}"` });
  w.storage.rows.set(runId, { ...row, manifestSha256: createHash("sha256").update(bytes).digest("hex") });
}

describe("an HSM run's record cannot be pointed elsewhere (adversary round 4)", () => {
  it("another container, another tier's container, another HSM's folder, files outside the folder, a folder not written during the run: refused", async () => {
    const changes: [string, (m: EditableManifest) => void, RegExp][] = [
      [
        "the main container",
        (m) => {
          m.hsm.container = "keyvault-backups";
        },
        /not the daily tier's HSM container/,
      ],
      [
        "another tier",
        (m) => {
          m.hsm.container = "keyvault-backups-hsm-weekly";
        },
        /not the daily tier's HSM container/,
      ],
      [
        "another HSM's folder",
        (m) => {
          m.hsm.folder = "mhsm-other-hsm-2026112602000000";
        },
        /is not one Managed HSM 'demo-hsm' wrote/,
      ],
      [
        "a file outside",
        (m) => {
          m.hsm.files[0].name = "elsewhere/x";
        },
        /is not in folder/,
      ],
      [
        "an older folder",
        (m) => {
          m.hsm.folder = "mhsm-demo-hsm-2026010102000000";
          for (const f of m.hsm.files) f.name = f.name.replace(/^[^/]+/, m.hsm.folder);
        },
        /was not written during this run/,
      ],
    ];
    for (const [what, change, problem] of changes) {
      const w = hsmWorld();
      const r = await runBackup(w.deps, job());
      edit(w, r.runId, change);
      await expect(verifyRef(w.deps, r.runId, "demo-hsm"), what).rejects.toSatisfy(
        (e) => isKvBackupError(e, "CorruptManifest") && problem.test(String((e as Error).message)),
      );
      await expect(
        restoreHsm(w.deps, { runId: r.runId, hsm: "demo-hsm", key: "hsm-key-1" }),
        what,
      ).rejects.toSatisfy((e) => isKvBackupError(e, "CorruptManifest"));
    }
  });

  it("another run's folder with the manifest's own times moved to match is refused by the row's times (adversary recheck)", async () => {
    const w = hsmWorld();
    const r = await runBackup(w.deps, job());
    edit(w, r.runId, (m) => {
      m.hsm.folder = "mhsm-demo-hsm-2026112603000000";
      for (const f of m.hsm.files) f.name = f.name.replace(/^[^/]+/, m.hsm.folder);
      m.finishedAt = "2026-11-26T03:00:30.000Z";
    });
    await expect(verifyRef(w.deps, r.runId, "demo-hsm")).rejects.toSatisfy(
      (e) =>
        isKvBackupError(e, "CorruptManifest") &&
        /as the inventory recorded it/.test(String((e as Error).message)),
    );
    await expect(restoreHsm(w.deps, { runId: r.runId, hsm: "demo-hsm", key: "hsm-key-1" })).rejects.toSatisfy(
      (e) => isKvBackupError(e, "CorruptManifest"),
    );
    const plain = hsmWorld();
    const p = await runBackup(plain.deps, job());
    edit(plain, p.runId, (m) => {
      delete m.hsm;
    });
    // An HSM run with its record taken off: restore says the manifest cannot be trusted, not "a vault's run".
    await expect(restoreHsm(plain.deps, { runId: p.runId, hsm: "demo-hsm", key: "k" })).rejects.toSatisfy(
      (e) => isKvBackupError(e, "CorruptManifest"),
    );
  });

  it("an HSM record added to a vault's run, or taken off an HSM's run, is a CorruptManifest, not 'ok'", async () => {
    const w = hsmWorld();
    seed(w.vault());
    const hsmRun = await runBackup(w.deps, job());
    const vaultRun = await runBackup(w.deps, {
      runId: newRunId(new Date()),
      vault: "demo-vault",
      tier: "daily",
      trigger: "timer",
    });
    const hsmRecord = (await findRun(w.deps, hsmRun.runId, "demo-hsm")).manifest.hsm;
    edit(w, vaultRun.runId, (m) => {
      m.hsm = hsmRecord;
    });
    await expect(verifyRef(w.deps, vaultRun.runId, "demo-vault")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "CorruptManifest"),
    );
    edit(w, hsmRun.runId, (m) => {
      delete m.hsm;
    });
    await expect(verifyRef(w.deps, hsmRun.runId, "demo-hsm")).rejects.toSatisfy(
      (e) =>
        isKvBackupError(e, "CorruptManifest") &&
        /has no HSM backup record/.test(String((e as Error).message)),
    );
  });

  it("a URL that answers 404 to the backup API is named as not a Managed HSM; the job-failed fix uses the configured URL", async () => {
    const w = world(
      { hsms: [{ name: "demo-hsm", url: "https://127.0.0.1:9443" }] },
      { hsmPollMs: 1, hsmJobTimeoutMs: 50 },
    );
    w.hsm().refuseNext = MemoryHsm.refusal(404, "NotFound", "The requested resource was not found");
    const r = await runBackup(w.deps, job());
    expect(r.diagnosis?.code).toBe("HsmNotFound");
    w.hsm().failJob = { code: "BadRequest", message: "Invalid backup" };
    const f = await runBackup(w.deps, job({ runId: newRunId(new Date()) }));
    expect(f.diagnosis?.code).toBe("HsmJobFailed");
    expect(f.diagnosis?.fix).toContain("--url https://127.0.0.1:9443/backup/");
  });

  it("a 401 from the HSM is worded for the HSM, not a Key Vault", async () => {
    const w = hsmWorld();
    const e = MemoryHsm.refusal(
      401,
      "Unauthorized",
      "AKV10022: Invalid audience. Expected https://managedhsm.azure.net, found: https://vault.azure.net.",
    );
    if (e.failure) e.failure.resource = "demo-hsm";
    w.hsm().refuseNext = e;
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("failed");
    expect(r.diagnosis?.cause).toContain("Managed HSM 'demo-hsm'");
    expect(r.diagnosis?.cause).not.toContain("Key Vault 'demo-hsm'");
  });

  it("kinds or an incremental mode asked for HSMs alone are refused; asked for every vault, HSMs are left out", async () => {
    const w = hsmWorld();
    await expect(
      enqueueBackups(w.deps, { hsms: ["demo-hsm"], kinds: ["secrets"], tier: "manual", trigger: "http" }),
    ).rejects.toSatisfy((e) => isKvBackupError(e, "BadRequest"));
    await expect(
      enqueueBackups(w.deps, { hsms: ["demo-hsm"], mode: "incremental", tier: "manual", trigger: "http" }),
    ).rejects.toSatisfy((e) => isKvBackupError(e, "BadRequest"));
    const some = await enqueueBackups(w.deps, { kinds: ["secrets"], tier: "manual", trigger: "http" });
    expect(some.map((q) => q.vault)).toEqual(["demo-vault"]);
    const all = await enqueueBackups(w.deps, { tier: "manual", trigger: "http" });
    expect(all.map((q) => [q.vault, q.hsm === true])).toEqual([
      ["demo-vault", false],
      ["demo-hsm", true],
    ]);
  });
});

describe("Managed HSM runs that died", () => {
  it("the next HSM run marks a dead run abandoned and repairs the row of one that committed, bytes included", async () => {
    const w = hsmWorld();
    const committed = await runBackup(w.deps, job());
    const row = await w.deps.inventory.get(committed.runId, "demo-hsm");
    if (!row) throw new Error("no row");
    // Its final row write was lost; another run died before committing anything.
    await w.deps.inventory.put({ ...row, status: "running", bytes: 0 });
    const deadId = newRunId(new Date("2026-11-26T01:00:00Z"));
    await w.deps.inventory.put({
      ...row,
      runId: deadId,
      status: "running",
      bytes: 0,
      manifest: row.manifest.replace(committed.runId, deadId),
    });
    const next = await runBackup(w.deps, job({ runId: newRunId(new Date("2026-11-26T03:00:00Z")) }));
    expect(next.status).toBe("succeeded");
    expect((await w.deps.inventory.get(deadId, "demo-hsm"))?.status).toBe("abandoned");
    const repaired = await w.deps.inventory.get(committed.runId, "demo-hsm");
    expect(repaired?.status).toBe("succeeded");
    expect(repaired?.bytes).toBe(committed.bytes);
    expect(committed.bytes).toBeGreaterThan(0);
    // A redelivery of the committed runId does nothing again: same result, no second job.
    const started = w.hsm().started;
    const again = await runBackup(w.deps, job({ runId: committed.runId }));
    expect(again).toMatchObject({ status: "succeeded", alreadyCommitted: true, bytes: committed.bytes });
    expect(w.hsm().started).toBe(started);
  });
});

describe("restoring from a Managed HSM run", () => {
  it("restores one key's versions, says partial/failed when the HSM could not overwrite an existing key, and never guesses", async () => {
    const w = hsmWorld();
    const r = await runBackup(w.deps, job());
    w.hsm().keys.delete("hsm-key-1");
    const ok = await restoreHsm(w.deps, { runId: "latest", hsm: "demo-hsm", key: "hsm-key-1" });
    expect(ok).toMatchObject({ status: "succeeded", restoredVersions: 2, notOverwritten: 0, runId: r.runId });
    w.hsm().keys.set("hsm-key-1", 2);
    const there = await restoreHsm(w.deps, { runId: r.runId, hsm: "demo-hsm", key: "hsm-key-1" });
    expect(there.status).toBe("failed");
    expect(there.message).toContain("delete and purge it first".replace("delete", "Delete"));
  });

  it("a full restore is never implied; key and full together, a bad key name, an unknown HSM are refused", async () => {
    const w = hsmWorld();
    const r = await runBackup(w.deps, job());
    const bad = async (req: Parameters<typeof restoreHsm>[1], code: string) =>
      expect(restoreHsm(w.deps, req)).rejects.toSatisfy((e) => e instanceof KvBackupError && e.code === code);
    await bad({ runId: r.runId, hsm: "demo-hsm" }, "BadRequest");
    await bad({ runId: r.runId, hsm: "demo-hsm", key: "k", full: true }, "BadRequest");
    await bad({ runId: r.runId, hsm: "demo-hsm", key: "bad/name" }, "BadRequest");
    await bad({ runId: r.runId, hsm: "other-hsm", key: "k" }, "VaultNotAllowed");
    expect((await restoreHsm(w.deps, { runId: r.runId, hsm: "demo-hsm", full: true })).status).toBe(
      "succeeded",
    );
  });

  it("the restore role's refusal is diagnosed; a vault restore of an HSM is refused with the right command", async () => {
    const w = hsmWorld();
    const r = await runBackup(w.deps, job());
    w.hsm().refuseNext = MemoryHsm.refusal(
      403,
      "AccessDenied",
      "Not authorized to access Microsoft.KeyVault/managedHsm/restore/start/action",
    );
    const denied = await restoreHsm(w.deps, { runId: r.runId, hsm: "demo-hsm", key: "hsm-key-1" });
    expect([denied.status, denied.diagnosis?.code]).toEqual(["failed", "HsmRestoreForbidden"]);
    await expect(runRestore(w.deps, { runId: r.runId, vault: "demo-hsm" })).rejects.toSatisfy(
      (e) =>
        isKvBackupError(e, "BadRequest") && String((e as Error).message).includes("--hsm demo-hsm --key"),
    );
  });
});
