import { describe, expect, it } from "vitest";
import { enqueueBackups } from "../../../../src/backup/backupJobs.js";
import { findRun } from "../../../../src/backup/catalog/findRun.js";
import { verifyRef } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { restoreHsm } from "../../../../src/backup/hsm/restoreHsm.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { MemoryHsm } from "../../fakes/memoryHsm.js";
import { type EditableManifest, edit, hsmWorld, job } from "./hsmWorld.js";

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
