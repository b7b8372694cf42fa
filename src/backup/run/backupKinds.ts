import type { Diagnosis } from "../../domain/diagnosis.js";
import { firstLine } from "../../domain/errors.js";
import type { ManifestFailure, ManifestItem, ManifestSkip, MissedChange } from "../../domain/manifest.js";
import { objectBlob } from "../../domain/manifest.js";
import type { ObjectInfo, StoredBlob } from "../../domain/objects.js";
import type { SignalLike } from "../../domain/signal.js";
import type { Kind } from "../../domain/vocabulary.js";
import { diagnosisOf, isKeyVaultFailure } from "../failures.js";
import type { VaultLimiter } from "../limiter.js";
import { Pool, readAhead } from "../pool.js";
import type { BlobStore, VaultPort } from "../ports.js";
import { SignalFanout } from "../signals.js";
import { backupObject, type EventSource, type ObjectOutcome } from "./objectBackup.js";
import type { RunRecord } from "./record.js";
import type { RunItems } from "./runItems.js";

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
  items: RunItems;
  skipped: ManifestSkip[];
  failed: ManifestFailure[];
  bytes: number;
  /** Changes continuous protection missed (taken from Key Vault by this run). */
  eventsMissed?: MissedChange[];
}

/** An incremental run's base: the vault's newest committed run, its items by kind and lower-cased name. */
export interface Base {
  runId: string;
  /** When the base run started: the changes since then are this run's to take. */
  startedAt: string;
  items: ReadonlyMap<string, ManifestItem>;
  /**
   * The base run's blobs as the container lists them now (what each says of itself, and its size),
   * when the base has items without an ETag; empty otherwise.
   */
  blobs: ReadonlyMap<string, StoredBlob>;
}

export const baseKey = (kind: Kind, name: string): string => `${kind}/${name.toLowerCase()}`;

export interface KindsDeps {
  vault: VaultPort;
  blobs: BlobStore;
  limiter: VaultLimiter;
  concurrency: number;
  /** The pool's size when the run has a base (copies wait on Storage, not on the vault's budget). */
  copyConcurrency?: number;
  versionLimit: number;
  onProgress?: (p: Progress) => void;
  /** Set for an incremental run: unchanged objects are copied from it. */
  base?: Base | undefined;
  /**
   * With continuous protection on: each object's newest event backup, by baseKey (an incremental
   * run copies an object changed since its base from the one that holds its current state), and
   * the window in which a new version no event backup holds is one the events missed.
   */
  events?:
    | {
        newest: ReadonlyMap<string, EventSource>;
        /** Per object, the latest time any of its event backups answered an event or started (blobs without an event time too). */
        latest: ReadonlyMap<string, number>;
        /** New versions made from here (the vault's run before this one started)… */
        missedAfter: number;
        /** …to here (the report's grace before this run's start) should each have an event backup. */
        missedBefore: number;
      }
    | undefined;
}

/** One kind's pass: its progress, and where each object's outcome goes. */
class KindPass {
  readonly progress: Progress;

  constructor(
    private readonly deps: KindsDeps,
    private readonly record: RunRecord,
    private readonly out: BackedUp,
    readonly kind: Kind,
    runDone: number,
  ) {
    this.progress = { kind, listed: 0, listingDone: false, done: 0, throttled: 0, bytes: 0, runDone };
  }

  report(): void {
    this.progress.throttled = this.deps.limiter.stats.throttled;
    this.deps.onProgress?.({ ...this.progress });
  }

  private tally(outcome: "backedUp" | "skipped" | "failed", bytes = 0): void {
    this.record.counts[this.kind][outcome]++;
    this.record.telemetry.object(this.kind, outcome, bytes);
    this.progress.done++;
    this.progress.runDone++;
  }

  skipManaged(o: ObjectInfo): void {
    this.out.skipped.push({ kind: this.kind, name: o.name, reason: "managed-by-certificate" });
    this.tally("skipped");
  }

  add(r: ObjectOutcome): void {
    if (r.outcome === "backedUp") {
      const written = r.resumed || r.copied ? 0 : r.item.bytes;
      if (r.copied) this.record.copied++;
      this.out.items.add(r.item);
      this.out.bytes += r.item.bytes;
      this.progress.bytes += written;
      this.tally("backedUp", written);
    } else if (r.outcome === "skipped") {
      this.out.skipped.push(r.skip);
      this.tally("skipped");
    } else {
      this.out.failed.push(r.failure);
      this.tally("failed");
    }
    this.report();
  }

  /**
   * Backed up from Key Vault by an incremental run with continuous protection on: a change made after
   * the base run started and well before this run (the events' grace) that no event backup held is
   * one the events missed.
   */
  takenFromVault(o: ObjectInfo): void {
    const { events } = this.deps;
    // Only a new version has an event (an attribute or tag change has none): its creation time says.
    if (!events || o.createdOn === undefined) return;
    const at = Date.parse(o.createdOn);
    if (Number.isNaN(at) || at < events.missedAfter || at > events.missedBefore) return;
    // An event backup answered an event of this version or later, or was taken after it: not missed.
    if ((events.latest.get(baseKey(this.kind, o.name)) ?? 0) >= at) return;
    this.out.eventsMissed ??= [];
    this.out.eventsMissed.push({ kind: this.kind, name: o.name, createdOn: o.createdOn });
  }

  /** Listing the kind failed (RBAC, firewall...): one failure for the kind, named "*". */
  listingFailed(e: unknown): void {
    const d = diagnosisOf(e, { vault: this.record.vault.name }) as Diagnosis;
    this.out.failed.push({ kind: this.kind, name: "*", code: d.code, message: firstLine(e), diagnosis: d });
    this.record.counts[this.kind].failed++;
  }
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
  const signals = new SignalFanout(signal);
  let runDone = 0;
  try {
    for (const kind of record.kinds) {
      const pass = new KindPass(deps, record, out, kind, runDone);
      await record.telemetry.kind(kind, () => backupKind(deps, record, existing, signals, pass));
      pass.report();
      runDone = pass.progress.runDone;
    }
  } finally {
    signals.close();
  }
}

async function backupKind(
  deps: KindsDeps,
  record: RunRecord,
  existing: Map<string, StoredBlob>,
  signals: SignalFanout,
  pass: KindPass,
): Promise<void> {
  const objectDeps = {
    vault: deps.vault,
    blobs: deps.blobs,
    vaultName: record.vault.name,
    versionLimit: deps.versionLimit,
  };
  const pool = new Pool(deps.base ? (deps.copyConcurrency ?? deps.concurrency) : deps.concurrency);
  try {
    await signals.with(async (listing) => {
      // The next page is asked for while this one's objects are worked on: the pool does not run
      // dry at each page boundary (measured: the incremental run's copies waited on the listing).
      for await (const page of readAhead(deps.vault.list(pass.kind, listing))) {
        for (const o of page) {
          pass.progress.listed++;
          if (o.managed) {
            pass.skipManaged(o);
            continue;
          }
          const blob = objectBlob(record.prefix, pass.kind, o.name);
          const inBase = deps.base?.items.get(baseKey(pass.kind, o.name));
          const base =
            inBase && deps.base
              ? { runId: deps.base.runId, item: inBase, stored: deps.base.blobs.get(inBase.blob) }
              : undefined;
          // Copied from an event backup only in an incremental run (a full run takes everything from Key Vault).
          const event = deps.base ? deps.events?.newest.get(baseKey(pass.kind, o.name)) : undefined;
          await pool.submit(() =>
            signals.with(async (s) => {
              const outcome = await backupObject(objectDeps, o, blob, existing.get(blob), s, base, event);
              // Taken from Key Vault by this attempt, or by an earlier one of this run (a resumed blob
              // that was not copied): a new version there may be one the events missed.
              if (outcome.outcome === "backedUp" && !outcome.copied && !outcome.item.copiedFrom)
                pass.takenFromVault(o);
              pass.add(outcome);
            }),
          );
        }
        pass.report();
      }
    });
    pass.progress.listingDone = true;
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    pass.listingFailed(e);
  } finally {
    await pool.drain();
  }
}
