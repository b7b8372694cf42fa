import type { SignalLike } from "../../domain/signal.js";
import { readManifest } from "../catalog/readManifest.js";
import type { EngineDeps } from "../deps.js";
import { finalRow, type RunRecord, type RunResult } from "./record.js";

/**
 * Did this runId commit before (a redelivered message, or a delivery that ran while this one
 * waited)? A sound manifest — checked against the SHA-256 its final row recorded — answers with its
 * counts and no second event, and repairs a row that never went final. A damaged one is refused,
 * and never gets a fresh SHA-256 in its row.
 */
export async function priorCommit(
  deps: EngineDeps,
  record: RunRecord,
  signal?: SignalLike,
): Promise<RunResult | undefined> {
  const row = await deps.inventory.get(record.job.runId, record.vault.name, signal);
  const sealed = row?.status === "succeeded" || row?.status === "partial";
  const found = await readManifest(
    deps.documents,
    record.manifestPath,
    sealed ? row?.manifestSha256 : undefined,
    signal,
  );
  if (found.state === "absent") return undefined;
  if (found.state === "corrupt") return record.damaged(found.diagnosis);
  if (!sealed)
    await deps.inventory
      .put(finalRow(row ?? record.row("running"), found.manifest, found.sha256))
      .catch(() => undefined);
  return record.endedBefore(found.manifest);
}
