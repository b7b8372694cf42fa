import { copyDiagnosis, copyMismatch } from "../../diagnosis/copy.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { isKvBackupError } from "../../domain/errors.js";
import type { SignalLike } from "../../domain/signal.js";
import { rehash } from "../catalog/verifyRun.js";
import type { EngineDeps } from "../deps.js";

/**
 * One event backup, just written, added to the isolated copy and read back against its SHA-256, so
 * the copy lags continuous protection by minutes, not by a day. Never throws: a failure is named
 * and the next run's pass adds what is missing.
 */
export async function copyEventBackup(
  deps: EngineDeps,
  blob: string,
  signal?: SignalLike,
): Promise<"copied" | Diagnosis> {
  const copy = deps.copy;
  if (!copy) return copyDiagnosis(new Error("no isolated copy"), "");
  try {
    const [written] = [...(await deps.blobs.list(blob, signal)).values()].filter((b) => b.name === blob);
    if (!written?.sha256) return copyMismatch(`event backup ${blob}`, [blob]);
    await copy.add(
      blob,
      { sha256: written.sha256, ...(written.eventAt ? { eventAt: written.eventAt } : {}) },
      signal,
    );
    const read = await rehash(copy.blobs, blob, written.sha256, signal);
    return read.problem ? copyMismatch(`event backup ${blob}`, [blob]) : "copied";
  } catch (e) {
    if (isKvBackupError(e, "Aborted")) throw e;
    return copyDiagnosis(e, copy.where);
  }
}
