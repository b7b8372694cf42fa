import { describe, expect, it } from "vitest";
import { findRun } from "../../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { VaultLimiter } from "../../../../src/backup/limiter.js";
import { planRestore } from "../../../../src/backup/restore/plan.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { seed, world } from "../../fakes/deps.js";
import { fakeClock } from "../../fakes/fakeClock.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { kvError } from "../../fakes/memoryVault.js";
import { job, manifestOf } from "../adversaryWorld.js";

describe("faults the matrix had no test for", () => {
  it("an object deleted between its listing and its backup is a skip (deleted-during-run), not a failure", async () => {
    const w = world();
    const v = seed(w.vault());
    // Listed, then deleted: its backup call is the first to find it gone.
    v.fault = (op, kind, name) => {
      if (op === "backup" && kind === "secrets" && name === "bravo") v.remove("secrets", "bravo");
      return undefined;
    };
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("succeeded");
    const m = manifestOf(w, r.manifestPath);
    expect(m.skipped).toContainEqual({ kind: "secrets", name: "bravo", reason: "deleted-during-run" });
    expect(m.items.map((i) => i.name)).not.toContain("bravo");
  });

  it("storage busy (503 ServerBusy after the SDK's retries) mid-run: failed, StorageBusy, no manifest", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    let puts = 0;
    w.storage.fault = (op) => (op === "put" && ++puts > 2 ? storageError(503, "ServerBusy") : undefined);
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({ status: "failed", stoppedAt: "mid-run", diagnosis: { code: "StorageBusy" } });
    expect(w.storage.documents.has(r.manifestPath)).toBe(false);
    expect(w.telemetry.events).toEqual([
      expect.objectContaining({ status: "failed", firstFailureCode: "StorageBusy" }),
    ]);
  });

  it("Key Vault answering 503 for one object after every retry: that object fails KeyVaultUnavailable, the run is partial", async () => {
    const w = world();
    seed(w.vault()).fault = (op, _k, name) =>
      op === "backup" && name === "charlie" ? kvError(503, "ServiceUnavailable") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("partial");
    expect(r.failed).toEqual([expect.objectContaining({ name: "charlie", code: "KeyVaultUnavailable" })]);
  });

  it("'latest' of a vault with no committed run, and a committed run whose manifest was deleted: NotFound, said plainly", async () => {
    const w = world();
    seed(w.vault());
    await expect(findRun(w.deps, "latest", "demo-vault")).rejects.toSatisfy(
      (e) =>
        isKvBackupError(e, "NotFound") && /no committed run of vault 'demo-vault'/.test(String(e.message)),
    );
    const r = await runBackup(w.deps, job());
    w.storage.documents.delete(r.manifestPath);
    await expect(findRun(w.deps, r.runId, "demo-vault")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "NotFound"),
    );
    await expect(findRun(w.deps, "latest", "demo-vault")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "NotFound"),
    );
  });
});

describe("a resumed run whose listing fails part-way", () => {
  it("keeps the earlier attempt's blobs of that kind (named as leftovers), and the plan says what the run holds", async () => {
    const w = world({}, { concurrency: 1 });
    const v = w.vault();
    for (let i = 0; i < 9; i++) v.put("secrets", `s${i}`, { updatedOn: "2026-11-26T01:00:00.000Z" });
    v.put("keys", "k1", { updatedOn: "2026-11-26T01:00:00.000Z" });
    const j = job();
    const ac = new AbortController();
    v.onBackup = (kind) => {
      if (kind === "keys") ac.abort();
    };
    await expect(runBackup(w.deps, j, { signal: ac.signal })).rejects.toThrow();
    v.onBackup = () => undefined;
    const secretBlobs = () => [...w.storage.blobs.keys()].filter((k) => k.includes("/secrets/"));
    expect(secretBlobs()).toHaveLength(9);
    let pages = 0;
    v.fault = (op, kind) =>
      op === "list" && kind === "secrets" && ++pages === 2 ? kvError(503, "ServiceUnavailable") : undefined;
    const r = await runBackup(w.deps, j);
    expect(r.status).toBe("partial");
    expect(secretBlobs()).toHaveLength(9);
    const m = manifestOf(w, r.manifestPath);
    const held = m.items.filter((i) => i.kind === "secrets").map((i) => i.blob);
    expect([...held, ...(m.leftovers ?? [])].sort()).toEqual(secretBlobs().sort());
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true });
    const plan = await planRestore(
      w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() })),
      m,
      {},
    );
    expect(plan.find((p) => p.name === "*")?.detail).toContain(
      "holds only the secrets listed before the failure",
    );
  });
});
