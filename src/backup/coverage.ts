import type { VaultRef } from "../domain/config.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import { firstLine } from "../domain/errors.js";
import type { InventoryRow } from "../domain/inventory.js";
import { abortError, type SignalLike } from "../domain/signal.js";
import { type Kind, Kinds } from "../domain/vocabulary.js";
import { findRun } from "./catalog/findRun.js";
import type { EngineDeps } from "./deps.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure } from "./failures.js";
import { checkLimiter } from "./limiter.js";

/**
 * The objects the backups hold now, per kind the settings protect: each kind from the newest
 * committed run that covered it (a run asked for fewer kinds, or whose listing of a kind failed,
 * leaves that kind to older runs); and the objects whose backup failed in the newest run.
 */
async function holdings(
  deps: EngineDeps,
  vault: VaultRef,
  committed: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<{ held: Set<string>; failed: string[] }> {
  const wanted = new Set<Kind>(deps.config.kinds);
  const held = new Set<string>();
  let failed: string[] | undefined;
  for (const row of committed) {
    if (wanted.size === 0) break;
    const { manifest } = await findRun(deps, row.runId, vault.name, signal);
    failed ??= manifest.failed.map((f) => `${f.kind}/${f.name}`);
    const covers = manifest.kinds.filter(
      (k) => wanted.has(k) && !manifest.failed.some((f) => f.kind === k && f.name === "*"),
    );
    for (const i of manifest.items)
      if (covers.includes(i.kind)) held.add(`${i.kind}/${i.name.toLowerCase()}`);
    for (const k of covers) wanted.delete(k);
  }
  return { held, failed: failed ?? [] };
}

async function coverageOf(
  deps: EngineDeps,
  vault: VaultRef,
  committed: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<Coverage> {
  const { held: inBackup, failed } = await holdings(deps, vault, committed, signal);
  const port = deps.vaults(vault, checkLimiter(deps), {});
  const now: string[] = [];
  try {
    for (const kind of Kinds.filter((k) => deps.config.kinds.includes(k)))
      for await (const page of port.list(kind, signal))
        for (const o of page) if (!o.managed) now.push(`${kind}/${o.name.toLowerCase()}`);
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    const diagnosis = diagnosisOf(e, { vault: vault.name, caller: deps.config.caller, purpose: "backup" });
    return {
      inVault: 0,
      inBackup: inBackup.size,
      missing: [],
      failed,
      ...(diagnosis ? { diagnosis } : {}),
    };
  }
  return {
    inVault: now.length,
    inBackup: inBackup.size,
    missing: now.filter((o) => !inBackup.has(o)).sort(),
    failed,
  };
}

/**
 * Objects in the vault now against what its committed runs hold — per kind the settings protect,
 * the newest run that covered it — (managed objects are covered by their certificate); `failed`:
 * objects whose backup failed in the newest run.
 */
export interface Coverage {
  inVault: number;
  inBackup: number;
  missing: string[];
  failed: string[];
  diagnosis?: Diagnosis;
}

/** The coverage part: the vault now against what its committed runs hold, for every kind the settings protect. */
export async function coverageFacts(
  deps: EngineDeps,
  vault: VaultRef,
  runs: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<{ coverage?: Coverage; reasons: string[] }> {
  const committed = runs.filter((r) => r.status === "succeeded" || r.status === "partial");
  let c: Coverage;
  try {
    c = await coverageOf(deps, vault, committed, signal);
  } catch (e) {
    // Stopped (Ctrl-C): the whole report stops, it does not call every vault at risk.
    if (signal?.aborted) throw abortError(signal);
    if (isStorageFailure(e) || isKeyVaultFailure(e)) throw e;
    return { reasons: [`coverage unknown: ${firstLine(e)}`] };
  }
  const reasons: string[] = [];
  if (c.diagnosis) reasons.push(`coverage unknown: the vault could not be listed (${c.diagnosis.code})`);
  if (c.missing.length) reasons.push(`${c.missing.length} object(s) in the vault are not in the backups`);
  if (c.failed.length) reasons.push(`${c.failed.length} object(s) failed in the newest run`);
  return { coverage: c, reasons };
}
