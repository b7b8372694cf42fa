import { drillMismatch, drillNothingToProve } from "../../diagnosis/drill.js";
import type { VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { type DrillMismatch, type DrillRow, VersionWarning } from "../../domain/drill.js";
import type { Manifest, ManifestItem } from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isKeyVaultFailure } from "../failures.js";
import { Pool } from "../pool.js";
import { prove } from "./prove.js";
import { emptyScratch, scratchContents, withManaged, writeDrillState } from "./scratch.js";
import type { DrillProgress, DrillResult } from "./types.js";

/** Restores the run into the scratch vault, proves each object, and empties the scratch vault again. */
export async function restoreProveClean(
  deps: EngineDeps,
  vault: VaultRef,
  scratch: VaultRef,
  manifest: Manifest,
  row: DrillRow,
  mismatchList: DrillMismatch[],
  end: (status: DrillRow["status"], diagnosis?: Diagnosis) => Promise<DrillResult>,
  port: ReturnType<EngineDeps["vaults"]>,
  inspector: ReturnType<EngineDeps["inspect"]>,
  source: ReturnType<EngineDeps["inspect"]>,
  signal: SignalLike,
  onProgress?: DrillProgress,
): Promise<DrillResult> {
  const items = manifest.items;
  const objects = items.map((i) => `${i.kind}/${i.name}`);
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
          purpose: "drill",
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
  delete row.inScratch;
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
