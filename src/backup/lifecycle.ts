import type { EngineDeps } from "./deps.js";

/*
 * What every kind of run (a vault's or an HSM's backup, a drill) shares at its end: when it
 * finished and how long it took, from the start its row recorded; and the row of one found still
 * "running" by a run holding the same lease — no other run is alive, so that one died.
 */

/** When a run that started at `startedAt` ends now, on the deps' calendar (never a negative or NaN duration). */
export function finishing(
  deps: Pick<EngineDeps, "now">,
  startedAt: string | Date,
): { finishedAt: string; durationMs: number } {
  const finishedAt = deps.now();
  const started = typeof startedAt === "string" ? Date.parse(startedAt) : startedAt.getTime();
  return {
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.max(0, finishedAt.getTime() - started) || 0,
  };
}

/** The row of a run that died while "running": abandoned, now, with the code the alerts read. */
export function abandonedRow<R extends { startedAt: string }>(
  deps: Pick<EngineDeps, "now">,
  row: R,
): R & { status: "abandoned"; finishedAt: string; durationMs: number; firstFailureCode: "Abandoned" } {
  return { ...row, status: "abandoned", ...finishing(deps, row.startedAt), firstFailureCode: "Abandoned" };
}
