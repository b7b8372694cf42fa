import { describe, expect, it } from "vitest";
import { findRun } from "../../../../src/backup/catalog/findRun.js";
import { listRuns } from "../../../../src/backup/catalog/listRuns.js";
import { verifyRef } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { restoreHsm } from "../../../../src/backup/hsm/restoreHsm.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { MemoryHsm } from "../../fakes/memoryHsm.js";
import { hsmWorld, job } from "./hsmWorld.js";

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
