import { refusalDiagnosis } from "../diagnosis/local.js";
import { findVault } from "../domain/config.js";
import { isKvBackupError } from "../domain/errors.js";
import type { SignalLike } from "../domain/signal.js";
import { copyPass } from "./copy/copyPass.js";
import type { BackupJob, EngineDeps } from "./deps.js";
import { runHsm } from "./hsm/runHsm.js";
import { RunRecord, type RunResult } from "./run/record.js";
import { type RunOptions, runVault } from "./run/runVault.js";

/**
 * After a vault's run committed, the isolated copy (when set): this run first, then what the copy
 * still owes of the vault. The run's verdict is final before and stays as it is; an abort mid-copy
 * leaves the rest to the next pass.
 */
async function withCopy(deps: EngineDeps, result: RunResult, signal?: SignalLike): Promise<RunResult> {
  if (!deps.copy || (result.status !== "succeeded" && result.status !== "partial")) return result;
  try {
    return {
      ...result,
      copy: await copyPass({ ...deps, copy: deps.copy }, result.vault, result.runId, signal),
    };
  } catch (e) {
    if (isKvBackupError(e, "Aborted")) return result;
    throw e;
  }
}

/** A Managed HSM's committed run is not copied: with the copy on, the event says so (skipped). */
function hsmNotCopied(deps: EngineDeps, result: RunResult): RunResult {
  if (deps.copy && (result.status === "succeeded" || result.status === "partial"))
    deps.telemetry.copyEnded({
      runId: result.runId,
      vault: result.vault,
      status: "skipped",
      blobs: 0,
      bytes: 0,
      durationMs: 0,
      code: "CopyNotForHsm",
    });
  return result;
}

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
    if (job.hsm) return hsmNotCopied(given, await runHsm(given, job, options.signal));
    return await withCopy(given, await runVault(given, job, options), options.signal);
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
