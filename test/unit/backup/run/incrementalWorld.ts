// What incremental.test.ts and incrementalAttacked.test.ts share: a day-by-day clock, runs, and their checks.
import { expect } from "vitest";
import { runBackup } from "../../../../src/backup/engine.js";
import { runRestore } from "../../../../src/backup/restore/runRestore.js";
import type { Manifest } from "../../../../src/domain/manifest.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { Kinds, type Tier } from "../../../../src/domain/vocabulary.js";
import type { world } from "../../fakes/deps.js";

export type World = ReturnType<typeof world>;

let clock = Date.parse("2026-11-20T02:00:00Z");

/** The next day: each run's runId is later than the one before, as the days go by. */
export const nextDay = (): Date => {
  clock += 86_400_000;
  return new Date(clock);
};

/** A run of demo-vault, a day after the one before. */
export const run = (w: World, over: { tier?: Tier; mode?: "full" | "incremental"; runId?: string } = {}) => {
  const day = nextDay();
  return runBackup(w.deps, {
    runId: over.runId ?? newRunId(day),
    vault: "demo-vault",
    tier: over.tier ?? "daily",
    trigger: "timer",
    ...(over.mode ? { mode: over.mode } : {}),
  });
};

export const manifestOf = (w: World, path: string): Manifest =>
  JSON.parse(Buffer.from(w.storage.documents.get(path)?.bytes ?? []).toString("utf8"));

/** Every object's value in a vault, by kind/name: what "a restore equals the vault" compares. */
export function contents(w: World, vault: string) {
  const v = w.vault(vault);
  const out: Record<string, string | undefined> = {};
  for (const kind of Kinds)
    for (const [name, o] of v.objects[kind])
      if (!o.info.managed) out[`${kind}/${name}`] = v.valueOf(kind, name);
  return out;
}

/** A restore of the run into an empty vault succeeds and equals demo-vault. */
export async function expectRestoresToTheVault(w: World, runId: string): Promise<void> {
  const report = await runRestore(w.deps, { runId, vault: "demo-vault", targetVault: "restore-vault" });
  expect(report.status).toBe("succeeded");
  expect(contents(w, "restore-vault")).toEqual(contents(w, "demo-vault"));
}

/**
 * A daily run of demo-vault stopped (aborted) at its n-th server-side copy: its job, to run again.
 * The copies go on as before once it stopped.
 */
export async function stoppedAtCopy(w: World, n: number) {
  const ac = new AbortController();
  let copies = 0;
  const copy = w.storage.blobStore.copy;
  w.storage.blobStore.copy = async (...args) => {
    if (++copies === n) ac.abort();
    return copy(...args);
  };
  const job = {
    runId: newRunId(nextDay()),
    vault: "demo-vault",
    tier: "daily" as const,
    trigger: "timer" as const,
  };
  await expect(runBackup(w.deps, job, { signal: ac.signal })).rejects.toThrow();
  w.storage.blobStore.copy = copy;
  return job;
}
