import { blobMissing } from "../../diagnosis/local.js";
import { KvBackupError } from "../../domain/errors.js";
import { isVaultName } from "../../domain/rules.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { eventBackupsIn, eventsPrefix } from "../eventLayout.js";
import { isStorageFailure } from "../failures.js";
import { Pool } from "../pool.js";
import { rehash, type VerifyProblem, type VerifyResult } from "./verifyRun.js";

/**
 * What `kvbackup verify --events --vault V` found: a run's verify result without the run — expected
 * is the event backups in the layout; problems name a corrupt one (not the SHA-256 its metadata
 * says), an unverifiable one (it says none), and anything under events/{vault}/ that is not one.
 */
export type EventsVerifyResult = Omit<VerifyResult, "runId">;

/**
 * Continuous protection's backups of a vault (events/{vault}/…), each read back and hashed against
 * the SHA-256 it was written with: what point-in-time restore and the daily run take from them.
 * Works for any vault name, in the settings or not (a gone vault's backups are still read).
 */
export async function verifyEvents(
  deps: Pick<EngineDeps, "blobs">,
  vault: string,
  signal?: SignalLike,
): Promise<EventsVerifyResult> {
  const name = vault.toLowerCase();
  if (!isVaultName(name))
    throw new KvBackupError("BadRequest", `'${vault.slice(0, 40)}' is not a vault name`);
  // One listing: the event backups in it, and anything else there (extra).
  const listing = await deps.blobs.list(eventsPrefix(name), signal);
  const backups = eventBackupsIn(listing, name);
  const ours = new Set(backups.map((b) => b.blob));
  const problems: VerifyProblem[] = [];
  for (const blob of listing.keys()) if (!ours.has(blob)) problems.push({ blob, problem: "extra" });
  let checked = 0;
  let bytes = 0;
  const pool = new Pool(8);
  for (const b of backups) {
    await pool.submit(async () => {
      if (!b.sha256) {
        problems.push({ blob: b.blob, problem: "unverifiable" });
        return;
      }
      let read: Awaited<ReturnType<typeof rehash>>;
      try {
        read = await rehash(deps.blobs, b.blob, b.sha256, signal);
      } catch (e) {
        // Gone since the listing (the lifecycle rule aged it out a moment ago).
        if (isStorageFailure(e) && e.failure?.status === 404 && e.failure.code !== "ContainerNotFound") {
          problems.push({ blob: b.blob, problem: "missing", diagnosis: blobMissing(b.blob) });
          return;
        }
        throw e;
      }
      checked++;
      bytes += read.bytes;
      if (read.problem) problems.push(read.problem);
    });
  }
  await pool.drain();
  problems.sort((a, b) => (a.blob < b.blob ? -1 : 1));
  return { vault: name, ok: problems.length === 0, expected: backups.length, checked, bytes, problems };
}
