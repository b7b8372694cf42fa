import {
  drillMismatch,
  drillNothingToProve,
  drillVaultNotEmpty,
  noDrillVault,
} from "../../diagnosis/drill.js";
import { findVault, type VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { type DrillMismatch, type DrillRow, VersionWarning } from "../../domain/drill.js";
import { isKvBackupError } from "../../domain/errors.js";
import type { Manifest, ManifestItem } from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import type { Trigger } from "../../domain/vocabulary.js";
import { budgetOf, underBudget } from "../budget.js";
import { findRun } from "../catalog/findRun.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure, storageContext } from "../failures.js";
import { notInFleet, withFleet } from "../fleet.js";
import { holding } from "../holding.js";
import { VaultLimiter } from "../limiter.js";
import { Pool } from "../pool.js";
import { prove } from "./prove.js";
import {
  emptyScratch,
  foreignObjects,
  readDrillState,
  scratchContents,
  withManaged,
  writeDrillState,
} from "./scratch.js";

export interface DrillRequest {
  vault: string;
  drillId: string;
  trigger: Trigger;
}

export interface DrillResult extends DrillRow {
  /** Every mismatch (the row keeps the first 20). */
  mismatchList: DrillMismatch[];
  diagnosis?: Diagnosis;
}

export type DrillProgress = (phase: "restore" | "prove" | "clean", done: number, total: number) => void;

/**
 * A restore drill: the vault's newest committed run restored into the empty scratch vault, every
 * object proved there without reading a secret value, then everything the drill put there deleted
 * and purged. One drill at a time per scratch vault (its lease); the scratch vault must hold
 * nothing but an earlier drill's leftovers (recorded before that drill restored anything), which
 * are purged first. Succeeds only when every object of the run came back as it was and the scratch
 * vault is empty again. Ends with a row (type "drill"), the KeyVaultRestoreDrillCompleted event
 * and, when it proved the run, kvbackup.last_proven_restore.
 */
export async function runDrill(
  given: EngineDeps,
  req: DrillRequest,
  options: { signal?: SignalLike; onProgress?: DrillProgress } = {},
): Promise<DrillResult> {
  const deps = await withFleet(given, options.signal);
  const scratch = deps.config.drillVault;
  const vault = findVault(deps.config, req.vault);
  if (!vault) throw notInFleet(deps, req.vault);
  const row: DrillRow = {
    vault: vault.name,
    drillId: req.drillId,
    scratchVault: scratch?.name ?? "",
    trigger: req.trigger,
    status: "running",
    startedAt: deps.now().toISOString(),
    compared: 0,
    mismatches: 0,
    sample: [],
  };
  const mismatchList: DrillMismatch[] = [];
  const end = async (status: DrillRow["status"], diagnosis?: Diagnosis): Promise<DrillResult> => {
    const finishedAt = deps.now();
    const durationMs = Math.max(0, finishedAt.getTime() - Date.parse(row.startedAt));
    Object.assign(row, {
      status,
      finishedAt: finishedAt.toISOString(),
      durationMs,
      // Objects that differ (one object may differ in several fields).
      mismatches: new Set(mismatchList.map((m) => `${m.kind}/${m.name}`)).size,
      sample: mismatchList.slice(0, 20),
      ...(diagnosis ? { firstFailureCode: diagnosis.code } : {}),
    });
    await deps.drills.put(row).catch(() => undefined);
    deps.telemetry.drillEnded({
      vault: row.vault,
      drillId: row.drillId,
      ...(row.runId ? { runId: row.runId } : {}),
      status,
      compared: row.compared,
      mismatches: row.mismatches,
      durationMs,
      ...(diagnosis ? { firstFailureCode: diagnosis.code } : {}),
    });
    return { ...row, mismatchList, ...(diagnosis ? { diagnosis } : {}) };
  };
  if (!scratch) return end("failed", noDrillVault());
  try {
    await deps.drills.put(row);
    return await holding(
      options.signal,
      (onLost) => deps.leases.acquire(`drill-${scratch.name}`, onLost),
      `the drill lease on scratch vault '${scratch.name}' was lost mid-drill`,
      // Drills share the vaults' budgets: one slot of the source's subscription budget, as a run holds.
      (held) =>
        underBudget(deps, vault, held, (signal) =>
          drill(deps, vault, scratch, row, mismatchList, end, signal, options.onProgress),
        ),
    );
  } catch (e) {
    if (isKvBackupError(e, "Aborted", "LeaseLost", "AlreadyRunning", "BudgetBusy")) throw e;
    const ctx = isStorageFailure(e)
      ? storageContext(deps)
      : { vault: scratch.name, caller: deps.config.caller };
    const diagnosis = diagnosisOf(e, ctx);
    if (!diagnosis) throw e;
    return end("failed", diagnosis);
  }
}

async function drill(
  deps: EngineDeps,
  vault: VaultRef,
  scratch: VaultRef,
  row: DrillRow,
  mismatchList: DrillMismatch[],
  end: (status: DrillRow["status"], diagnosis?: Diagnosis) => Promise<DrillResult>,
  signal: SignalLike,
  onProgress?: DrillProgress,
): Promise<DrillResult> {
  // With the scratch vault's lease held no other drill is alive: one of this vault still "running" died.
  for (const dead of await deps.drills.list({ vault: vault.name, top: 20 }))
    if (dead.status === "running" && dead.drillId !== row.drillId) {
      const finishedAt = deps.now().toISOString();
      await deps.drills.put({ ...dead, status: "abandoned", finishedAt, firstFailureCode: "Abandoned" });
      deps.telemetry.drillEnded({
        vault: dead.vault,
        drillId: dead.drillId,
        ...(dead.runId ? { runId: dead.runId } : {}),
        status: "abandoned",
        compared: dead.compared,
        mismatches: dead.mismatches,
        durationMs: Math.max(0, Date.parse(finishedAt) - Date.parse(dead.startedAt)) || 0,
        firstFailureCode: "Abandoned",
      });
    }
  let manifest: Manifest;
  try {
    manifest = (await findRun(deps, "latest", vault.name, signal)).manifest;
  } catch (e) {
    if (!isKvBackupError(e, "NotFound", "CorruptManifest")) throw e;
    return end("failed", drillNothingToProve(vault.name, e.message));
  }
  row.runId = manifest.runId;
  // Drills share the vaults' budgets: the scratch vault's pace, and the source's for the comparison.
  const { ratePer10s } = budgetOf(deps, scratch);
  const scratchLimiter = new VaultLimiter({
    ratePer10s: Math.min(ratePer10s, deps.tuning.restoreRatePer10s),
  });
  const port = deps.vaults(scratch, scratchLimiter, {});
  const inspector = deps.inspect(scratch, scratchLimiter);
  const source = deps.inspect(vault, new VaultLimiter({ ratePer10s: budgetOf(deps, vault).ratePer10s }));

  // Safety: nothing in the scratch vault but the last drill's own leftovers, purged before anything else.
  const { state } = await readDrillState(deps.documents, scratch.name, signal);
  const present = await scratchContents(port, signal);
  const foreign = foreignObjects(present, state);
  if (foreign.length > 0) return end("failed", drillVaultNotEmpty(scratch.name, foreign));
  if (present.size > 0) {
    const blocked = await emptyScratch(inspector, scratch.name, present, signal);
    if (blocked) return end("failed", blocked);
  }

  const items = manifest.items;
  const objects = items.map((i) => `${i.kind}/${i.name}`);
  await writeDrillState(
    deps.documents,
    scratch.name,
    { drillId: row.drillId, vault: vault.name, runId: manifest.runId, objects, phase: "restoring" },
    signal,
  );
  let restoreRefused: Diagnosis | undefined;
  const restored: ManifestItem[] = [];
  const pool = new Pool(deps.tuning.restoreConcurrency);
  let done = 0;
  for (const item of items)
    await pool.submit(async () => {
      try {
        const bytes = await deps.blobs.read(item.blob, signal);
        if (sha256Hex(bytes) !== item.sha256) {
          mismatchList.push({
            kind: item.kind,
            name: item.name,
            field: "blob",
            expected: item.sha256,
            actual: sha256Hex(bytes),
          });
          return;
        }
        await port.restore(item.kind, bytes, signal);
        restored.push(item);
      } catch (e) {
        if (!isKeyVaultFailure(e)) throw e;
        const d = diagnosisOf(e, {
          vault: scratch.name,
          object: `${item.kind}/${item.name}`,
          caller: deps.config.caller,
        });
        restoreRefused ??= d;
        mismatchList.push({
          kind: item.kind,
          name: item.name,
          field: "restore",
          ...(d ? { actual: d.code } : {}),
        });
      } finally {
        onProgress?.("restore", ++done, items.length);
      }
    });
  await pool.drain();

  // Prove each object that came back, without a secret value: metadata, versions, public material.
  const near: string[] = [];
  done = 0;
  let againstSource = 0;
  for (const item of restored)
    await pool.submit(async () => {
      const [mine, theirs] = await Promise.all([
        inspector.facts(item.kind, item.name, signal),
        source.facts(item.kind, item.name, signal),
      ]);
      const proof = prove(item, mine, theirs);
      mismatchList.push(...proof.mismatches);
      if (proof.againstSource) againstSource++;
      if ((theirs?.versions.length ?? 0) >= VersionWarning) near.push(`${item.kind}/${item.name}`);
      row.compared++;
      onProgress?.("prove", ++done, restored.length);
    });
  await pool.drain();
  row.againstSource = againstSource;
  if (near.length) row.nearVersionLimit = near.sort();

  // Leave the scratch vault empty: everything restored (a certificate's key and secret included).
  await writeDrillState(
    deps.documents,
    scratch.name,
    { drillId: row.drillId, vault: vault.name, runId: manifest.runId, objects, phase: "cleaning" },
    signal,
  );
  onProgress?.("clean", 0, restored.length);
  const left = await scratchContents(port, signal);
  const blocked = await emptyScratch(
    inspector,
    scratch.name,
    [...withManaged(objects)].filter((o) => left.has(o)),
    signal,
  );
  if (blocked) return end("failed", blocked);
  await writeDrillState(
    deps.documents,
    scratch.name,
    { drillId: row.drillId, vault: vault.name, runId: manifest.runId, objects: [], phase: "clean" },
    signal,
  );
  onProgress?.("clean", restored.length, restored.length);
  mismatchList.sort((a, b) => (`${a.kind}/${a.name}` < `${b.kind}/${b.name}` ? -1 : 1));
  if (mismatchList.length > 0)
    return end(
      "failed",
      restoreRefused && mismatchList.every((m) => m.field === "restore")
        ? restoreRefused
        : drillMismatch(vault.name, manifest.runId, mismatchList.length, mismatchList[0]),
    );
  if (items.length === 0)
    return end("failed", drillNothingToProve(vault.name, `run ${manifest.runId} holds no object`));
  return end("succeeded");
}
