import type { Diagnosis } from "../../domain/diagnosis.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isStorageFailure, storageContext } from "../failures.js";
import type { RunRecord, RunResult } from "./record.js";

/**
 * Proves the storage paths a run writes to before any Key Vault call: the container (write and
 * delete a probe blob) and the inventory table (write and delete a probe row). A blocked path
 * fails the run here, once, with one diagnosis.
 */
export async function preflight(deps: EngineDeps, signal?: SignalLike): Promise<Diagnosis | undefined> {
  try {
    await deps.blobs.probe(signal);
    await deps.inventory.probe(signal);
    return undefined;
  } catch (e) {
    if (!isStorageFailure(e)) throw e;
    return diagnosisOf(e, storageContext(deps));
  }
}

/**
 * Storage refused the commit check or the lease itself (after the preflight passed): the run ends
 * here, recorded, with that one diagnosis. Anything else is not ours to record: thrown again.
 */
export function endRefusedByStorage(deps: EngineDeps, record: RunRecord, e: unknown): Promise<RunResult> {
  if (!isStorageFailure(e)) throw e;
  const diagnosis = diagnosisOf(e, storageContext(deps));
  return record.end("failed", {
    bytes: 0,
    failed: [],
    ...(diagnosis ? { diagnosis } : {}),
    stoppedAt: "preflight",
  });
}
