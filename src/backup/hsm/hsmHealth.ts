import { diagnoseHsmJob, hsmJobTimedOut } from "../../diagnosis/hsm.js";
import type { VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { hsmContainer } from "../../domain/hsmBackup.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { isKeyVaultFailure, isStorageFailure, storageContext } from "../failures.js";
import { hsmCallDiagnosis, untilDone } from "./hsmJobs.js";

export interface HsmHealth {
  name: string;
  url: string;
  ok: boolean;
  diagnosis?: Diagnosis;
  /** Why the check was not made (then ok is false: nothing was proven). */
  skipped?: string;
}

/**
 * The service's own pre-backup check, into the daily HSM container: the app may start a backup on
 * the HSM, and the HSM — as itself, through the storage firewall — may write the container.
 */
export async function hsmHealth(deps: EngineDeps, hsm: VaultRef, signal?: SignalLike): Promise<HsmHealth> {
  const container = hsmContainer(deps.config.container, "daily");
  const ctx = { ...storageContext(deps), container, hsm: hsm.name, hsmUrl: hsm.url };
  const fail = (diagnosis: Diagnosis | undefined): HsmHealth => ({
    name: hsm.name,
    url: hsm.url,
    ok: false,
    ...(diagnosis ? { diagnosis } : {}),
  });
  try {
    await deps.hsmFolders.ensure(container, signal);
    const port = deps.hsms(hsm);
    const quick = {
      clock: deps.clock,
      tuning: { ...deps.tuning, hsmJobTimeoutMs: Math.min(deps.tuning.hsmJobTimeoutMs, 120_000) },
    };
    const done = await untilDone(
      quick,
      await port.preBackup(deps.hsmFolders.containerUri(container), signal),
      (id) => port.backupStatus(id, signal),
      signal,
    );
    if (done.status === "Succeeded") return { name: hsm.name, url: hsm.url, ok: true };
    return fail(
      done.status === "InProgress"
        ? hsmJobTimedOut(hsm.name, done.jobId, 2, "backup")
        : diagnoseHsmJob(done, ctx, "backup"),
    );
  } catch (e) {
    if (!isKeyVaultFailure(e) && !isStorageFailure(e)) throw e;
    return fail(hsmCallDiagnosis(e, ctx, "backup", storageContext(deps)));
  }
}
