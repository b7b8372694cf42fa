import type { Kind, OnConflict, RunStatus } from "../../domain/vocabulary.js";
import type { PlanEntry, RestoreEntry, RestoreOutcome } from "./restoreTypes.js";

/**
 * Skipped by the conflict policy and still there: an object of that name exists in the target. A
 * name held by a soft-deleted object is never "as asked" — the vault has no such object, only its
 * recycle bin does — whatever the policy: it is reported with how to recover or purge it.
 */
const skippedByPolicy = (outcome: RestoreOutcome, onConflict: OnConflict, heldBy?: Kind): boolean =>
  onConflict === "skip" && outcome === "skipped-exists" && heldBy === undefined;

/**
 * An object whose restore went as asked: restored, or skipped because an object of its own kind and
 * name is in the target and the policy says skip (a key or secret holding a certificate's name is
 * not the certificate).
 */
export const restoredAsAsked = (outcome: RestoreOutcome, onConflict: OnConflict, heldBy?: Kind): boolean =>
  outcome === "restored" || skippedByPolicy(outcome, onConflict, heldBy);

/**
 * The truth about a restore: succeeded only when every object (and kind) asked for is restored or
 * deliberately skipped by the conflict policy because the target holds it; anything not in the
 * backup, failed, held by a soft-deleted object, or in conflict under "fail" makes it partial
 * (some went as asked) or failed (none did).
 */
export function restoreStatus(
  results: readonly Pick<RestoreEntry, "outcome" | "heldBy">[],
  onConflict: OnConflict,
): RunStatus {
  const ok = results.filter((r) => restoredAsAsked(r.outcome, onConflict, r.heldBy)).length;
  if (ok === results.length) return "succeeded";
  return ok > 0 ? "partial" : "failed";
}

const planned: Record<PlanEntry["action"], RestoreOutcome> = {
  restore: "restored",
  "skip-exists": "skipped-exists",
  "skip-deleted": "skipped-deleted",
  "not-in-backup": "not-in-backup",
};

/** What a plan would end as if every restore it plans went through. */
export const expectedStatus = (plan: readonly PlanEntry[], onConflict: OnConflict): RunStatus =>
  restoreStatus(
    plan.map((p) => ({ outcome: planned[p.action], ...(p.heldBy ? { heldBy: p.heldBy } : {}) })),
    onConflict,
  );
