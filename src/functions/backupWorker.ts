import type { InvocationContext } from "@azure/functions";
import { type RunResult, runVault } from "../backup/runVault.js";
import { KvBackupError } from "../errors.js";
import { parseJob } from "./jobs.js";
import { getApp } from "./runtime.js";

/**
 * Queue trigger on backup-jobs: runs one vault. A failed run throws, so the host retries the
 * message and, in the end, moves it to backup-jobs-poison; a partial run completes and reports.
 */
export async function backupWorker(message: unknown, context: InvocationContext): Promise<RunResult> {
  const job = parseJob(message);
  const result = await runVault(getApp().engine, job);
  const summary = `${result.vault} ${result.runId}: ${result.status}, ${result.bytes} bytes in ${result.durationMs} ms`;
  if (result.status === "failed") {
    const d = result.preflight ?? result.failed[0]?.diagnosis;
    context.error(`backup failed: ${summary}${d ? ` — ${d.code}: ${d.cause} Fix: ${d.fix}` : ""}`);
    throw new KvBackupError("RunFailed", `backup of ${result.vault} failed (${d?.code ?? "unknown"})`, {
      retryable: true,
    });
  }
  if (result.status === "partial") {
    context.warn(
      `backup partial: ${summary}; failed: ${result.failed.map((f) => `${f.kind}/${f.name} ${f.code}`).join(", ")}`,
    );
  } else {
    context.log(`backup ${result.alreadyCommitted ? "already committed" : "succeeded"}: ${summary}`);
  }
  return result;
}
