import { describe, expect, it } from "vitest";
import { runBackup } from "../../../../src/backup/engine.js";
import { restoreHsm } from "../../../../src/backup/hsm/restoreHsm.js";
import { runRestore } from "../../../../src/backup/restore/runRestore.js";
import { isKvBackupError, KvBackupError } from "../../../../src/domain/errors.js";
import { MemoryHsm } from "../../fakes/memoryHsm.js";
import { hsmWorld, job } from "./hsmWorld.js";

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
