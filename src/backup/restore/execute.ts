import { deletedButRecoverable, restoreConflict } from "../../diagnosis/keyVault.js";
import { blobMissing, corruptBlob, notInBackup } from "../../diagnosis/local.js";
import type { VaultRef } from "../../domain/config.js";
import type { Diagnosis, DiagnosisContext } from "../../domain/diagnosis.js";
import { byKindAndName, type Manifest } from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import { type OnConflict, objectLabel } from "../../domain/vocabulary.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure } from "../failures.js";
import { Pool } from "../pool.js";
import type { BlobStore, VaultPort } from "../ports.js";
import { SignalFanout } from "../signals.js";
import { type Clock, keepTrying } from "../wait.js";
import type { PlanEntry, RestoreEntry } from "./restoreTypes.js";

export interface ExecuteDeps {
  blobs: BlobStore;
  vault: VaultPort;
  target: VaultRef;
  /** What storage diagnoses need: the container, the caller, the credential. */
  storageContext: DiagnosisContext;
  concurrency: number;
  /** How long a 409 that may be transient (a purge still running) is retried, on the clock. */
  conflictRetryMs: number;
  clock: Clock;
  /**
   * A storage refusal (other than a blob gone) ends the whole execution, thrown, instead of failing
   * each object in turn: a drill stops at once when storage goes away (each refused read costs the
   * SDK's retries, and the drill holds the scratch vault's lease meanwhile).
   */
  storageFailureEnds?: boolean;
  /** What the target is restored for, in its diagnoses: a restore (default) or a drill's scratch vault. */
  purpose?: "restore" | "drill";
  caller?: DiagnosisContext["caller"];
  onProgress?: (done: number, total: number) => void;
  /** Each object's outcome as soon as it is known (the restore worker saves progress with it). */
  onEntry?: (entry: RestoreEntry) => void;
}

type Conflict = (p: PlanEntry, outcome: "skipped-exists" | "skipped-deleted", d: Diagnosis) => RestoreEntry;

const withDetail = (p: PlanEntry): { detail?: string } => (p.detail ? { detail: p.detail } : {});

/** What a plan entry that is not a restore becomes, without any call. */
function settled(p: PlanEntry, target: string, conflict: Conflict): RestoreEntry | undefined {
  const object = objectLabel(p.kind, p.name);
  if (p.action === "not-in-backup")
    return {
      kind: p.kind,
      name: p.name,
      outcome: "not-in-backup",
      ...withDetail(p),
      diagnosis: notInBackup(
        p.name === "*" ? `every ${p.kind.slice(0, -1)}` : object,
        p.detail ?? "not in this run",
      ),
    };
  // Seen when planning: the same diagnoses a 409 would have given, without a call.
  const ctx = { vault: target, object };
  if (p.action === "skip-exists") return conflict(p, "skipped-exists", restoreConflict(target, ctx));
  if (p.action === "skip-deleted") return conflict(p, "skipped-deleted", deletedButRecoverable(target, ctx));
  return undefined;
}

/** Carries out a plan. Every blob is checked against its SHA-256 before it is sent; a mismatch is never restored. */
export async function executeRestore(
  deps: ExecuteDeps,
  manifest: Manifest,
  plan: readonly PlanEntry[],
  onConflict: OnConflict,
  signal?: SignalLike,
): Promise<RestoreEntry[]> {
  const conflict: Conflict = (p, outcome, d) => ({
    kind: p.kind,
    name: p.name,
    outcome: onConflict === "skip" ? outcome : "failed",
    diagnosis: d,
    ...withDetail(p),
    ...(p.heldBy ? { heldBy: p.heldBy } : {}),
  });
  const results: RestoreEntry[] = [];
  for (const p of plan) {
    const entry = settled(p, deps.target.name, conflict);
    if (entry) results.push(entry);
  }
  const todo = plan.filter((p) => p.action === "restore");
  let done = 0;
  const pool = new Pool(deps.concurrency);
  const signals = signal ? new SignalFanout(signal) : undefined;
  const run = (p: PlanEntry, s?: SignalLike): Promise<RestoreEntry> =>
    restoreOne(deps, manifest, p, conflict, s);
  try {
    for (const p of todo) {
      await pool.submit(async () => {
        const entry = signals ? await signals.with((s) => run(p, s)) : await run(p);
        results.push(entry);
        deps.onEntry?.(entry);
        deps.onProgress?.(++done, todo.length);
      });
    }
    await pool.drain();
  } finally {
    signals?.close();
  }
  return results.sort(byKindAndName);
}

async function restoreOne(
  deps: ExecuteDeps,
  manifest: Manifest,
  p: PlanEntry,
  conflict: Conflict,
  signal?: SignalLike,
): Promise<RestoreEntry> {
  const item = manifest.items.find((i) => i.kind === p.kind && i.name === p.name);
  const object = objectLabel(p.kind, p.name);
  const failed = (diagnosis: Diagnosis): RestoreEntry => ({
    kind: p.kind,
    name: p.name,
    outcome: "failed",
    diagnosis,
  });
  if (!item) return failed(notInBackup(object, "the manifest has no item for it"));
  let bytes: Uint8Array;
  try {
    bytes = await deps.blobs.read(item.blob, signal);
  } catch (e) {
    if (!isStorageFailure(e)) throw e;
    // The blob gone is the run's damage; the container gone, or storage refusing, is the path's.
    if (e.failure?.status === 404 && e.failure.code !== "ContainerNotFound")
      return failed(blobMissing(item.blob));
    if (deps.storageFailureEnds) throw e;
    return failed(diagnosisOf(e, { ...deps.storageContext, object }) as Diagnosis);
  }
  const actual = sha256Hex(bytes);
  if (actual !== item.sha256)
    return { ...failed(corruptBlob(item.blob, item.sha256, actual)), blobSha256: actual };
  // A purge or deletion still running holds the name for a while: wait it out, up to a bound.
  let refused: Diagnosis | undefined;
  const tried = await keepTrying(
    deps.clock,
    { limitMs: deps.conflictRetryMs, pauseMs: (n) => Math.min(8000, 250 * 2 ** n), signal },
    async () => {
      try {
        await deps.vault.restore(p.kind, bytes, signal);
        return "restored" as const;
      } catch (e) {
        if (!isKeyVaultFailure(e)) throw e;
        refused = diagnosisOf(e, {
          vault: deps.target.name,
          object,
          purpose: deps.purpose ?? "restore",
          ...(deps.caller ? { caller: deps.caller } : {}),
        }) as Diagnosis;
        return refused.code === "BeingDeleted" || refused.code === "RestoreConflict" ? undefined : "refused";
      }
    },
  );
  if (tried.done && tried.value === "restored") return { kind: p.kind, name: p.name, outcome: "restored" };
  const d = refused as Diagnosis;
  if (d.code === "RestoreConflict") return conflict(p, "skipped-exists", d);
  if (d.code === "DeletedButRecoverable") return conflict(p, "skipped-deleted", d);
  return failed(d);
}
