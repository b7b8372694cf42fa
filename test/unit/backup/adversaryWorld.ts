// What runAdversary.test.ts, resumeAdversary.test.ts, restoreAdversary.test.ts, verifyAdversary.test.ts share: their setup and helpers.
import { expect } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import type { Manifest } from "../../../src/domain/manifest.js";
import { newRunId } from "../../../src/domain/runId.js";
import type { world } from "../fakes/deps.js";

/**
 * Regressions for what an adversary broke in the engine: each attack, then what must hold — and,
 * where data is at stake, that the run still restores or verifies as it says.
 */
export const job = (over: Partial<Parameters<typeof runBackup>[1]> = {}) => ({
  runId: newRunId(new Date("2026-11-26T02:00:00Z")),
  vault: "demo-vault",
  tier: "daily" as const,
  trigger: "timer" as const,
  ...over,
});

export const manifestOf = (w: ReturnType<typeof world>, path: string): Manifest =>
  JSON.parse(Buffer.from(w.storage.documents.get(path)?.bytes ?? []).toString("utf8"));

/** Runs a secrets-only backup that stops (aborted) when the backup of `stopAt` starts. */
export async function interrupted(w: ReturnType<typeof world>, stopAt: string) {
  const v = w.vault();
  const ac = new AbortController();
  v.onBackup = (_k, name) => {
    if (name === stopAt) ac.abort();
  };
  const j = job({ kinds: ["secrets"] });
  await expect(runBackup(w.deps, j, { signal: ac.signal })).rejects.toThrow();
  v.onBackup = () => undefined;
  return j;
}
