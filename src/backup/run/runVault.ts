import { findVault } from "../../domain/config.js";
import { isKvBackupError } from "../../domain/errors.js";
import { abortError, type SignalLike } from "../../domain/signal.js";
import { Kinds } from "../../domain/vocabulary.js";
import { findRun } from "../catalog/findRun.js";
import { EventsLateSeconds } from "../coverage.js";
import type { EngineDeps, VaultJob } from "../deps.js";
import { eventBackupsOf } from "../eventLayout.js";
import { diagnosisOf, isStorageFailure, storageContext } from "../failures.js";
import { notInFleet, withFleet } from "../fleet.js";
import { VaultLimiter } from "../limiter.js";
import { budgetOf, underBudget } from "../subscriptionBudget.js";
import {
  type BackedUp,
  type Base,
  backupKinds,
  baseKey,
  type KindsDeps,
  type Progress,
} from "./backupKinds.js";
import { baseFor } from "./base.js";
import { commit } from "./commit.js";
import { framedRun } from "./frame.js";
import type { EventSource } from "./objectBackup.js";
import { RunRecord, type RunResult } from "./record.js";
import { RunItems } from "./runItems.js";
import { tidyEarlierRuns } from "./tidy.js";

export interface RunOptions {
  onProgress?: (p: Progress) => void;
  signal?: SignalLike;
  /** The queue will not deliver this job again (its dequeue count reached the limit). */
  lastDelivery?: boolean;
}

/**
 * One vault, one run: storage preflight, resume or commit check, the vault's lease, tidy the
 * vault's dead runs, inventory row, back up every object under the vault's budget, manifest last,
 * row again. Every way it ends gives a result with a final row and the event; only a run stopped
 * from outside (an abort, the lease lost) or refused (not allowed, already running) throws, and a
 * rerun of the same runId resumes where it stopped.
 */
export async function runVault(given: EngineDeps, job: VaultJob, options: RunOptions): Promise<RunResult> {
  let deps = await withFleet(given, options.signal);
  let vault = findVault(deps.config, job.vault);
  // Queued by another instance that discovered it a moment ago: look again before refusing.
  if (!vault && deps.fleet) {
    deps = await withFleet(given, options.signal, { fresh: true });
    vault = findVault(deps.config, job.vault);
  }
  if (!vault) throw notInFleet(deps, job.vault);
  const asked = job.kinds?.length ? job.kinds : deps.config.kinds;
  const record = new RunRecord(
    deps,
    job,
    vault,
    Kinds.filter((k) => asked.includes(k)),
  );
  // One slot of the subscription's budget for the length of the run (waits for one if need be).
  return framedRun(deps, record, options.signal, "vault", (signal) =>
    underBudget(deps, vault, signal, (budgeted) => backUp(deps, record, budgeted, options.onProgress)),
  );
}

/**
 * With continuous protection on: each object's newest event backup (one that says what it holds:
 * an incremental run copies from it), and the window in which a new version should have had its
 * event backup — from the start of the vault's run before this one (the base, or for a full run
 * the newest committed run) to the report's grace before this run's start. No earlier run: no
 * window (nothing to compare with).
 */
async function eventSources(
  deps: EngineDeps,
  record: RunRecord,
  base: Base | undefined,
  signal: SignalLike,
): Promise<KindsDeps["events"]> {
  if (!deps.config.eventsQueue) return undefined;
  const before = base?.startedAt ?? (await previousRunStart(deps, record, signal));
  if (before === undefined) return undefined;
  const newest = new Map<string, EventSource>();
  const latest = new Map<string, number>();
  for (const e of await eventBackupsOf(deps.blobs, record.vault.name, signal)) {
    const key = baseKey(e.kind, e.name);
    const seen = Math.max(Date.parse(e.startedAt), e.eventAt ? Date.parse(e.eventAt) : 0);
    latest.set(key, Math.max(seen, latest.get(key) ?? 0));
    if (!e.sha256 || !e.eventAt) continue;
    const known = newest.get(key);
    if (!known || Date.parse(e.eventAt) > Date.parse(known.eventAt))
      newest.set(key, { blob: e.blob, bytes: e.bytes, sha256: e.sha256, etag: e.etag, eventAt: e.eventAt });
  }
  return {
    newest,
    latest,
    missedAfter: Date.parse(before),
    missedBefore: record.startedAt.getTime() - EventsLateSeconds * 1000,
  };
}

/** When the vault's newest committed run (not this one) started; undefined when it has none. */
async function previousRunStart(
  deps: EngineDeps,
  record: RunRecord,
  signal: SignalLike,
): Promise<string | undefined> {
  try {
    const { manifest } = await findRun(deps, "latest", record.vault.name, signal);
    return manifest.runId === record.job.runId ? undefined : manifest.startedAt;
  } catch (e) {
    if (isKvBackupError(e, "NotFound") || isKvBackupError(e, "CorruptManifest")) return undefined;
    throw e;
  }
}

async function backUp(
  deps: EngineDeps,
  record: RunRecord,
  signal: SignalLike,
  onProgress?: (p: Progress) => void,
): Promise<RunResult> {
  const out: BackedUp = { items: new RunItems(record.prefix), skipped: [], failed: [], bytes: 0 };
  try {
    await tidyEarlierRuns(deps, record, signal);
    const base = await baseFor(deps, record, signal);
    record.mode = base ? "incremental" : "full";
    await record.start();
    const existing = await deps.blobs.list(record.prefix, signal);
    const limiter = new VaultLimiter({
      ratePer10s: budgetOf(deps, record.vault).ratePer10s,
      clock: deps.clock,
    });
    const vault = deps.vaults(record.vault, limiter, { onThrottled: () => record.telemetry.throttled() });
    const events = await eventSources(deps, record, base, signal);
    const { concurrency, copyConcurrency, versionLimit } = deps.tuning;
    await backupKinds(
      {
        vault,
        blobs: deps.blobs,
        limiter,
        concurrency,
        copyConcurrency,
        versionLimit,
        base,
        events,
        ...(onProgress ? { onProgress } : {}),
      },
      record,
      existing,
      signal,
      out,
    );
    return await commit(deps, record, out, existing, signal);
  } catch (e) {
    const stopped = signal.aborted ? abortError(signal) : e;
    if (signal.aborted && !isStorageFailure(stopped)) {
      record.telemetry.interrupt(stopped);
      throw stopped;
    }
    if (!isStorageFailure(stopped)) {
      record.telemetry.interrupt(e);
      throw e;
    }
    // The container, the table or the lease blob went away mid-run: the run ends here, once, with that diagnosis.
    const diagnosis = diagnosisOf(stopped, storageContext(deps));
    return record.end("failed", {
      bytes: out.bytes,
      failed: [],
      ...(diagnosis ? { diagnosis } : {}),
      stoppedAt: "mid-run",
    });
  }
}
