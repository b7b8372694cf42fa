import { drillMismatch, drillNothingToProve } from "../../diagnosis/drill.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { VersionWarning } from "../../domain/drillRecord.js";
import type { Manifest, ManifestItem } from "../../domain/manifest.js";
import { EventsFolder, eventBlobFacts } from "../eventLayout.js";
import { storageContext } from "../failures.js";
import { Pool } from "../pool.js";
import { executeRestore } from "../restore/execute.js";
import type { DrillPorts, DrillResult, DrillWork } from "./drillTypes.js";
import { changedByThen, prove, proveEvent } from "./prove.js";
import { emptyScratch, scratchContents, withManaged, writeDrillState } from "./scratch.js";

/**
 * Restores each object of the run into the scratch vault through the restore engine (each blob
 * checked against its SHA-256 first: one that is not as recorded, or gone, is a mismatch of the
 * run, never restored); a refusal of the scratch vault is a mismatch of the restore; storage
 * refusing ends the drill (thrown: the drill empties the scratch vault and fails with that diagnosis).
 */
async function restoreAll(
  w: DrillWork,
  manifest: Manifest,
  { port }: DrillPorts,
): Promise<{ restored: ManifestItem[]; refused?: Diagnosis }> {
  const { deps, scratch, mismatchList, signal, onProgress } = w;
  const entries = await executeRestore(
    {
      blobs: w.source.blobs,
      vault: port,
      target: scratch,
      storageContext: storageContext(deps),
      concurrency: deps.tuning.restoreConcurrency,
      conflictRetryMs: deps.tuning.conflictRetryMs,
      clock: deps.clock,
      purpose: "drill",
      caller: deps.config.caller,
      storageFailureEnds: true,
      onProgress: (done, total) => onProgress?.("restore", done, total),
    },
    manifest,
    manifest.items.map((i) => ({ kind: i.kind, name: i.name, action: "restore" as const })),
    "fail",
    signal,
  );
  const item = new Map(manifest.items.map((i) => [`${i.kind}/${i.name}`, i]));
  let refused: Diagnosis | undefined;
  const restored: ManifestItem[] = [];
  for (const e of entries) {
    const recorded = item.get(`${e.kind}/${e.name}`) as ManifestItem;
    if (e.outcome === "restored") restored.push(recorded);
    else if (e.diagnosis?.code === "CorruptBlob" || e.diagnosis?.code === "BlobMissing")
      mismatchList.push({
        kind: e.kind,
        name: e.name,
        field: "blob",
        expected: recorded.sha256,
        actual: e.blobSha256 ?? "missing",
      });
    else {
      refused ??= e.diagnosis;
      mismatchList.push({
        kind: e.kind,
        name: e.name,
        field: "restore",
        ...(e.diagnosis ? { actual: e.diagnosis.code } : {}),
      });
    }
  }
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
      // An object a point-in-time drill took from an event backup: proved as far as that backup says.
      if (item.blob.startsWith(EventsFolder))
        mismatchList.push(...proveEvent(item, eventBlobFacts(item.blob)?.version, mine, theirs));
      else {
        const proof = prove(item, mine, theirs);
        mismatchList.push(...proof.mismatches);
        if (proof.againstSource) againstSource++;
        const stale = row.at ? changedByThen(item, theirs, row.at) : undefined;
        if (stale) mismatchList.push(stale);
      }
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
  const { restored, refused } = await restoreAll(w, manifest, ports);
  await proveAll(w, restored, ports, new Pool(w.deps.tuning.restoreConcurrency));
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
