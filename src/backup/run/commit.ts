import { KvBackupError } from "../../domain/errors.js";
import {
  byKindAndName,
  type Manifest,
  type ManifestFailure,
  manifestDocument,
} from "../../domain/manifest.js";
import type { StoredBlob } from "../../domain/objects.js";
import type { SignalLike } from "../../domain/signal.js";
import type { RunStatus } from "../../domain/vocabulary.js";
import type { EngineDeps } from "../deps.js";
import type { BackedUp } from "./backupKinds.js";
import { priorCommit } from "./priorCommit.js";
import type { RunRecord, RunResult } from "./record.js";

export function statusOf(items: number, failed: readonly ManifestFailure[]): RunStatus {
  if (failed.length === 0) return "succeeded";
  return items > 0 ? "partial" : "failed";
}

/**
 * Blobs an earlier attempt of this run left for objects this attempt did not back up (they failed,
 * were skipped or are gone) are deleted; the ones storage keeps (immutability) are returned, so the
 * manifest names them. Blobs of a kind whose listing did not finish in this attempt are never
 * deleted — an object not listed is not an object gone — and are named as leftovers too.
 */
async function clearLeftovers(
  deps: EngineDeps,
  record: RunRecord,
  existing: ReadonlyMap<string, StoredBlob>,
  out: BackedUp,
  signal?: SignalLike,
): Promise<string[]> {
  const unlisted = out.failed.filter((f) => f.name === "*").map((f) => `${record.prefix}${f.kind}/`);
  const left: string[] = [];
  // Made only when an earlier attempt left object blobs (a resumed run): most runs find none.
  let kept: Set<string> | undefined;
  for (const name of existing.keys()) {
    if (!name.endsWith(".kvbak")) continue;
    kept ??= out.items.blobs();
    if (kept.has(name)) continue;
    if (unlisted.some((p) => name.startsWith(p)) || !(await deps.blobs.delete(name, signal))) left.push(name);
  }
  return left.sort();
}

/**
 * Writes manifest.json, once and last: its presence is the commit. A run with nothing backed up
 * and failures writes none. The inventory row then records the manifest's own SHA-256.
 */
export async function commit(
  deps: EngineDeps,
  record: RunRecord,
  out: BackedUp,
  existing: ReadonlyMap<string, StoredBlob>,
  signal?: SignalLike,
): Promise<RunResult> {
  const failed = [...out.failed].sort(byKindAndName);
  const status = statusOf(out.items.size, failed);
  if (status === "failed") return record.end("failed", { bytes: out.bytes, failed });
  const leftovers = await clearLeftovers(deps, record, existing, out, signal);
  // Whatever the mode was asked, an item copied from a base makes the run incremental (a resumed run
  // may have copied in an attempt that had a base, and find none now).
  if (out.items.copied > 0) record.mode = "incremental";
  // The result says what the manifest holds: copies an earlier attempt of this runId made count too
  // (as they do when the committed run is delivered again).
  record.copied = out.items.copied;
  const manifest: Manifest = {
    schemaVersion: 2,
    runId: record.job.runId,
    vault: { name: record.vault.name, url: record.vault.url },
    tier: record.job.tier,
    trigger: record.job.trigger,
    mode: record.mode,
    kinds: record.kinds,
    startedAt: record.startedAt.toISOString(),
    finishedAt: deps.now().toISOString(),
    status,
    // Written from the packed items, one at a time, in the manifest's order (by kind, then name).
    items: [],
    skipped: [...out.skipped].sort(byKindAndName),
    failed,
    ...(leftovers.length ? { leftovers } : {}),
    ...(out.eventsMissed?.length ? { eventsMissed: [...out.eventsMissed].sort(byKindAndName) } : {}),
  };
  const document = manifestDocument(manifest, () => out.items.sorted());
  const manifestSha256 = document.sha256;
  if (!(await deps.documents.create(record.manifestPath, document, signal))) {
    // Another delivery of this runId committed first: its manifest is the run's; this one adds nothing.
    record.telemetry.interrupt(new Error(`run ${record.job.runId} was committed by another delivery`));
    const theirs = await priorCommit(deps, record, signal);
    if (theirs) return theirs;
    throw new KvBackupError(
      "RunFailed",
      `run ${record.job.runId}: its manifest was written by another delivery and is gone`,
      {
        retryable: true,
      },
    );
  }
  return record.end(status, { bytes: out.bytes, failed, manifestSha256 });
}
