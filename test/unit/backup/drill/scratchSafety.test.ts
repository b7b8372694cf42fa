import { describe, expect, it } from "vitest";
import { runDrill } from "../../../../src/backup/drill/runDrill.js";
import { drillStatePath } from "../../../../src/backup/drill/scratch.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { checkHealth } from "../../../../src/backup/health.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { afterEachRestore, backup, drill, drillVault, empty, killedDrill, writeState } from "./drillWorld.js";

describe("a restore drill and the scratch vault: only its own leftovers, only on a trusted record", () => {
  it("refuses a scratch vault that holds anything it did not put there; nothing restored, nothing deleted", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    await backup(w);
    w.vault("drill-vault").put("secrets", "someone-elses");
    const r = await drill(w);
    expect([r.status, r.diagnosis?.code]).toEqual(["failed", "DrillVaultNotEmpty"]);
    expect(r.diagnosis?.cause).toContain("secrets/someone-elses");
    expect([...w.vault("drill-vault").objects.secrets.keys()]).toEqual(["someone-elses"]);
  });

  it("purges the leftovers of a drill that was killed (its record, backed by its row and its run, says what it restored) and goes on", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    const run = await backup(w);
    const scratch = w.vault("drill-vault");
    scratch.put("secrets", "alpha").put("keys", "dek");
    scratch.deleted.secrets.add("bravo");
    await killedDrill(w, run.runId, ["secrets/alpha", "secrets/bravo", "keys/dek"]);
    const r = await drill(w);
    expect(r.status).toBe("succeeded");
    expect(empty(w)).toBe(true);
  });

  it("a record edited into another shape is no record: read against its schema, as manifests are, it purges nothing (issue 22)", async () => {
    for (const edit of [
      (state: Record<string, unknown>) => ({ ...state, note: "added" }),
      (state: Record<string, unknown>) => ({ ...state, phase: "done" }),
      (state: Record<string, unknown>) => ({ ...state, objects: ["secrets/alpha", "../../etc"] }),
    ]) {
      const w = world({ drillVault });
      seed(w.vault());
      const run = await backup(w);
      w.vault("drill-vault").put("secrets", "alpha");
      await killedDrill(w, run.runId, ["secrets/alpha"]);
      const path = drillStatePath("drill-vault");
      const state = JSON.parse(
        Buffer.from((await w.deps.documents.read(path))?.bytes as Uint8Array).toString(),
      );
      await w.deps.documents.replace(path, Buffer.from(JSON.stringify(edit(state))));
      const r = await drill(w);
      expect([r.status, r.diagnosis?.code]).toEqual(["failed", "DrillVaultNotEmpty"]);
      expect(w.vault("drill-vault").objects.secrets.has("alpha")).toBe(true);
    }
  });

  it("a forged record (no drill row behind it, another scratch vault, or objects not in its run) purges nothing", async () => {
    const forgeries: [string, (w: ReturnType<typeof world>, runId: string) => Promise<unknown>][] = [
      ["no row", async (w, runId) => writeState(w, { drillId: "forged", runId, objects: ["secrets/mine"] })],
      [
        "a row of another scratch vault",
        async (w, runId) => {
          await killedDrill(w, runId, ["secrets/mine"]);
          const row = [...w.storage.drillRows.values()][0];
          if (row) w.storage.drillRows.set(row.drillId, { ...row, scratchVault: "elsewhere" });
        },
      ],
      ["an object its run does not hold", async (w, runId) => killedDrill(w, runId, ["secrets/mine"])],
    ];
    for (const [what, forge] of forgeries) {
      const w = world({ drillVault });
      seed(w.vault());
      const run = await backup(w);
      w.vault("drill-vault").put("secrets", "mine");
      await forge(w, run.runId);
      const r = await drill(w);
      expect([what, r.status, r.diagnosis?.code]).toEqual([what, "failed", "DrillVaultNotEmpty"]);
      expect(w.vault("drill-vault").objects.secrets.has("mine")).toBe(true);
    }
  });

  it("a record forged to point at a real drill that failed before it restored anything purges nothing (issue 20)", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    const run = await backup(w);
    // Someone's own secret in the scratch vault, named like one of the run's: the first drill refuses.
    w.vault("drill-vault").put("secrets", "alpha");
    const first = await drill(w);
    expect([first.status, first.diagnosis?.code, first.runId]).toEqual([
      "failed",
      "DrillVaultNotEmpty",
      run.runId,
    ]);
    // A record naming that real drill, its run, and the object: the drill's row shows it restored nothing.
    await writeState(w, { drillId: first.drillId, runId: run.runId, objects: ["secrets/alpha"] });
    const second = await drill(w);
    expect([second.status, second.diagnosis?.code]).toEqual(["failed", "DrillVaultNotEmpty"]);
    expect(w.vault("drill-vault").objects.secrets.has("alpha")).toBe(true);
    // Nor does a record that names more than the drill set out to restore.
    const w2 = world({ drillVault });
    seed(w2.vault());
    const run2 = await backup(w2);
    await killedDrill(w2, run2.runId, ["secrets/bravo"]);
    w2.vault("drill-vault").put("secrets", "alpha");
    w2.vault("drill-vault").put("secrets", "bravo");
    const rows = [...w2.storage.drillRows.values()];
    await writeState(w2, {
      drillId: rows[0]?.drillId as string,
      runId: run2.runId,
      objects: ["secrets/alpha", "secrets/bravo"],
    });
    const third = await drill(w2);
    expect([third.status, third.diagnosis?.code]).toEqual(["failed", "DrillVaultNotEmpty"]);
    expect(w2.vault("drill-vault").objects.secrets.has("alpha")).toBe(true);
  });

  it("a killed drill's record, replayed after the next drill purged its leftovers, vouches for nothing (adversary, issue 20)", async () => {
    const w = world({ drillVault });
    seed(w.vault());
    await backup(w);
    const scratch = w.vault("drill-vault");
    const kill = new AbortController();
    let restores = 0;
    let killing = true;
    afterEachRestore(scratch, () => {
      if (killing && ++restores === 3) kill.abort(new Error("killed"));
    });
    const killedId = newRunId(new Date(Date.now() - 60_000));
    await expect(
      runDrill(w.deps, { vault: "demo-vault", drillId: killedId, trigger: "timer" }, { signal: kill.signal }),
    ).rejects.toThrow();
    killing = false;
    const record = (await w.deps.documents.read(drillStatePath("drill-vault")))?.bytes as Uint8Array;
    // The next drill purges the killed drill's leftovers and succeeds (that must keep working) ...
    expect((await drill(w)).status).toBe("succeeded");
    expect(w.storage.drillRows.get(killedId)).toMatchObject({ status: "abandoned" });
    expect(w.storage.drillRows.get(killedId)?.inScratch).toBeUndefined();
    // ... and the killed drill's own record, put back later, no longer makes someone's object a leftover.
    scratch.put("secrets", "alpha", { tags: { owner: "someone" } });
    await w.deps.documents.replace(drillStatePath("drill-vault"), record);
    const replayed = await drill(w);
    expect([replayed.status, replayed.diagnosis?.code]).toEqual(["failed", "DrillVaultNotEmpty"]);
    expect(scratch.objects.secrets.has("alpha")).toBe(true);
  });

  it("refuses a scratch vault this app has backed up (it holds data of its own), and names a drill already running", async () => {
    const w = world({ drillVault }, { drillPollMs: 10 });
    seed(w.vault());
    await backup(w);
    await runBackup(w.deps, {
      runId: newRunId(new Date()),
      vault: "demo-vault",
      tier: "daily",
      trigger: "timer",
    });
    w.storage.rows.set("x", {
      ...[...w.storage.rows.values()][0],
      vault: "drill-vault",
      runId: "x",
    } as never);
    const r = await drill(w);
    expect([r.status, r.diagnosis?.code]).toEqual(["failed", "DrillVaultInUse"]);
    w.storage.rows.delete("x");
    const held = await w.deps.leases.acquire("drill-drill-vault", () => undefined);
    await expect(
      runDrill(
        w.deps,
        { vault: "demo-vault", drillId: newRunId(new Date()), trigger: "cli" },
        { waitForScratchMs: 0 },
      ),
    ).rejects.toThrow(/a restore drill into scratch vault 'drill-vault' is running/);
    // A queued drill waits for the scratch vault instead (every vault's drill uses the one vault).
    const waiting = runDrill(w.deps, {
      vault: "demo-vault",
      drillId: newRunId(new Date()),
      trigger: "timer",
    });
    await held.release();
    expect((await waiting).status).toBe("succeeded");
    expect([...w.storage.drillRows.values()].every((d) => d.status !== "running")).toBe(true);
  });

  it("a scratch vault discovery would back up (it carries BACKUP_VAULT_TAG) is refused, and doctor says so (adversary recheck)", async () => {
    const w = world({
      drillVault,
      subscriptions: ["11111111-1111-4111-8111-00000000000a"],
      vaultTag: { name: "backup", value: "true" },
    });
    w.directory.add("11111111-1111-4111-8111-00000000000a", "drill-vault", { backup: "true" });
    seed(w.vault());
    await backup(w);
    const r = await drill(w);
    expect([r.status, r.diagnosis?.code]).toEqual(["failed", "DrillVaultInUse"]);
    expect(r.diagnosis?.cause).toContain("carries the backup tag");
    const health = await checkHealth(w.deps);
    expect(health.drillVault).toMatchObject({ ok: false, problem: { code: "DrillVaultInUse" } });
    expect(health.ok).toBe(false);
  });
});
