import { diagnoseHsmJob, hsmJobTimedOut } from "../../diagnosis/hsm.js";
import { findHsm, type VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { KvBackupError } from "../../domain/errors.js";
import type { HsmBackupRecord } from "../../domain/hsmBackup.js";
import { ObjectNamePattern, RuleText } from "../../domain/rules.js";
import type { SignalLike } from "../../domain/signal.js";
import { findRun } from "../catalog/findRun.js";
import { verifyRun } from "../catalog/verifyRun.js";
import type { EngineDeps } from "../deps.js";
import { storageContext } from "../failures.js";
import { hsmCallDiagnosis, restoredVersions, untilDone } from "./hsmJobs.js";

export interface HsmRestoreRequest {
  runId: string;
  hsm: string;
  /** Selective key restore: every version of this key. */
  key?: string;
  /** Full restore: every key of the HSM is replaced by the backup's. Never implied. */
  full?: boolean;
}

export interface HsmRestoreResult {
  runId: string;
  hsm: string;
  folder: string;
  key?: string;
  full: boolean;
  status: "succeeded" | "partial" | "failed";
  jobId?: string;
  /** What the HSM said it did (selective restore: versions restored and not overwritten). */
  restoredVersions?: number;
  notOverwritten?: number;
  message: string;
  diagnosis?: Diagnosis;
}

/** The request, checked: one key or (asked explicitly) the whole HSM, of a configured HSM. */
function checkedRequest(deps: EngineDeps, req: HsmRestoreRequest): VaultRef {
  const hsm = findHsm(deps.config, req.hsm);
  if (!hsm)
    throw new KvBackupError(
      "VaultNotAllowed",
      `'${req.hsm.slice(0, 64)}' is not a Managed HSM of BACKUP_MANAGED_HSMS`,
    );
  if ((req.full === true) === (req.key !== undefined))
    throw new KvBackupError(
      "BadRequest",
      "an HSM restore restores one key (--key K) or, asked explicitly, the whole HSM (--full-restore): exactly one",
    );
  if (req.key !== undefined && !ObjectNamePattern.test(req.key))
    throw new KvBackupError(
      "BadRequest",
      `'${req.key.slice(0, 64)}' is not a key name (${RuleText.objectName})`,
    );
  return hsm;
}

type Base = Omit<HsmRestoreResult, "status" | "message">;

/** What a selective restore's finished job says it did: "succeeded" only when versions came back and none was left. */
function keyRestoreResult(
  base: Base,
  hsm: string,
  folder: string,
  key: string,
  details?: string,
): HsmRestoreResult {
  const counts = restoredVersions(details);
  const numbers = {
    ...base,
    ...(counts.restored !== undefined ? { restoredVersions: counts.restored } : {}),
    ...(counts.notOverwritten !== undefined ? { notOverwritten: counts.notOverwritten } : {}),
  };
  if ((counts.notOverwritten ?? 0) > 0)
    return {
      ...numbers,
      status: (counts.restored ?? 0) > 0 ? "partial" : "failed",
      message: `the HSM could not overwrite ${counts.notOverwritten} version(s) of key '${key}': the key still exists in the HSM. Delete and purge it first (az keyvault key delete --hsm-name ${hsm} -n ${key}; az keyvault key purge --hsm-name ${hsm} -n ${key}), then restore again`,
    };
  if (counts.restored === undefined)
    return {
      ...base,
      status: "partial",
      message: `the HSM reported the job Succeeded without saying how many versions of '${key}' it restored (${details ?? "no details"}); check the key before relying on it`,
    };
  if (counts.restored === 0)
    return {
      ...numbers,
      status: "failed",
      message: `the HSM restored no version of key '${key}' from ${folder}: the backup may not hold it`,
    };
  return {
    ...numbers,
    status: "succeeded",
    message: `restored ${counts.restored} version(s) of key '${key}' into Managed HSM '${hsm}'`,
  };
}

/**
 * Restores from a Managed HSM run: one key (every version of it), or — asked explicitly — the whole
 * HSM. The run's folder is verified first (a damaged backup is never handed to the HSM); the job is
 * watched to its end, and "succeeded" means the HSM said it restored versions and overwrote none.
 */
export async function restoreHsm(
  deps: EngineDeps,
  req: HsmRestoreRequest,
  signal?: SignalLike,
): Promise<HsmRestoreResult> {
  const hsm = checkedRequest(deps, req);
  const { manifest, row } = await findRun(deps, req.runId, hsm.name, signal);
  // Throws CorruptManifest unless the manifest is this HSM's own record; then re-hashes its folder.
  const verified = await verifyRun(deps, manifest, signal, row);
  const backup = manifest.hsm as HsmBackupRecord;
  const base: Base = {
    runId: manifest.runId,
    hsm: hsm.name,
    folder: backup.folder,
    full: req.full === true,
    ...(req.key !== undefined ? { key: req.key } : {}),
  };
  if (!verified.ok) {
    const first = verified.problems[0];
    return {
      ...base,
      status: "failed",
      message: `the backup folder is not as the run recorded it (${verified.problems.length} problem(s)); nothing was restored`,
      ...(first?.diagnosis ? { diagnosis: first.diagnosis } : {}),
    };
  }
  const ctx = { ...storageContext(deps), container: backup.container, hsm: hsm.name, hsmUrl: hsm.url };
  const port = deps.hsms(hsm);
  const uri = deps.hsmFolders.containerUri(backup.container);
  let started: Awaited<ReturnType<typeof port.restoreStatus>>;
  try {
    started = req.full
      ? await port.startFullRestore(uri, backup.folder, signal)
      : await port.startKeyRestore(uri, backup.folder, req.key as string, signal);
  } catch (e) {
    const diagnosis = hsmCallDiagnosis(e, ctx, "restore", ctx);
    if (!diagnosis) throw e;
    return { ...base, status: "failed", message: diagnosis.cause, diagnosis };
  }
  const done = await untilDone(deps, started, (id) => port.restoreStatus(id, signal), signal);
  const withJob = { ...base, jobId: done.jobId };
  if (done.status !== "Succeeded") {
    const diagnosis =
      done.status === "InProgress"
        ? hsmJobTimedOut(hsm.name, done.jobId, deps.tuning.hsmJobTimeoutMs / 60_000, "restore")
        : diagnoseHsmJob(done, ctx, "restore");
    return { ...withJob, status: "failed", message: diagnosis.cause, diagnosis };
  }
  if (req.full)
    return {
      ...withJob,
      status: "succeeded",
      message: `Managed HSM '${hsm.name}' was restored from ${backup.folder}`,
    };
  return keyRestoreResult(withJob, hsm.name, backup.folder, req.key as string, done.statusDetails);
}
