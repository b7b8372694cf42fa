import type { InvocationContext, Timer } from "@azure/functions";
import { enqueueBackups, type QueuedRun, tierFor } from "./jobs.js";
import { getApp } from "./runtime.js";

/** Timer on %BACKUP_SCHEDULE%: one backup-jobs message per vault, tier weekly on BACKUP_WEEKLY_DAY. */
export async function scheduledBackup(
  timer: Timer,
  context: InvocationContext,
  now: Date = new Date(),
): Promise<QueuedRun[]> {
  const app = getApp();
  const tier = tierFor(now, app.config.weeklyDay);
  const runs = await enqueueBackups(app, app.config.vaults, tier, "timer");
  context.log(
    `queued ${runs.length} ${tier} backup(s)${timer.isPastDue ? " (past due)" : ""}: ${runs.map((r) => `${r.vault}/${r.runId}`).join(", ")}`,
  );
  return runs;
}
