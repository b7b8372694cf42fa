import { drillMismatch, drillNothingToProve } from "../../diagnosis/drill.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { VersionWarning } from "../../domain/drillRecord.js";
import type { Manifest, ManifestItem } from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import { diagnosisOf, isKeyVaultFailure } from "../failures.js";
import { Pool } from "../pool.js";
import type { DrillPorts, DrillResult, DrillWork } from "./drillTypes.js";
import { prove } from "./prove.js";
import { emptyScratch, scratchContents, withManaged, writeDrillState } from "./scratch.js";

/** Restores each object of the run into the scratch vault (a blob that is not as recorded is a mismatch, never restored). */
async function restoreAll(
  w: DrillWork,
  manifest: Manifest,
  { port }: DrillPorts,
  pool: Pool,
): Promise<{ restored: ManifestItem[]; refused?: Diagnosis }> {
  const { deps, scratch, mismatchList, signal, onProgress } = w;
  const items = manifest.items;
  let refused: Diagnosis | undefined;
  const restored: ManifestItem[] = [];
  let done = 0;
  for (const item of items)
    await pool.submit(async () => {
      try {
        const bytes = await deps.blobs.read(item.blob, signal);
        const actual = sha256Hex(bytes);
        if (actual !== item.sha256) {
          mismatchList.push({
            kind: item.kind,
            name: item.name,
            field: "blob",
            expected: item.sha256,
            actual,
          });
          return;
        }
        await port.restore(item.kind, bytes, signal);
        restored.push(item);
      } catch (e) {
        if (!isKeyVaultFailure(e)) throw e;
        const object = `${item.kind}/${item.name}`;
        const d = diagnosisOf(e, {
          vault: scratch.name,
          object,
          caller: deps.config.caller,
          purpose: "drill",
        });
        refused ??= d;
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
  return { restored, ...(refused ? { refused } : {}) };
}

/** Proves each object that came back, without a secret value: metadata, versions, public material. */
async function proveAll(
  w: DrillWork,
  restored: ManifestItem[],
  { inspector, source }: DrillPorts,
  pool: Pool,
) {
  const { row, mismatchList, signal, onProgress } = w;
  const near: string[] = [];
  let done = 0;
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
}

/** Leaves the scratch vault empty: everything restored (a certificate's key and secret included). */
async function cleanScratch(
  w: DrillWork,
  manifest: Manifest,
  { port, inspector }: DrillPorts,
  restored: number,
): Promise<Diagnosis | undefined> {
  const { deps, vault, scratch, row, signal, onProgress } = w;
  const objects = manifest.items.map((i) => `${i.kind}/${i.name}`);
  const state = { drillId: row.drillId, vault: vault.name, runId: manifest.runId };
  await writeDrillState(deps.documents, scratch.name, { ...state, objects, phase: "cleaning" }, signal);
  onProgress?.("clean", 0, restored);
  const left = await scratchContents(port, signal);
  const there = [...withManaged(objects)].filter((o) => left.has(o));
  const blocked = await emptyScratch(inspector, scratch.name, there, signal);
  if (blocked) return blocked;
  await writeDrillState(deps.documents, scratch.name, { ...state, objects: [], phase: "clean" }, signal);
  delete row.inScratch;
  onProgress?.("clean", restored, restored);
  return undefined;
}

/** Restores the run into the scratch vault, proves each object, and empties the scratch vault again. */
export async function restoreProveClean(
  w: DrillWork,
  manifest: Manifest,
  ports: DrillPorts,
): Promise<DrillResult> {
  const { vault, mismatchList, end } = w;
  const pool = new Pool(w.deps.tuning.restoreConcurrency);
  const { restored, refused } = await restoreAll(w, manifest, ports, pool);
  await proveAll(w, restored, ports, pool);
  const blocked = await cleanScratch(w, manifest, ports, restored.length);
  if (blocked) return end("failed", blocked);
  mismatchList.sort((a, b) => (`${a.kind}/${a.name}` < `${b.kind}/${b.name}` ? -1 : 1));
  if (mismatchList.length > 0)
    return end(
      "failed",
      refused && mismatchList.every((m) => m.field === "restore")
        ? refused
        : drillMismatch(vault.name, manifest.runId, mismatchList.length, mismatchList[0]),
    );
  if (manifest.items.length === 0)
    return end("failed", drillNothingToProve(vault.name, `run ${manifest.runId} holds no object`));
  return end("succeeded");
}
