import { copyDiagnosis, copyMismatch } from "../../diagnosis/copy.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import type { CopyMethod, InventoryRow, RunCopy } from "../../domain/inventory.js";
import { manifestBlob, runPrefix } from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { BlobFacts } from "../../domain/objects.js";
import type { SignalLike } from "../../domain/signal.js";
import type { FoundRun } from "../catalog/findRun.js";
import { rehash, verifyRun } from "../catalog/verifyRun.js";
import type { EngineDeps } from "../deps.js";
import { Pool } from "../pool.js";
import type { CopyPort } from "../ports.js";

/** One run's copy, as the CLI and the worker tell it. */
export interface CopyResult {
  runId: string;
  vault: string;
  /** skipped: a Managed HSM's run (its backup is not copied yet). */
  status: RunCopy["status"] | "skipped";
  /** Blobs of the run now in the copy (the manifest included) and their bytes. */
  blobs: number;
  bytes: number;
  /** Blobs this attempt added (the others were there from an earlier one). */
  added: number;
  method?: CopyMethod;
  /** Why the copy streamed instead of copying server-side. */
  fellBack?: string;
  diagnosis?: Diagnosis;
  durationMs: number;
}

export type CopyDeps = EngineDeps & { copy: CopyPort };

/** A Managed HSM's run: its backup is the HSM's own folder, not copied (yet). */
const NotForHsm = {
  status: "skipped",
  blobs: 0,
  bytes: 0,
  added: 0,
  diagnosis: {
    code: "CopyNotForHsm",
    cause:
      "A Managed HSM's full backup is written by the HSM into its own containers; kvbackup does not copy it to the isolated copy yet.",
    fix: "Keep the HSM's backups in the primary account's immutable containers, or copy the HSM's folder with azcopy to the copy account.",
  },
} as const;

/**
 * Copies one committed run to the isolated copy — its blobs, then the manifest last — and counts it
 * copied only when every blob the manifest names is there with the SHA-256 it records and the
 * copy's manifest is the primary's byte for byte (its SHA-256). Never throws: what failed is the
 * result's diagnosis; the primary run's verdict is not touched.
 */
export async function copyRun(deps: CopyDeps, run: FoundRun, signal?: SignalLike): Promise<CopyResult> {
  const started = deps.clock.ms();
  const { manifest } = run;
  const base = { runId: manifest.runId, vault: manifest.vault.name };
  const took = (): number => Math.max(0, Math.round(deps.clock.ms() - started));
  if (manifest.hsm) return { ...base, ...NotForHsm, durationMs: took() };
  let added = 0;
  let method: CopyMethod | undefined;
  let fellBack: string | undefined;
  try {
    const prefix = runPrefix(manifest.tier, manifest.vault.name, manifest.runId);
    const [there, source] = await Promise.all([
      deps.copy.blobs.list(prefix, signal),
      deps.blobs.list(prefix, signal),
    ]);
    const add = async (path: string): Promise<void> => {
      const r = await deps.copy.add(path, factsOf(source.get(path)), signal);
      if (r.outcome === "added") added++;
      method = method === "streamed" ? method : r.method;
      fellBack ??= r.fellBack;
    };
    const pool = new Pool(deps.tuning.copyConcurrency);
    for (const item of manifest.items) if (!there.has(item.blob)) await pool.submit(() => add(item.blob));
    await pool.drain();
    // The manifest last: its presence in the copy says the run's blobs are there.
    if (!there.has(run.manifestPath)) await add(run.manifestPath);
    // As `verify --from copy` judges it: every blob named, each its SHA-256, nothing else in the folder.
    const verified = await verifyRun({ ...deps, blobs: deps.copy.blobs }, manifest, signal);
    const bad = verified.problems.map((p) => p.blob);
    const copiedManifest = await deps.copy.documents.read(manifestBlob(prefix), signal);
    if (!copiedManifest || sha256Hex(copiedManifest.bytes) !== run.manifestSha256) bad.push(run.manifestPath);
    const diagnosis = bad.length ? await whoseFault(deps, run, bad, signal) : undefined;
    const blobs = verified.checked + (copiedManifest ? 1 : 0);
    const bytes = verified.bytes + (copiedManifest?.bytes.length ?? 0);
    return {
      ...base,
      status: bad.length === 0 ? "copied" : "failed",
      blobs,
      bytes,
      added,
      ...(method ? { method } : {}),
      ...(fellBack ? { fellBack } : {}),
      ...(diagnosis ? { diagnosis } : {}),
      durationMs: took(),
    };
  } catch (e) {
    return {
      ...base,
      status: "failed",
      blobs: 0,
      bytes: 0,
      added,
      ...(method ? { method } : {}),
      diagnosis: copyDiagnosis(e, deps.copy.where),
      durationMs: took(),
    };
  }
}

/**
 * Why a run's copy does not match: the backup account's own blob is not its manifest's either (the
 * copy holds what the account held: CorruptBlob, the account's to answer for), or the copy holds
 * something else at the run's paths (CopyMismatch: someone else added there first).
 */
async function whoseFault(
  deps: CopyDeps,
  run: FoundRun,
  bad: string[],
  signal?: SignalLike,
): Promise<Diagnosis> {
  for (const item of run.manifest.items.filter((i) => bad.includes(i.blob))) {
    const primary = await rehash(deps.blobs, item.blob, item.sha256, signal).catch(() => undefined);
    if (primary?.problem?.diagnosis) return primary.problem.diagnosis;
  }
  return copyMismatch(run.manifest.runId, bad);
}

/** A listed blob's facts as its metadata holds them (undefined without a SHA-256: nothing to carry). */
export const factsOf = (b: Partial<BlobFacts> | undefined): BlobFacts | undefined =>
  b?.sha256
    ? {
        sha256: b.sha256,
        ...(b.object ? { object: b.object } : {}),
        ...(b.copiedFrom ? { copiedFrom: b.copiedFrom } : {}),
        ...(b.eventAt ? { eventAt: b.eventAt } : {}),
      }
    : undefined;

/** A run's copy as its inventory row keeps it. */
export const rowCopy = (result: CopyResult & { status: RunCopy["status"] }, at: Date): RunCopy => ({
  status: result.status,
  at: at.toISOString(),
  blobs: result.blobs,
  bytes: result.bytes,
  ...(result.method ? { method: result.method } : {}),
  ...(result.diagnosis ? { code: result.diagnosis.code, message: result.diagnosis.cause } : {}),
});

/** The run's row with its copy recorded (best effort: the copy happened whether or not the row says so). */
export async function recordCopy(deps: CopyDeps, result: CopyResult, signal?: SignalLike): Promise<void> {
  if (result.status === "skipped") return;
  const copy = rowCopy({ ...result, status: result.status }, deps.now());
  try {
    const row: InventoryRow | undefined = await deps.inventory.get(result.runId, result.vault, signal);
    if (row) await deps.inventory.put({ ...row, copy }, signal);
  } catch {
    // The next copy pass finds the run uncopied by its row and checks it again (it is append-only: nothing is written twice).
  }
}
