import { isKvBackupError } from "../../domain/errors.js";
import { runPrefix } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import type { Mode } from "../../domain/vocabulary.js";
import { findRun } from "../catalog/findRun.js";
import type { BackupJob, EngineDeps } from "../deps.js";
import { type Base, baseKey } from "./backupKinds.js";
import type { RunRecord } from "./record.js";

/** The mode a job asks for: its own, else incremental for daily runs when BACKUP_INCREMENTAL is on. */
export const modeAsked = (deps: Pick<EngineDeps, "config">, job: BackupJob): Mode =>
  job.mode ?? (job.tier === "daily" && deps.config.incremental ? "incremental" : "full");

/**
 * An incremental run's base: the vault's newest committed run whose manifest is sound (findRun
 * passes over damaged ones). None — no committed run yet, every manifest damaged — makes the run
 * full, and the run says so (its mode). Storage failures escape like any other.
 */
export async function baseFor(
  deps: EngineDeps,
  record: RunRecord,
  signal?: SignalLike,
): Promise<Base | undefined> {
  if (modeAsked(deps, record.job) !== "incremental") return undefined;
  try {
    const { manifest } = await findRun(deps, "latest", record.vault.name, signal);
    if (manifest.runId === record.job.runId) return undefined;
    // Items with an ETag are checked by storage at the copy; only a base written by an earlier
    // version of kvbackup (items without one) is listed, to check its blobs' metadata instead.
    const listed = manifest.items.some((i) => i.etag === undefined);
    return {
      runId: manifest.runId,
      startedAt: manifest.startedAt,
      items: new Map(manifest.items.map((i) => [baseKey(i.kind, i.name), i])),
      blobs: listed
        ? await deps.blobs.list(runPrefix(manifest.tier, manifest.vault.name, manifest.runId), signal)
        : new Map(),
    };
  } catch (e) {
    if (isKvBackupError(e, "NotFound") || isKvBackupError(e, "CorruptManifest")) return undefined;
    throw e;
  }
}
