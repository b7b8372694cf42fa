import { describe, expect, it } from "vitest";
import { runDrill } from "../../../src/backup/drill/runDrill.js";
import { drillStatePath, scratchDigest } from "../../../src/backup/drill/scratch.js";
import { runBackup } from "../../../src/backup/engine.js";
import { checkHealth } from "../../../src/backup/health.js";
import { azureCallError } from "../../../src/domain/errors.js";
import { newRunId } from "../../../src/domain/runId.js";
import type { Kind } from "../../../src/domain/vocabulary.js";
import { seed, world } from "../fakes/deps.js";
import { storageError } from "../fakes/memoryStorage.js";
import { kvError, type MemoryVault } from "../fakes/memoryVault.js";

const drillVault = { name: "drill-vault", url: "https://drill-vault.vault.azure.net" };
const backup = (w: ReturnType<typeof world>) =>
  runBackup(w.deps, { runId: newRunId(new Date()), vault: "demo-vault", tier: "daily", trigger: "timer" });
const drill = (w: ReturnType<typeof world>) =>
  runDrill(w.deps, { vault: "demo-vault", drillId: newRunId(new Date()), trigger: "cli" });
/** Runs hook after each restore into the vault: a stand-in for what happens in the middle of a drill. */
function afterEachRestore(v: MemoryVault, hook: (kind: Kind) => void): void {
  const original = v.port.bind(v);
  v.port = (budget) => {
    const p = original(budget);
    return {
      ...p,
      restore: async (kind, bytes, signal) => {
        await p.restore(kind, bytes, signal);
        hook(kind);
      },
    };
  };
}

/** Writes (or overwrites) the scratch vault's drill record, as a drill or a forger would. */
async function writeState(
  w: ReturnType<typeof world>,
  state: { drillId: string; runId: string; objects: string[] },
): Promise<void> {
  const bytes = Buffer.from(JSON.stringify({ ...state, vault: "demo-vault", phase: "restoring" }));
  if (!(await w.deps.documents.create(drillStatePath("drill-vault"), bytes)))
    await w.deps.documents.replace(drillStatePath("drill-vault"), bytes);
}
/** What a drill killed mid-restore leaves: its row ("running", this scratch vault, its run) and its record. */
async function killedDrill(w: ReturnType<typeof world>, runId: string, objects: string[]): Promise<void> {
  const drillId = newRunId(new Date("2026-11-25T04:00:00Z"));
  await w.deps.drills.put({
    vault: "demo-vault",
    drillId,
    runId,
    scratchVault: "drill-vault",
    trigger: "timer",
    status: "running",
    startedAt: "2026-11-25T04:00:00Z",
    compared: 0,
    mismatches: 0,
    sample: [],
    inScratch: scratchDigest(objects),
  });
  await writeState(w, { drillId, runId, objects });
}
const empty = (w: ReturnType<typeof world>) => {
  const v = w.vault("drill-vault");
  return [...Object.values(v.objects), ...Object.values(v.deleted)].every((m) => m.size === 0);
};

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
});
