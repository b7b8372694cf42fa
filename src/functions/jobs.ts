import { z } from "zod";
import type { App } from "../app.js";
import type { Tier, Trigger } from "../backup/manifest.js";
import { newRunId, RunIdPattern } from "../backup/runId.js";
import type { BackupJob } from "../backup/runVault.js";
import { type Kind, Kinds, type VaultRef, type WeekDay, WeekDays } from "../config.js";
import { KvBackupError } from "../errors.js";

export const JobSchema = z.object({
  runId: z.string().regex(RunIdPattern),
  vault: z.string().regex(/^[0-9A-Za-z-]{3,24}$/),
  tier: z.enum(["daily", "weekly", "manual"]),
  trigger: z.enum(["timer", "http", "cli"]),
  kinds: z.array(z.enum(Kinds)).min(1).optional(),
});

/** A queue message, checked: a malformed one fails (and ends in the poison queue), it never runs. */
export function parseJob(message: unknown): BackupJob {
  const raw = typeof message === "string" ? safeJson(message) : message;
  const r = JobSchema.safeParse(raw);
  if (!r.success)
    throw new KvBackupError(
      "BadRequest",
      `not a backup job: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data as BackupJob;
}

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

/** The day's tier: weekly on BACKUP_WEEKLY_DAY (UTC, the Functions timer's clock), else daily. */
export function tierFor(at: Date, weeklyDay: WeekDay): Tier {
  return WeekDays[at.getUTCDay()] === weeklyDay ? "weekly" : "daily";
}

export interface QueuedRun {
  runId: string;
  vault: string;
  status: "queued";
}

/** One job per vault on backup-jobs: the Functions host spreads them over instances. */
export async function enqueueBackups(
  app: App,
  vaults: readonly VaultRef[],
  tier: Tier,
  trigger: Trigger,
  kinds?: Kind[],
): Promise<QueuedRun[]> {
  const runs: QueuedRun[] = [];
  const at = new Date();
  for (const v of vaults) {
    const job: BackupJob = {
      runId: newRunId(at),
      vault: v.name,
      tier,
      trigger,
      ...(kinds?.length ? { kinds } : {}),
    };
    await app.backupJobs.send(job);
    runs.push({ runId: job.runId, vault: v.name, status: "queued" });
  }
  return runs;
}
