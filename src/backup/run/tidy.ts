import { emptyCounts } from "../../domain/inventory.js";
import type { SignalLike } from "../../domain/signal.js";
import { readManifest } from "../catalog/readManifest.js";
import type { EngineDeps } from "../deps.js";
import { abandonedRow } from "../lifecycle.js";
import { finalRow, type RunRecord } from "./record.js";

/**
 * Called with the vault's lease held, so no other run of the vault is alive: every other row of
 * the vault still "running" belongs to a run that died. One that had committed (its manifest is
 * sound) gets its final row from the manifest; the others are marked abandoned, with the event the
 * alerts read. A resumed run later writes its own row again.
 */
export async function tidyEarlierRuns(
  deps: EngineDeps,
  record: RunRecord,
  signal?: SignalLike,
): Promise<void> {
  const rows = await deps.inventory.list({ vault: record.vault.name, status: "running", top: 100 }, signal);
  for (const row of rows) {
    if (row.runId === record.job.runId) continue;
    const found = await readManifest(deps.documents, row.manifest, undefined, signal);
    if (found.state === "sound") {
      await deps.inventory.put(finalRow(row, found.manifest, found.sha256), signal);
      continue;
    }
    const dead = abandonedRow(deps, row);
    await deps.inventory.put(dead, signal);
    deps.telemetry.run({ runId: row.runId, vault: row.vault, tier: row.tier, trigger: row.trigger }).end({
      status: dead.status,
      counts: emptyCounts(),
      bytes: 0,
      durationMs: dead.durationMs,
      firstFailureCode: dead.firstFailureCode,
    });
  }
}
