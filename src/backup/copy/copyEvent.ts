import { copyDiagnosis, copyMismatch } from "../../diagnosis/copy.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { isKvBackupError } from "../../domain/errors.js";
import type { SignalLike } from "../../domain/signal.js";
import { rehash } from "../catalog/verifyRun.js";
import type { EngineDeps } from "../deps.js";
import { CreatedBySlackMs, eventBackupsIn, eventsPrefix } from "../eventLayout.js";
import { Pool } from "../pool.js";
import { type CopyDeps, factsOf } from "./copyRun.js";

/**
 * One event backup, just written, added to the isolated copy and read back against its SHA-256, so
 * the copy lags continuous protection by minutes, not by a day. Never throws: a failure is named
 * and the next run's pass adds what is missing.
 */
export async function copyEventBackup(
  deps: EngineDeps,
  blob: string,
  signal?: SignalLike,
): Promise<"copied" | Diagnosis> {
  const copy = deps.copy;
  if (!copy) return copyDiagnosis(new Error("no isolated copy"), "");
  try {
    const facts = factsOf((await deps.blobs.list(blob, signal)).get(blob));
    if (!facts) return copyMismatch(`event backup ${blob}`, [blob]);
    await copy.add(blob, facts, signal);
    const read = await rehash(copy.blobs, blob, facts.sha256, signal);
    return read.problem ? copyMismatch(`event backup ${blob}`, [blob]) : "copied";
  } catch (e) {
    if (isKvBackupError(e, "Aborted")) throw e;
    return copyDiagnosis(e, copy.where);
  }
}

/**
 * A pass over the vault's event backups: added now, read back now (verified, or failed: not the
 * SHA-256 their metadata records, or no SHA-256 in the copy's metadata), or there already and read
 * back by an earlier pass (present: not read again; verify --events --from copy reads every one).
 */
export interface EventsCopied {
  added: number;
  verified: number;
  present: number;
  failed: number;
  diagnosis?: Diagnosis;
}

/** Where a vault's event-copy watermark lives in the backup container (the copy itself takes no rewrite). */
const watermarkPath = (vault: string): string => `_kvbackup/copy-events/${vault.toLowerCase()}.json`;

/**
 * Every event backup of the vault in the copy created by this time (Storage's clock) was read back
 * by a pass and matched: a blob there cannot change after (the app cannot overwrite; immutability
 * keeps the version), so later passes trust it by its listing. One created later is read back.
 */
async function watermark(deps: EngineDeps, vault: string, signal?: SignalLike) {
  const doc = await deps.documents.read(watermarkPath(vault), signal);
  let through = Number.NEGATIVE_INFINITY;
  try {
    const at = Date.parse(String(JSON.parse(Buffer.from(doc?.bytes ?? []).toString("utf8")).verifiedThrough));
    if (!Number.isNaN(at)) through = at;
  } catch {
    // None yet, or not ours: every blob is read back once more.
  }
  return {
    through,
    save: async (at: number): Promise<void> => {
      const bytes = Buffer.from(JSON.stringify({ verifiedThrough: new Date(at).toISOString() }));
      if (!doc) await deps.documents.create(watermarkPath(vault), bytes, signal);
      else await deps.documents.replace(watermarkPath(vault), bytes, doc.etag, signal);
    },
  };
}

/**
 * The vault's event backups the copy lacks, added; each one the copy holds that no pass has read
 * back yet (created after the watermark), read back against its SHA-256, with that SHA-256 in its
 * metadata (what restore --at from the copy needs). Never throws.
 */
export async function copyEvents(deps: CopyDeps, vault: string, signal?: SignalLike): Promise<EventsCopied> {
  const out: EventsCopied = { added: 0, verified: 0, present: 0, failed: 0 };
  // Blobs created before this were all in the listing below (made after it).
  const started = deps.now().getTime() - CreatedBySlackMs;
  try {
    const prefix = eventsPrefix(vault);
    const primary = eventBackupsIn(await deps.blobs.list(prefix, signal), vault).filter((b) => b.sha256);
    if (primary.length === 0) return out;
    const mark = await watermark(deps, vault, signal);
    const there = await deps.copy.blobs.list(prefix, signal);
    const bad: string[] = [];
    let newest = mark.through;
    const pool = new Pool(deps.tuning.copyConcurrency);
    for (const b of primary) {
      const sha256 = b.sha256 as string;
      await pool.submit(async () => {
        const present = there.get(b.blob);
        const created = present?.createdOn ? Date.parse(present.createdOn) : Number.POSITIVE_INFINITY;
        if (present && created <= mark.through && present.bytes === b.bytes && present.sha256 === sha256) {
          out.present++;
          return;
        }
        if (!present && (await deps.copy.add(b.blob, factsOf(b), signal)).outcome === "added") out.added++;
        const read = await rehash(deps.copy.blobs, b.blob, sha256, signal);
        // Right bytes with no SHA-256 in its metadata (added by someone else first): restore --at cannot use it.
        if (read.problem || (present && present.sha256 !== sha256)) {
          out.failed++;
          bad.push(b.blob);
          return;
        }
        out.verified++;
        if (present && Number.isFinite(created)) newest = Math.max(newest, created);
      });
    }
    await pool.drain();
    if (bad.length) out.diagnosis = copyMismatch(`events of ${vault}`, bad);
    else if (newest > mark.through) await mark.save(Math.min(newest, started));
  } catch (e) {
    if (isKvBackupError(e, "Aborted")) throw e;
    out.diagnosis = copyDiagnosis(e, deps.copy.where);
  }
  return out;
}
