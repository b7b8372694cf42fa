import type { Diagnosis } from "../../domain/diagnosis.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isStorageFailure, storageContext } from "../failures.js";

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
