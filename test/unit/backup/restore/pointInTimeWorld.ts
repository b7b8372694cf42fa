// What the point-in-time restore tests share: a vault's history of runs and event backups.
import { runBackup } from "../../../../src/backup/engine.js";
import { backupEvent } from "../../../../src/backup/events/backupEvent.js";
import { runRestore } from "../../../../src/backup/restore/runRestore.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, type world } from "../../fakes/deps.js";

export type W = ReturnType<typeof world>;

export const backUp = async (w: W) => {
  const r = await runBackup(w.deps, {
    runId: newRunId(w.deps.now()),
    vault: "demo-vault",
    tier: "daily",
    trigger: "timer",
  });
  return { runId: r.runId, finishedAt: w.storage.rows.get(r.runId)?.finishedAt as string };
};

/** The event backup of a new version of secret `name`, its event made at `at` (default: now). */
export const evented = (w: W, name: string, at?: string) =>
  backupEvent(w.deps, {
    eventId: `e-${name}`,
    eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
    vault: "demo-vault",
    kind: "secrets",
    name,
    version: `v${Math.floor(Math.random() * 1e6)}`,
    at: at ?? w.deps.now().toISOString(),
  });

/** A vault with a run, then changes evented after it, then a point in time, then another run. */
export async function history(w: W) {
  seed(w.vault());
  const first = await backUp(w);
  w.vault().put("secrets", "alpha"); // a new version of alpha (its value changes)
  const alphaThen = w.vault().valueOf("secrets", "alpha");
  const alphaEvent = await evented(w, "alpha");
  w.vault().put("secrets", "zulu"); // created after the run
  const zuluEvent = await evented(w, "zulu");
  const at = w.deps.now().toISOString();
  w.vault().put("secrets", "alpha"); // changed again after the point in time
  await evented(w, "alpha");
  const second = await backUp(w);
  return { first, second, at, alphaThen, alphaEvent, zuluEvent };
}

/** demo-vault into restore-vault as of `at` (a dry run when asked). */
export const restoreAt = (w: W, at: string, dryRun = false) =>
  runRestore(w.deps, { runId: "latest", at, vault: "demo-vault", targetVault: "restore-vault", dryRun });
