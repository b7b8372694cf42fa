// What drill.test.ts and scratchSafety.test.ts share: their setup and helpers.
import { runDrill } from "../../../../src/backup/drill/runDrill.js";
import { drillStatePath, scratchDigest } from "../../../../src/backup/drill/scratch.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { newRunId } from "../../../../src/domain/runId.js";
import type { Kind } from "../../../../src/domain/vocabulary.js";
import type { world } from "../../fakes/deps.js";
import type { MemoryVault } from "../../fakes/memoryVault.js";

export const drillVault = { name: "drill-vault", url: "https://drill-vault.vault.azure.net" };

export const backup = (w: ReturnType<typeof world>) =>
  runBackup(w.deps, { runId: newRunId(new Date()), vault: "demo-vault", tier: "daily", trigger: "timer" });

export const drill = (w: ReturnType<typeof world>) =>
  runDrill(w.deps, { vault: "demo-vault", drillId: newRunId(new Date()), trigger: "cli" });

/** Runs hook after each restore into the vault: a stand-in for what happens in the middle of a drill. */
export function afterEachRestore(v: MemoryVault, hook: (kind: Kind) => void): void {
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
export async function writeState(
  w: ReturnType<typeof world>,
  state: { drillId: string; runId: string; objects: string[]; at?: string },
): Promise<void> {
  const bytes = Buffer.from(JSON.stringify({ ...state, vault: "demo-vault", phase: "restoring" }));
  if (!(await w.deps.documents.create(drillStatePath("drill-vault"), bytes)))
    await w.deps.documents.replace(drillStatePath("drill-vault"), bytes);
}

/** What a drill killed mid-restore leaves: its row ("running", this scratch vault, its run) and its record. */
export async function killedDrill(
  w: ReturnType<typeof world>,
  runId: string,
  objects: string[],
  /** A point-in-time drill's time (its row and its record carry it). */
  at?: string,
): Promise<void> {
  const drillId = newRunId(new Date("2026-11-25T04:00:00Z"));
  await w.deps.drills.put({
    vault: "demo-vault",
    drillId,
    runId,
    ...(at ? { at } : {}),
    scratchVault: "drill-vault",
    trigger: "timer",
    status: "running",
    startedAt: "2026-11-25T04:00:00Z",
    compared: 0,
    mismatches: 0,
    sample: [],
    inScratch: scratchDigest(objects),
  });
  await writeState(w, { drillId, runId, objects, ...(at ? { at } : {}) });
}

export const empty = (w: ReturnType<typeof world>) => {
  const v = w.vault("drill-vault");
  return [...Object.values(v.objects), ...Object.values(v.deleted)].every((m) => m.size === 0);
};
