import type { Diagnosis } from "../../domain/diagnosis.js";
import { KvBackupError } from "../../domain/errors.js";
import { countsOf, type InventoryRow } from "../../domain/inventory.js";
import { type Manifest, manifestBytes } from "../../domain/manifest.js";
import { isRunId, RuleText } from "../../domain/rules.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { findRun } from "./findRun.js";
import { readManifest } from "./readManifest.js";

export interface ShownRun {
  run: InventoryRow;
  manifest?: Manifest;
  /** Why the manifest is not shown although the run says it committed. */
  manifestProblem?: Diagnosis;
}

/** "A run", as GET /api/backups/{runId} and kvbackup show present it: its row and, once committed, its manifest. */
export async function showRun(deps: EngineDeps, runId: string, signal?: SignalLike): Promise<ShownRun> {
  if (!isRunId(runId))
    throw new KvBackupError("BadRequest", `'${runId.slice(0, 64)}' is not ${RuleText.runId}`);
  const row = await deps.inventory.get(runId, undefined, signal);
  if (!row) {
    // A committed run whose row was never written is still a run.
    const found = await findRun(deps, runId, undefined, signal).catch((e: unknown) => {
      if (e instanceof KvBackupError && e.code === "NotFound")
        throw new KvBackupError("NotFound", `no run ${runId}`);
      throw e;
    });
    const m = found.manifest;
    return {
      run: {
        vault: m.vault.name,
        runId,
        tier: m.tier,
        trigger: m.trigger,
        mode: m.mode,
        status: m.status,
        startedAt: m.startedAt,
        finishedAt: m.finishedAt,
        counts: countsOf(m),
        bytes: manifestBytes(m),
        manifest: found.manifestPath,
        manifestSha256: found.manifestSha256,
      },
      manifest: m,
    };
  }
  const sealed = row.status !== "running" && row.status !== "abandoned";
  const found = await readManifest(
    deps.documents,
    row.manifest,
    sealed ? row.manifestSha256 : undefined,
    signal,
  );
  if (found.state === "sound") return { run: row, manifest: found.manifest };
  if (found.state === "corrupt") return { run: row, manifestProblem: found.diagnosis };
  return { run: row };
}
