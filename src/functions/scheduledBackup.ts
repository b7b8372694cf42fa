import type { InvocationContext, Timer } from "@azure/functions";
import type { EngineDeps } from "../backup/deps.js";
import { type QueuedRun, scheduleBackups } from "../backup/jobs.js";

/** Timer on %BACKUP_SCHEDULE%: one backup-jobs message per vault, tier weekly on BACKUP_WEEKLY_DAY. */
export const scheduledBackup =
  (deps: EngineDeps) =>
  async (timer: Timer, context: InvocationContext): Promise<QueuedRun[]> => {
    const { tier, runs } = await scheduleBackups(deps);
    context.log(
      `queued ${runs.length} ${tier} backup(s)${timer.isPastDue ? " (past due)" : ""}: ${runs.map((r) => `${r.vault}/${r.runId}`).join(", ")}`,
    );
    return runs;
  };
