import type { InvocationContext } from "@azure/functions";
import {
  type BackupQueueJob,
  type DrillJob,
  type DrillResult,
  type EngineDeps,
  handleEventMessage,
  type RestoreState,
  type RunResult,
  runBackup,
  runDrill,
  runRestoreJob,
} from "../backup/engine.js";
import { isQueueProbe } from "../domain/config.js";
import { KvBackupError } from "../domain/errors.js";
import { check } from "./http.js";
import { BackupJobMessage, RestoreJobMessage } from "./schemas.js";

/** A queue message as the host hands it over: already parsed JSON, or its text. */
function messageOf<T>(message: unknown, schema: Parameters<typeof check<T>>[0], what: string): T {
  let raw = message;
  if (typeof message === "string") {
    try {
      raw = JSON.parse(message);
    } catch {
      raw = message;
    }
  }
  const r = check(schema, raw);
  if (!r.ok) throw new KvBackupError("BadRequest", `not a ${what}: ${r.detail}`);
  return r.value;
}

/** A doctor's or /api/health's probe message whose delete was refused: not work, done with at once. */
function probeLeftBehind(message: unknown, context: InvocationContext): boolean {
  if (!isQueueProbe(message)) return false;
  context.warn(
    "a queue probe of kvbackup doctor or /api/health was left behind (its delete was refused): ignored",
  );
  return true;
}

/** host.json's extensions.queues.maxDequeueCount: after this delivery the message goes to the poison queue. */
export const MaxDequeueCount = 5;
const lastDelivery = (context: InvocationContext): boolean =>
  Number(context.triggerMetadata?.dequeueCount ?? 0) >= MaxDequeueCount;

/**
 * Queue trigger on backup-jobs: runs one vault. A failed run throws, so the host delivers the
 * message again (the same runId resumes) and, in the end, moves it to backup-jobs-poison; a
 * partial run completes and reports. Its row and event are written either way.
 */
export const backupWorker =
  (deps: EngineDeps) =>
  async (message: unknown, context: InvocationContext): Promise<RunResult | DrillResult | undefined> => {
    if (probeLeftBehind(message, context)) return undefined;
    const job = messageOf<BackupQueueJob>(message, BackupJobMessage, "backup job");
    if (job.drill) return drillJob(deps, job, context);
    const r = await runBackup(deps, job, { lastDelivery: lastDelivery(context) });
    const summary = `${r.vault} ${r.runId}: ${r.status}, ${r.bytes} bytes in ${r.durationMs} ms`;
    const d = r.diagnosis ?? r.failed[0]?.diagnosis;
    if (r.status === "failed") {
      context.error(`backup failed: ${summary}${d ? ` — ${d.code}: ${d.cause} Fix: ${d.fix}` : ""}`);
      throw new KvBackupError("RunFailed", `backup of ${r.vault} failed (${d?.code ?? "no objects"})`, {
        retryable: true,
        ...(d ? { diagnosis: d } : {}),
      });
    }
    if (r.status === "partial")
      context.warn(
        `backup partial: ${summary}; failed: ${r.failed.map((f) => `${f.kind}/${f.name} ${f.code}`).join(", ")}`,
      );
    else context.log(`backup ${r.alreadyCommitted ? "already committed" : "succeeded"}: ${summary}`);
    if (r.inventoryStale)
      context.warn(
        `backup ${r.runId} committed, but its inventory row could not be written; the next run repairs it`,
      );
    return r;
  };

/**
 * A drill job: its outcome is a result (a row, the event), never a redelivery — running the whole
 * drill again would not change what it found. Only a drill that could not run (the scratch vault's
 * lease held by another drill, storage unreachable) throws, so the host delivers it again.
 */
async function drillJob(deps: EngineDeps, job: DrillJob, context: InvocationContext): Promise<DrillResult> {
  const d = await runDrill(deps, { vault: job.vault, drillId: job.runId, trigger: job.trigger });
  const summary = `${d.vault} drill ${d.drillId} of run ${d.runId ?? "-"}: ${d.status}, ${d.compared} compared, ${d.mismatches} mismatched`;
  if (d.status === "succeeded") context.log(`restore drill succeeded: ${summary}`);
  else
    context.error(
      `restore drill failed: ${summary}${d.diagnosis ? ` — ${d.diagnosis.code}: ${d.diagnosis.cause} Fix: ${d.diagnosis.fix}` : ""}`,
    );
  return d;
}

/** Queue trigger on restore-jobs. Objects that fail are results, not retries; only storage trouble throws. */
export const restoreWorker =
  (deps: EngineDeps) =>
  async (message: unknown, context: InvocationContext): Promise<RestoreState | undefined> => {
    if (probeLeftBehind(message, context)) return undefined;
    const { restoreId } = messageOf<{ restoreId: string }>(message, RestoreJobMessage, "restore job");
    const state = await runRestoreJob(deps, restoreId);
    context.log(`restore ${restoreId}: ${state.status}`);
    return state;
  };

/**
 * Queue trigger on BACKUP_EVENTS_QUEUE (continuous protection, preview): backs up the object one
 * Key Vault event names. Not work (another event type), not protected or gone: logged, done. A
 * message that is not an event, or a backup that fails, throws: the host delivers it again and,
 * at last, moves it to the poison queue.
 */
export const eventWorker =
  (deps: EngineDeps) =>
  async (message: unknown, context: InvocationContext): Promise<void> => {
    const r = await handleEventMessage(deps, message);
    if ("ignored" in r) {
      context.log(`event ignored: ${r.ignored} is not a new version`);
      return;
    }
    const what = `${r.vault} ${r.kind}/${r.name} version ${r.version}`;
    if (r.outcome === "deferred") {
      // Back on the queue for later, as Base64 of its JSON (how Event Grid writes it): this
      // delivery then completes, so waiting for the hold never counts toward the poison queue.
      // A string the host handed over is JSON text (decoded) or, undecoded, already Base64: the
      // latter goes back as it came (Base64 of Base64 would not read as an event again).
      const text = typeof message === "string" ? message.trim() : JSON.stringify(message);
      const encoded = /^[[{]/.test(text) ? Buffer.from(text, "utf8").toString("base64") : text;
      const queue = deps.events;
      if (!queue) throw new Error("eventWorker runs only with BACKUP_EVENTS_QUEUE set");
      await queue.sendLater(encoded, deps.tuning.eventDeferSeconds);
      context.log(`event deferred ${deps.tuning.eventDeferSeconds} s: ${what} (${r.reason ?? ""})`);
      return;
    }
    if (r.outcome === "backed-up" || r.outcome === "duplicate")
      context.log(`event ${r.outcome}: ${what} -> ${r.blob}`);
    else context.warn(`event ${r.outcome}: ${what} (${r.reason ?? ""})`);
  };
