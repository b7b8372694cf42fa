import type { HsmJobState } from "../../domain/hsm.js";
import { delay, type SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";

/**
 * Waits for an HSM job to end: reads its status every tuning.hsmPollMs (longer when the service's
 * Retry-After says so) until Succeeded, Failed or Canceled, or until tuning.hsmJobTimeoutMs passes:
 * then the last state, still InProgress, is returned and the caller says so.
 */
export async function untilDone(
  deps: Pick<EngineDeps, "tuning">,
  started: HsmJobState,
  status: (jobId: string) => Promise<HsmJobState>,
  signal?: SignalLike,
): Promise<HsmJobState> {
  let state = started;
  const deadline = Date.now() + deps.tuning.hsmJobTimeoutMs;
  while (state.status === "InProgress" && Date.now() < deadline) {
    const wait = Math.max(deps.tuning.hsmPollMs, Math.min(state.retryAfterMs ?? 0, 60_000));
    await delay(Math.min(wait, Math.max(0, deadline - Date.now())), signal);
    state = { ...(await status(started.jobId)), jobId: started.jobId };
  }
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
