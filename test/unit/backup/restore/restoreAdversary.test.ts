import { describe, expect, it } from "vitest";
import { runBackup } from "../../../../src/backup/engine.js";
import { VaultLimiter } from "../../../../src/backup/limiter.js";
import { planRestore } from "../../../../src/backup/restore/plan.js";
import { runRestoreJob, submitRestore } from "../../../../src/backup/restore/restoreJobs.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { fakeClock } from "../../fakes/fakeClock.js";
import { job, manifestOf } from "../adversaryWorld.js";

describe("restore filters", () => {
  it("kinds: keys on a vault with certificates names each certificate's key as not in the backup", async () => {
    const w = world();
    seed(w.vault());
    const r = await runBackup(w.deps, job());
    const plan = await planRestore(
      w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() })),
      manifestOf(w, r.manifestPath),
      { kinds: ["keys"] },
    );
    expect(plan.filter((p) => p.action === "restore").map((p) => p.name)).toEqual(["dek", "signing"]);
    expect(plan.filter((p) => p.action === "not-in-backup")).toEqual([
      expect.objectContaining({ kind: "keys", name: "www", detail: expect.stringContaining("certificate") }),
    ]);
    const withCertificates = await planRestore(
      w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() })),
      manifestOf(w, r.manifestPath),
      { kinds: ["keys", "certificates"] },
    );
    expect(withCertificates.every((p) => p.action === "restore")).toBe(true);
  });
});

describe("queued restores", () => {
  it("'latest' is pinned when the restore is accepted: a run committed before the worker starts is not restored instead", async () => {
    const w = world();
    const v = w.vault();
    v.put("secrets", "db-password").put("secrets", "other");
    const good = await runBackup(w.deps, job({ tier: "manual" }));
    v.remove("secrets", "db-password");
    const asked = await submitRestore(w.deps, {
      runId: "latest",
      vault: "demo-vault",
      targetVault: "restore-vault",
    });
    if (asked.dryRun) throw new Error("not a dry run");
    expect(asked.runId).toBe(good.runId);
    // The damaged vault's own backup commits first.
    await runBackup(w.deps, job({ tier: "manual", runId: newRunId(new Date("2026-11-26T03:00:00Z")) }));
    const done = await runRestoreJob(w.deps, asked.restoreId);
    expect(done.status).toBe("succeeded");
    expect(done.report?.source.runId).toBe(good.runId);
    expect(w.vault("restore-vault").valueOf("secrets", "db-password")).toBeDefined();
  });

  it.each(["skip", "fail"] as const)(
    "delivered again after a cut-off (onConflict %s): what the earlier attempt restored is reported restored",
    async (onConflict) => {
      const w = world();
      w.vault().put("secrets", "a").put("secrets", "b");
      const run = await runBackup(w.deps, job({ tier: "manual" }));
      const asked = await submitRestore(w.deps, {
        runId: run.runId,
        vault: "demo-vault",
        targetVault: "restore-vault",
        onConflict,
      });
      if (asked.dryRun) throw new Error("not a dry run");
      // The earlier attempt restored "a", recorded it, and was cut off.
      w.vault("restore-vault").put("secrets", "a");
      const path = `restores/${asked.restoreId}.json`;
      const doc = w.storage.documents.get(path);
      if (!doc) throw new Error("no state");
      const state = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
      state.status = "running";
      state.progress = [{ kind: "secrets", name: "a", outcome: "restored" }];
      doc.bytes = Buffer.from(JSON.stringify(state));
      const done = await runRestoreJob(w.deps, asked.restoreId);
      expect(done.status).toBe("succeeded");
      expect(done.report?.results?.map((r) => `${r.name}:${r.outcome}`).sort()).toEqual([
        "a:restored",
        "b:restored",
      ]);
    },
  );
});
