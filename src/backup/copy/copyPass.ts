import { copyDiagnosis } from "../../diagnosis/copy.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { isKvBackupError } from "../../domain/errors.js";
import type { InventoryRow } from "../../domain/inventory.js";
import type { SignalLike } from "../../domain/signal.js";
import { findRun } from "../catalog/findRun.js";
import { copyEvents, type EventsCopied } from "./copyEvent.js";
import { copyLagSeconds } from "./copyLag.js";
import { type CopyDeps, type CopyResult, copyRun, recordCopy, rowCopy } from "./copyRun.js";

/** How many of a vault's uncopied runs one pass copies at most (the newest first); the next pass goes on. */
export const CopyCatchUpRuns = 10;

/**
 * A failed copy that trying again cannot mend: the copy holds other bytes at the run's paths (it is
 * append-only), or the backup account's own blob is damaged. Its row keeps saying so; passes move on.
 */
const Final = new Set(["CopyMismatch", "CorruptBlob"]);

/** A run the copy still owes: committed, and not copied (never tried, or tried and failed in a way another try may mend). */
const owed = (r: InventoryRow): boolean =>
  (r.status === "succeeded" || r.status === "partial") &&
  r.copy?.status !== "copied" &&
  !Final.has(r.copy?.code ?? "");

/** One vault's pass: its runs and its event backups. */
export interface CopyPass {
  vault: string;
  runs: CopyResult[];
  events: EventsCopied;
  /** How far the vault's copy is behind after the pass (copyLagSeconds). */
  lagSeconds?: number;
  /** The backup account's inventory could not be read: the runs the copy owes are not known (not "none"). */
  unread?: Diagnosis;
}

/**
 * Copies what the copy owes of one vault: `first` (the run that just committed) before anything,
 * then its other committed runs not yet copied (newest first, at most CopyCatchUpRuns), then its
 * event backups. Each run's outcome goes on its row and into telemetry. Never throws.
 */
export async function copyPass(
  deps: CopyDeps,
  vault: string,
  first?: string,
  signal?: SignalLike,
): Promise<CopyPass> {
  const runs: CopyResult[] = [];
  const one = async (runId: string): Promise<void> => {
    let result: CopyResult;
    try {
      result = await copyRun(deps, await findRun(deps, runId, vault, signal), signal);
    } catch (e) {
      if (isKvBackupError(e, "Aborted")) throw e;
      // The run's manifest could not be read from the primary: nothing to copy from, said as such.
      const diagnosis = isKvBackupError(e) && e.diagnosis ? e.diagnosis : copyDiagnosis(e, deps.copy.where);
      result = { runId, vault, status: "failed", blobs: 0, bytes: 0, added: 0, durationMs: 0, diagnosis };
    }
    runs.push(result);
    await recordCopy(deps, result, signal);
  };
  if (first) await one(first);
  let rows: InventoryRow[] = [];
  let unread: Diagnosis | undefined;
  try {
    rows = await deps.inventory.list({ vault, top: 100 }, signal);
  } catch (e) {
    if (isKvBackupError(e, "Aborted")) throw e;
    // The inventory cannot be read: the run that committed was copied; the others wait for a pass that can.
    unread = copyDiagnosis(e, deps.copy.where);
  }
  for (const r of rows
    .filter(owed)
    .filter((r) => r.runId !== first)
    .slice(0, CopyCatchUpRuns))
    await one(r.runId);
  const events = await copyEvents(deps, vault, signal);
  const lag = unread ? undefined : copyLagSeconds(afterPass(rows, runs, deps.now()), deps.now());
  for (const r of runs) emit(deps, r, lag);
  return {
    vault,
    runs,
    events,
    ...(lag !== undefined ? { lagSeconds: lag } : {}),
    ...(unread ? { unread } : {}),
  };
}

/** The vault's rows as this pass left them: each run it copied (or failed to) with that copy. */
const afterPass = (rows: readonly InventoryRow[], runs: readonly CopyResult[], at: Date): InventoryRow[] =>
  rows.map((r) => {
    const done = runs.find((c) => c.runId === r.runId);
    return done && done.status !== "skipped"
      ? { ...r, copy: rowCopy({ ...done, status: done.status }, at) }
      : r;
  });

function emit(deps: CopyDeps, r: CopyResult, lagSeconds: number | undefined): void {
  if (r.status === "skipped") return;
  deps.telemetry.copyEnded({
    runId: r.runId,
    vault: r.vault,
    status: r.status,
    blobs: r.blobs,
    bytes: r.bytes,
    durationMs: r.durationMs,
    ...(lagSeconds !== undefined ? { lagSeconds } : {}),
    ...(r.method ? { method: r.method } : {}),
    ...(r.diagnosis ? { code: r.diagnosis.code } : {}),
  });
}
