import type { Diagnosis } from "../../domain/diagnosis.js";
import type { ManifestFailure, ManifestItem, ManifestSkip } from "../../domain/manifest.js";
import { objectBlob } from "../../domain/manifest.js";
import type { StoredBlob } from "../../domain/objects.js";
import type { SignalLike } from "../../domain/signal.js";
import type { Kind } from "../../domain/vocabulary.js";
import { diagnosisOf, firstLine, isKeyVaultFailure } from "../failures.js";
import type { VaultLimiter } from "../limiter.js";
import { Pool } from "../pool.js";
import type { BlobStore, VaultPort } from "../ports.js";
import { backupObject } from "./objectBackup.js";
import type { RunRecord } from "./record.js";

/** How far a run is, for progress bars: per kind, and for the run as a whole. */
export interface Progress {
  kind: Kind;
  /** Objects of this kind listed so far; final once listingDone. */
  listed: number;
  listingDone: boolean;
  done: number;
  throttled: number;
  bytes: number;
  /** Objects done in the whole run so far (every kind). */
  runDone: number;
}

export interface BackedUp {
  items: ManifestItem[];
  skipped: ManifestSkip[];
  failed: ManifestFailure[];
  bytes: number;
}

export interface KindsDeps {
  vault: VaultPort;
  blobs: BlobStore;
  limiter: VaultLimiter;
  concurrency: number;
  versionLimit: number;
  onProgress?: (p: Progress) => void;
}

/**
 * Enumerates each kind page by page and backs its objects up, `concurrency` at a time (the listing
 * waits while the pool is full, so memory stays bounded). A kind whose listing fails is one failure
 * (name "*"), and the other kinds go on. Storage failures and aborts escape.
 */
export async function backupKinds(
  deps: KindsDeps,
  record: RunRecord,
  existing: Map<string, StoredBlob>,
  signal: SignalLike,
  out: BackedUp,
): Promise<void> {
  const objectDeps = {
    vault: deps.vault,
    blobs: deps.blobs,
    vaultName: record.vault.name,
    versionLimit: deps.versionLimit,
  };
  let runDone = 0;
  for (const kind of record.kinds) {
    const progress: Progress = {
      kind,
      listed: 0,
      listingDone: false,
      done: 0,
      throttled: 0,
      bytes: 0,
      runDone,
    };
    const report = (): void => {
      progress.throttled = deps.limiter.stats.throttled;
      progress.runDone = runDone;
      deps.onProgress?.({ ...progress });
    };
    const counts = record.counts[kind];
    const tally = (outcome: "backedUp" | "skipped" | "failed", bytes = 0): void => {
      counts[outcome]++;
      record.telemetry.object(kind, outcome, bytes);
      progress.done++;
      runDone++;
    };
    await record.telemetry.kind(kind, async () => {
      const pool = new Pool(deps.concurrency);
      try {
        for await (const page of deps.vault.list(kind, signal)) {
          for (const o of page) {
            progress.listed++;
            if (o.managed) {
              out.skipped.push({ kind, name: o.name, reason: "managed-by-certificate" });
              tally("skipped");
              continue;
            }
            const blob = objectBlob(record.prefix, kind, o.name);
            await pool.submit(async () => {
              const r = await backupObject(objectDeps, o, blob, existing.get(blob), signal);
              if (r.outcome === "backedUp") {
                out.items.push(r.item);
                out.bytes += r.item.bytes;
                progress.bytes += r.resumed ? 0 : r.item.bytes;
                tally("backedUp", r.resumed ? 0 : r.item.bytes);
              } else if (r.outcome === "skipped") {
                out.skipped.push(r.skip);
                tally("skipped");
              } else {
                out.failed.push(r.failure);
                tally("failed");
              }
              report();
            });
          }
          report();
        }
        progress.listingDone = true;
      } catch (e) {
        if (!isKeyVaultFailure(e)) throw e;
        const d = diagnosisOf(e, { vault: record.vault.name }) as Diagnosis;
        out.failed.push({ kind, name: "*", code: d.code, message: firstLine(e), diagnosis: d });
        counts.failed++;
      } finally {
        await pool.drain();
      }
    });
    report();
  }
}
