import { diagnoseHsmCall } from "../../diagnosis/hsm.js";
import type { Diagnosis, DiagnosisContext } from "../../domain/diagnosis.js";
import { failureOf } from "../../domain/errors.js";
import type { HsmJobState } from "../../domain/hsmBackup.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isStorageFailure } from "../failures.js";
import { keepTrying } from "../wait.js";

/**
 * Waits for an HSM job to end: reads its status every tuning.hsmPollMs (longer when the service's
 * Retry-After says so) until Succeeded, Failed or Canceled, or until tuning.hsmJobTimeoutMs passes:
 * then the last state, still InProgress, is returned and the caller says so.
 */
export async function untilDone(
  deps: Pick<EngineDeps, "tuning" | "clock">,
  started: HsmJobState,
  status: (jobId: string) => Promise<HsmJobState>,
  signal?: SignalLike,
): Promise<HsmJobState> {
  let state = started;
  const { hsmPollMs, hsmJobTimeoutMs } = deps.tuning;
  await keepTrying(
    deps.clock,
    {
      limitMs: hsmJobTimeoutMs,
      pauseMs: () => Math.max(hsmPollMs, Math.min(state.retryAfterMs ?? 0, 60_000)),
      signal,
    },
    async (n) => {
      if (n > 0) state = { ...(await status(started.jobId)), jobId: started.jobId };
      return state.status === "InProgress" ? undefined : state;
    },
  );
  return state;
}

/**
 * A selective key restore's statusDetails, as the service words it: "Number of successful key
 * versions restored: 2, Number of key versions could not overwrite: 0". A job that Succeeded but
 * restored nothing, or could not overwrite versions (the key was not purged first), did not restore
 * the key: the counts say so.
 */
export function restoredVersions(details: string | undefined): {
  restored?: number;
  notOverwritten?: number;
} {
  const restored = /successful key versions restored:\s*(\d+)/i.exec(details ?? "")?.[1];
  const notOverwritten = /could not overwrite:\s*(\d+)/i.exec(details ?? "")?.[1];
  return {
    ...(restored !== undefined ? { restored: Number(restored) } : {}),
    ...(notOverwritten !== undefined ? { notOverwritten: Number(notOverwritten) } : {}),
  };
}

/**
 * The diagnosis of a failed call to a Managed HSM or to storage on its behalf: the HSM's own
 * (local RBAC, busy, not an HSM) first; else the Key Vault diagnosis of the same failure, which
 * names the HSM (the data planes share their error shapes, not their name).
 */
export function hsmCallDiagnosis(
  e: unknown,
  ctx: DiagnosisContext & { hsm: string },
  what: "backup" | "restore",
  storageCtx: DiagnosisContext,
): Diagnosis | undefined {
  const f = failureOf(e, "keyvault");
  const own = f ? diagnoseHsmCall(f, ctx, what) : undefined;
  if (own) return own;
  if (isStorageFailure(e)) return diagnosisOf(e, storageCtx);
  // The Key Vault diagnosis of the same failure: the context's hsm makes it name the HSM.
  return diagnosisOf(e, ctx);
}
