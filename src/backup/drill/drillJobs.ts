import { noDrillVault } from "../../diagnosis/drill.js";
import { findVault } from "../../domain/config.js";
import { KvBackupError } from "../../domain/errors.js";
import { normalVaultName } from "../../domain/rules.js";
import { newRunId } from "../../domain/runId.js";
import { type Trigger, unique } from "../../domain/vocabulary.js";
import type { DrillJob, EngineDeps } from "../deps.js";
import { notInFleet, withFleet } from "../fleet.js";

export interface QueuedDrill {
  drillId: string;
  vault: string;
  status: "queued";
}

/** The vaults to drill: the ones asked for (each in the fleet), else every vault of the fleet. */
export async function drillTargets(given: EngineDeps, vaults?: readonly string[]): Promise<string[]> {
  const deps = await withFleet(given);
  if (!deps.config.drillVault)
    throw new KvBackupError("BadRequest", noDrillVault().cause, { diagnosis: noDrillVault() });
  const names = unique((vaults ?? deps.config.vaults.map((v) => v.name)).map(normalVaultName));
  const unknown = names.filter((n) => !findVault(deps.config, n));
  if (unknown.length > 0) throw notInFleet(deps, unknown.map((n) => n.slice(0, 64)).join(", "));
  return names;
}

/**
 * One drill job per vault on backup-jobs (drills take as long as restores: they run in the queue
 * worker, not in the timer or an HTTP request). Each drill holds the scratch vault's lease, so a
 * fleet's drills run one after another into it.
 */
export async function enqueueDrills(
  deps: EngineDeps,
  req: { vaults?: readonly string[] | undefined; trigger: Trigger },
): Promise<QueuedDrill[]> {
  const names = await drillTargets(deps, req.vaults);
  const out: QueuedDrill[] = [];
  const at = deps.now();
  for (const vault of names) {
    const job: DrillJob = { runId: newRunId(at), vault, tier: "manual", trigger: req.trigger, drill: true };
    await deps.backupJobs.send(job);
    out.push({ drillId: job.runId, vault, status: "queued" });
  }
  return out;
}
