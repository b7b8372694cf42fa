import {
  drillNothingToProve,
  drillVaultInUse,
  drillVaultNotEmpty,
  noDrillVault,
} from "../../diagnosis/drill.js";
import { findVault, type VaultRef } from "../../domain/config.js";
import type { Diagnosis, DiagnosisContext } from "../../domain/diagnosis.js";
import type { DrillMismatch, DrillRow } from "../../domain/drillRecord.js";
import { failureOf, isKvBackupError } from "../../domain/errors.js";
import type { Manifest } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import { fromCopy } from "../copy/fromCopy.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isStorageFailure, storageContext } from "../failures.js";
import { notInFleet, withFleet } from "../fleet.js";
import { holding } from "../holding.js";
import { abandonedRow, finishing } from "../lifecycle.js";
import { VaultLimiter } from "../limiter.js";
import { pointInTime } from "../restore/runRestore.js";
import { budgetOf, underBudget } from "../subscriptionBudget.js";
import { drilledManifest } from "./drilledManifest.js";
import type { DrillPorts, DrillProgress, DrillRequest, DrillResult, DrillWork } from "./drillTypes.js";
import { drillLease, scratchInUse, trustedState } from "./guards.js";
import { restoreProveClean } from "./restoreProve.js";
import {
  emptyScratch,
  foreignObjects,
  readDrillState,
  scratchContents,
  scratchDigest,
  withManaged,
  writeDrillState,
} from "./scratch.js";

/**
 * Whose failure it is: storage's, the scratch vault's (the drill role), or the source vault's (the
 * drill reads it with the backup role) — the vault named is the one the adapter called.
 */
function failureContext(deps: EngineDeps, scratch: VaultRef, e: unknown): DiagnosisContext {
  if (isStorageFailure(e)) return storageContext(deps);
  const vault = failureOf(e)?.resource ?? scratch.name;
  return { vault, caller: deps.config.caller, purpose: vault === scratch.name ? "drill" : "backup" };
}

/** How every drill ends: the row final (its mismatches counted by object), saved, and the event. */
const drillEnder =
  (deps: EngineDeps, row: DrillRow, mismatchList: DrillMismatch[]) =>
  async (status: DrillRow["status"], diagnosis?: Diagnosis): Promise<DrillResult> => {
    const { finishedAt, durationMs } = finishing(deps, row.startedAt);
    Object.assign(row, {
      status,
      finishedAt,
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
  options: {
    signal?: SignalLike;
    onProgress?: DrillProgress;
    /** How long to wait while another drill holds the scratch vault (default tuning.drillWaitMs; the CLI: 0). */
    waitForScratchMs?: number;
  } = {},
): Promise<DrillResult> {
  const deps = await withFleet(given, options.signal);
  const scratch = deps.config.drillVault;
  const vault = findVault(deps.config, req.vault);
  if (!vault) throw notInFleet(deps, req.vault);
  // A point in time is checked as a restore's is (of a real day, with its zone, not in the future).
  const at = pointInTime(req, deps.now());
  const source = req.from === "copy" ? fromCopy(deps) : deps;
  const row: DrillRow = {
    vault: vault.name,
    drillId: req.drillId,
    ...(at ? { at: at.toISOString() } : {}),
    ...(req.from ? { from: req.from } : {}),
    scratchVault: scratch?.name ?? "",
    trigger: req.trigger,
    status: "running",
    startedAt: deps.now().toISOString(),
    compared: 0,
    mismatches: 0,
    sample: [],
  };
  const mismatchList: DrillMismatch[] = [];
  const end = drillEnder(deps, row, mismatchList);
  if (!scratch) return end("failed", noDrillVault());
  try {
    // The scratch vault is the drill's alone: never a vault this app backs up or has backed up.
    const inUse = await scratchInUse(deps, scratch, options.signal);
    if (inUse) return end("failed", drillVaultInUse(scratch.name, inUse));
    const waitMs = options.waitForScratchMs ?? deps.tuning.drillWaitMs;
    return await holding(
      options.signal,
      (onLost) => drillLease(deps, scratch, onLost, waitMs, options.signal),
      `the drill lease on scratch vault '${scratch.name}' was lost mid-drill`,
      // Drills share the vaults' budgets: one slot of the source's subscription budget, as a run holds.
      async (held) => {
        await deps.drills.put(row, held);
        return underBudget(deps, vault, held, (signal) =>
          drill({
            deps,
            source,
            vault,
            scratch,
            row,
            mismatchList,
            end,
            signal,
            onProgress: options.onProgress,
          }),
        );
      },
    );
  } catch (e) {
    if (isKvBackupError(e, "Aborted", "LeaseLost", "AlreadyRunning", "BudgetBusy")) throw e;
    const diagnosis = diagnosisOf(e, failureContext(deps, scratch, e));
    if (!diagnosis) throw e;
    return end("failed", diagnosis);
  }
}

/** With the scratch vault's lease held no other drill is alive: one of this vault still "running" died. */
async function abandonDeadDrills(
  deps: EngineDeps,
  vault: string,
  drillId: string,
  signal: SignalLike,
): Promise<void> {
  for (const row of await deps.drills.list({ vault, top: 20 }, signal))
    if (row.status === "running" && row.drillId !== drillId) {
      const dead = abandonedRow(deps, row);
      await deps.drills.put(dead, signal);
      deps.telemetry.drillEnded({
        vault: dead.vault,
        drillId: dead.drillId,
        ...(dead.runId ? { runId: dead.runId } : {}),
        status: dead.status,
        compared: dead.compared,
        mismatches: dead.mismatches,
        durationMs: dead.durationMs,
        firstFailureCode: dead.firstFailureCode,
      });
    }
}

/** The scratch vault and the source, each at its budget's pace (the scratch vault's no faster than a restore's). */
function drillPorts({ deps, vault, scratch }: DrillWork): DrillPorts {
  const { ratePer10s } = budgetOf(deps, scratch);
  const scratchLimiter = new VaultLimiter({
    ratePer10s: Math.min(ratePer10s, deps.tuning.restoreRatePer10s),
    clock: deps.clock,
  });
  return {
    port: deps.vaults(scratch, scratchLimiter, {}),
    inspector: deps.inspect(scratch, scratchLimiter),
    source: deps.inspect(
      vault,
      new VaultLimiter({ ratePer10s: budgetOf(deps, vault).ratePer10s, clock: deps.clock }),
    ),
  };
}

/**
 * Safety: nothing in the scratch vault but the last drill's own leftovers, purged before anything
 * else. A record is trusted only as far as the inventory backs it: its drill's row (this scratch
 * vault, that run, not a success) and that run's sound manifest naming each object.
 */
async function clearLeftovers(
  { deps, scratch, signal }: DrillWork,
  ports: DrillPorts,
): Promise<Diagnosis | undefined> {
  const state = await readDrillState(deps.documents, scratch.name, signal);
  const present = await scratchContents(ports.port, signal);
  const trusted = await trustedState(deps, scratch, state, signal);
  const foreign = foreignObjects(present, trusted?.state);
  if (foreign.length > 0) return drillVaultNotEmpty(scratch.name, foreign);
  if (present.size > 0) {
    const blocked = await emptyScratch(ports.inspector, scratch.name, present, signal);
    if (blocked) return blocked;
  }
  if (trusted) {
    // That drill's leftovers are gone: its row vouches for nothing any more (a replay of its record
    // would otherwise make a later drill purge what someone else put there under those names).
    const { inScratch: _gone, ...cleared } = trusted.row;
    await deps.drills.put(cleared, signal);
  }
  return undefined;
}

/**
 * A drill that fails after restoring (storage lost, the vault refusing) empties what it can of the
 * scratch vault, and says what it leaves for the next drill.
 */
async function failAfterRestore(w: DrillWork, ports: DrillPorts, objects: string[], e: unknown) {
  const { deps, scratch, row, signal } = w;
  if (signal.aborted || isKvBackupError(e, "Aborted", "LeaseLost")) throw e;
  const diagnosis = diagnosisOf(e, failureContext(deps, scratch, e));
  if (!diagnosis) throw e;
  let left = -1;
  try {
    const there = await scratchContents(ports.port, signal);
    const mine = [...withManaged(objects)].filter((o) => there.has(o));
    await emptyScratch(ports.inspector, scratch.name, mine, signal);
    left = (await scratchContents(ports.port, signal)).size;
  } catch {
    // The cleanup failed too: what is left is not known.
  }
  if (left === 0) delete row.inScratch;
  else
    diagnosis.cause +=
      left > 0
        ? ` The scratch vault still holds ${left} object(s) this drill restored; the next drill purges them.`
        : " Objects this drill restored may remain in the scratch vault; the next drill purges them.";
  return w.end("failed", diagnosis);
}

async function drill(w: DrillWork): Promise<DrillResult> {
  const { deps, vault, scratch, row, end, signal } = w;
  await abandonDeadDrills(deps, vault.name, row.drillId, signal);
  let manifest: Manifest;
  try {
    const drilled = await drilledManifest(w.source, vault.name, row.at, signal);
    manifest = drilled.manifest;
    for (const u of drilled.unused)
      w.mismatchList.push({
        kind: u.kind,
        name: u.name,
        field: "event backup",
        expected: "a SHA-256",
        actual: u.why,
      });
  } catch (e) {
    if (!isKvBackupError(e, "NotFound", "CorruptManifest")) throw e;
    return end("failed", drillNothingToProve(vault.name, e.message));
  }
  row.runId = manifest.runId;
  const ports = drillPorts(w);
  const blocked = await clearLeftovers(w, ports);
  if (blocked) return end("failed", blocked);
  const objects = manifest.items.map((i) => `${i.kind}/${i.name}`);
  // The row names the run and what the drill restores before the record does: the next drill
  // checks the one against the other.
  row.inScratch = scratchDigest(objects);
  await deps.drills.put(row, signal);
  const state = {
    drillId: row.drillId,
    vault: vault.name,
    runId: manifest.runId,
    objects,
    ...(row.at ? { at: row.at } : {}),
  };
  await writeDrillState(deps.documents, scratch.name, { ...state, phase: "restoring" }, signal);
  try {
    return await restoreProveClean(w, manifest, ports);
  } catch (e) {
    return failAfterRestore(w, ports, objects, e);
  }
}
