import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isStorageFailure, storageContext } from "../failures.js";
import { holding } from "../holding.js";
import { preflight } from "./preflight.js";
import { priorCommit } from "./priorCommit.js";
import type { RunRecord, RunResult } from "./record.js";

/**
 * The frame every run goes through, a vault's or a Managed HSM's: the storage preflight; a commit
 * already made (a redelivered message) answers as it was; the lease on the vault or HSM named by
 * the record, and the commit checked again under it (another delivery may have committed while
 * this one waited); then the work, with a signal that fires when the lease is lost. Storage
 * refusing the preflight, the commit check or the lease ends the run here, recorded, with its one
 * diagnosis; anything else is thrown.
 */
export async function framedRun(
  deps: EngineDeps,
  record: RunRecord,
  signal: SignalLike | undefined,
  what: "vault" | "Managed HSM",
  work: (signal: SignalLike) => Promise<RunResult>,
): Promise<RunResult> {
  const blocked = await preflight(deps, signal);
  if (blocked)
    return record.end("failed", { bytes: 0, failed: [], diagnosis: blocked, stoppedAt: "preflight" });
  try {
    const before = await priorCommit(deps, record, signal);
    if (before) return before;
    const { name } = record.vault;
    return await holding(
      signal,
      (onLost) => deps.leases.acquire(name, onLost, signal),
      `the lease on ${what} '${name}' was lost mid-run; another run may own it now`,
      async (held) => (await priorCommit(deps, record, held)) ?? work(held),
    );
  } catch (e) {
    if (!isStorageFailure(e)) throw e;
    const diagnosis = diagnosisOf(e, storageContext(deps));
    return record.end("failed", {
      bytes: 0,
      failed: [],
      ...(diagnosis ? { diagnosis } : {}),
      stoppedAt: "preflight",
    });
  }
}
