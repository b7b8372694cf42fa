import type { InvocationContext, Timer } from "@azure/functions";
import { type EngineDeps, type QueuedRun, scheduleBackups } from "../backup/engine.js";

/** Timer on %BACKUP_SCHEDULE%: one backup-jobs message per vault, tier weekly on BACKUP_WEEKLY_DAY. */
export const scheduledBackup =
  (deps: EngineDeps) =>
  async (timer: Timer, context: InvocationContext): Promise<QueuedRun[]> => {
    const { tier, runs, missing, unread } = await scheduleBackups(deps);
    context.log(
      `queued ${runs.length} ${tier} backup(s)${timer.isPastDue ? " (past due)" : ""}: ${runs.map((r) => `${r.vault}/${r.runId}`).join(", ")}`,
    );
    for (const u of unread)
      context.error(
        `discovery could not read subscription ${u.subscription}: ${u.diagnosis.code}: ${u.diagnosis.cause} Fix: ${u.diagnosis.fix}`,
      );
    for (const m of missing)
      context.error(
        `vault ${m.vault} is no longer backed up (run ${m.runId} recorded failed): ${m.diagnosis.code}: ${m.diagnosis.cause}`,
      );
    return runs;
  };
