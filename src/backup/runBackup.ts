import { refusalDiagnosis } from "../diagnosis/local.js";
import { findVault } from "../domain/config.js";
import { isKvBackupError } from "../domain/errors.js";
import type { BackupJob, EngineDeps } from "./deps.js";
import { runHsm } from "./hsm/runHsm.js";
import { RunRecord, type RunResult } from "./run/record.js";
import { type RunOptions, runVault } from "./run/runVault.js";

/**
 * One backup job, a vault's (run/runVault.ts) or a Managed HSM's (hsm/runHsm.ts). Every way it
 * ends gives a result with a final row and the event; only a run stopped from outside (an abort,
 * the lease lost) or refused (not allowed, already running) throws — except on the queue's last
 * delivery, where a refused job leaves a failed run behind, row and event, instead of vanishing
 * into the poison queue unseen.
 */
export async function runBackup(
  given: EngineDeps,
  job: BackupJob,
  options: RunOptions = {},
): Promise<RunResult> {
  try {
    return job.hsm ? await runHsm(given, job, options.signal) : await runVault(given, job, options);
  } catch (e) {
    const refusal = isKvBackupError(e, "VaultNotAllowed", "DiscoveryIncomplete", "BudgetBusy");
    if (!options.lastDelivery || !refusal) throw e;
    const record = new RunRecord(
      given,
      job,
      findVault(given.config, job.vault) ?? { name: job.vault, url: "" },
      [],
    );
    return record.end("failed", {
      bytes: 0,
      failed: [],
      diagnosis: e.diagnosis ?? refusalDiagnosis(e),
      stoppedAt: "preflight",
    });
  }
}
