import { describe, expect, it } from "vitest";
import { runDrill } from "../../../../src/backup/drill/runDrill.js";
import { azureCallError } from "../../../../src/domain/errors.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { kvError } from "../../fakes/memoryVault.js";
import { afterEachRestore, backup, drill, drillVault, empty } from "./drillWorld.js";

describe("a restore drill", () => {
  it("restores the latest run into the scratch vault, proves every object, empties it again, and records it", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    const run = await backup(w);
    const r = await drill(w);
    expect(r).toMatchObject({
      status: "succeeded",
      runId: run.runId,
      compared: 9,
      mismatches: 0,
      againstSource: 9,
    });
    expect(empty(w)).toBe(true);
    expect(w.storage.drillRows.get(r.drillId)).toMatchObject({
      status: "succeeded",
      compared: 9,
      scratchVault: "drill-vault",
    });
    expect(w.telemetry.drills).toEqual([
      expect.objectContaining({ vault: "demo-vault", status: "succeeded", compared: 9, mismatches: 0 }),
    ]);
    // The source was only read (no value): nothing restored into it, nothing deleted.
    expect(w.vault().objects.secrets.size).toBe(7);
  });

  it("catches a damaged run: a blob that is not what the run recorded is a mismatch, named, and the drill fails", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    const run = await backup(w);
    const blob = [...w.storage.blobs.keys()].find(
      (k) => k.includes(run.runId) && k.endsWith("secrets/alpha.kvbak"),
    ) as string;
    const stored = w.storage.blobs.get(blob);
    if (!stored) throw new Error("no blob");
    w.storage.blobs.set(blob, { ...stored, bytes: new TextEncoder().encode("tampered") });
    const r = await drill(w);
    expect(r.status).toBe("failed");
    expect(r.diagnosis?.code).toBe("DrillMismatch");
    expect(r.mismatchList).toEqual([
      expect.objectContaining({ kind: "secrets", name: "alpha", field: "blob" }),
    ]);
    expect(r.mismatches).toBe(1);
    expect(empty(w)).toBe(true);
    expect(w.telemetry.drills[0]).toMatchObject({
      status: "failed",
      mismatches: 1,
      firstFailureCode: "DrillMismatch",
    });
  });

  it("an object that came back different (tags) is named with what was expected and found", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    await backup(w);
    // The scratch vault's restore changes a tag (a stand-in for a restore that loses metadata).
    const scratch = w.vault("drill-vault");
    afterEachRestore(scratch, (kind) => {
      const o = scratch.objects.secrets.get("retired");
      if (kind === "secrets" && o) o.info = { ...o.info, tags: { status: "changed" } };
    });
    const r = await drill(w);
    expect(r.status).toBe("failed");
    expect(r.mismatchList).toContainEqual(
      expect.objectContaining({
        name: "retired",
        field: "tags",
        expected: '{"status":"retired"}',
        actual: '{"status":"changed"}',
      }),
    );
  });

  it("a drill that fails after restoring (storage lost) empties the scratch vault before it says failed", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    await backup(w);
    let restores = 0;
    afterEachRestore(w.vault("drill-vault"), () => {
      if (++restores === 1)
        w.storage.fault = (op) => (op === "read" ? storageError(403, "AuthorizationFailure") : undefined);
    });
    const r = await drill(w);
    w.storage.fault = () => undefined;
    expect([r.status, r.diagnosis?.code]).toEqual(["failed", "StorageFirewall"]);
    expect(empty(w)).toBe(true);
  });

  it("names purge protection on the scratch vault, and a restore the scratch vault refuses (another geography)", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    await backup(w);
    const scratch = w.vault("drill-vault");
    scratch.fault = (op) =>
      op === "purge"
        ? kvError(
            403,
            "Forbidden",
            undefined,
            'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.',
          )
        : undefined;
    const p = await drill(w);
    expect([p.status, p.diagnosis?.code]).toEqual(["failed", "DrillVaultPurgeProtected"]);
    const w2 = world({ drillVault });
    seed(w2.vault());
    await backup(w2);
    w2.vault("drill-vault").fault = (op) =>
      op === "restore"
        ? azureCallError({
            service: "keyvault",
            status: 400,
            code: "BadParameter",
            message: "Cannot decrypt backup blob.",
            operation: "restore",
          })
        : undefined;
    const r = await runDrill(w2.deps, {
      vault: "demo-vault",
      drillId: newRunId(new Date()),
      trigger: "timer",
    });
    expect([r.status, r.diagnosis?.code]).toEqual(["failed", "RestoreRejected"]);
    expect(r.mismatches).toBe(9);
  });

  it("without a scratch vault, or without a committed run, fails with what is missing (row and event)", async () => {
    const none = world();
    const a = await runDrill(none.deps, {
      vault: "demo-vault",
      drillId: newRunId(new Date()),
      trigger: "timer",
    });
    expect([a.status, a.diagnosis?.code]).toEqual(["failed", "NoDrillVault"]);
    const w = world({ drillVault });
    const b = await drill(w);
    expect([b.status, b.diagnosis?.code]).toEqual(["failed", "DrillNothingToProve"]);
    expect(w.storage.drillRows.get(b.drillId)?.status).toBe("failed");
    expect(w.telemetry.drills.map((d) => d.status)).toEqual(["failed"]);
  });
  it("storage going away mid-drill ends it at once: no read after the refusal but those in flight, no mismatch counted, the scratch vault emptied (adversary on issue 22)", async () => {
    const w = world({ drillVault });
    for (let i = 0; i < 200; i++) w.vault().put("secrets", `s${i}`);
    await backup(w);
    let reads = 0;
    let refused = 0;
    w.storage.fault = (op, path) => {
      if (op !== "read" || !path?.endsWith(".kvbak") || ++reads <= 10) return undefined;
      refused++;
      return storageError(503, "ServerBusy");
    };
    const r = await drill(w);
    w.storage.fault = () => undefined;
    expect([r.status, r.diagnosis?.code, r.mismatches]).toEqual(["failed", "StorageBusy", 0]);
    // The pool's reads in flight when storage went away, no more (it was 190, one per object left).
    expect(refused).toBeLessThanOrEqual(w.deps.tuning.restoreConcurrency);
    expect(empty(w)).toBe(true);
  });

  it("a container gone is storage's failure, not blobs missing from the run (adversary on issue 22)", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    await backup(w);
    let reads = 0;
    w.storage.fault = (op, path) =>
      op === "read" && path?.endsWith(".kvbak") && ++reads > 3
        ? storageError(404, "ContainerNotFound")
        : undefined;
    const r = await drill(w);
    w.storage.fault = () => undefined;
    expect(r.status).toBe("failed");
    expect(r.diagnosis?.code).not.toBe("DrillMismatch");
    expect(r.mismatchList.filter((m) => m.field === "blob")).toEqual([]);
    expect(empty(w)).toBe(true);
  });
});
