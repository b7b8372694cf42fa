import { type Config, findVault, type Kind } from "../config.js";
import { type Diagnosis, diagnose } from "../diagnosis.js";
import { KvBackupError } from "../errors.js";
import type { VaultPolicyHooks } from "../keyvault/policy.js";
import { KeyVaultCallError, type VaultAdapter } from "../keyvault/vaultAdapter.js";
import type { BackupStore } from "../storage/backupStore.js";
import { type Counts, emptyCounts, type Inventory, type InventoryRow } from "../storage/inventory.js";
import { StorageCallError } from "../storage/storageError.js";
import { RunTelemetry } from "../telemetry/telemetry.js";
import type { SignalLike } from "./delay.js";
import { VaultLimiter } from "./limiter.js";
import {
  type Manifest,
  type ManifestFailure,
  type ManifestItem,
  type ManifestSkip,
  manifestBlob,
  objectBlob,
  type RunStatus,
  runPrefix,
  type Tier,
  type Trigger,
} from "./manifest.js";
import { backupObject } from "./objectBackup.js";
import { Pool } from "./pool.js";

/** A queue message / CLI request: one vault, one run. */
export interface BackupJob {
  runId: string;
  vault: string;
  tier: Tier;
  trigger: Trigger;
  kinds?: Kind[];
}

export interface Progress {
  kind: Kind;
  listed: number;
  done: number;
  throttled: number;
  bytes: number;
}

export interface EngineDeps {
  config: Config;
  store: BackupStore;
  inventory: Inventory;
  adapter: (
    vault: { name: string; url: string },
    limiter: VaultLimiter,
    hooks: VaultPolicyHooks,
  ) => VaultAdapter;
  /** Objects in flight at once (each waits for the vault's budget anyway). */
  concurrency?: number;
  /** Key Vault's version limit for backups; 500 in Azure. */
  versionLimit?: number;
  onProgress?: (p: Progress) => void;
}

export interface RunResult {
  runId: string;
  vault: string;
  status: RunStatus;
  manifestPath: string;
  counts: Counts;
  bytes: number;
  durationMs: number;
  failed: ManifestFailure[];
  /** Set when the run failed before any Key Vault call (the storage preflight). */
  preflight?: Diagnosis;
  /** The run had committed before (a redelivered message): nothing was done again. */
  alreadyCommitted?: boolean;
}

function statusOf(items: number, failed: ManifestFailure[]): RunStatus {
  if (failed.length === 0) return "succeeded";
  return items > 0 ? "partial" : "failed";
}

/**
 * One vault, one run: storage preflight, lease, inventory row, enumerate and back up every object
 * under the vault's budget, manifest last, inventory row again, telemetry. A rerun of the same
 * runId resumes where the last attempt stopped.
 */
export async function runVault(deps: EngineDeps, job: BackupJob, signal?: SignalLike): Promise<RunResult> {
  const { config, store, inventory } = deps;
  const vault = findVault(config, job.vault);
  if (!vault) throw new KvBackupError("VaultNotAllowed", `vault '${job.vault}' is not in BACKUP_VAULTS`);
  const kinds = job.kinds?.length ? job.kinds : [...config.kinds];
  const prefix = runPrefix(job.tier, vault.name, job.runId);
  const manifestPath = manifestBlob(prefix);
  const startedAt = new Date();
  // Made when the run's outcome is decided to be new: a committed run emits no second event.
  const newTelemetry = (): RunTelemetry =>
    new RunTelemetry({ runId: job.runId, vault: vault.name, tier: job.tier, trigger: job.trigger });
  const counts = emptyCounts();
  const row = (status: InventoryRow["status"], extra: Partial<InventoryRow> = {}): InventoryRow => ({
    vault: vault.name,
    runId: job.runId,
    tier: job.tier,
    trigger: job.trigger,
    status,
    startedAt: startedAt.toISOString(),
    counts,
    bytes: 0,
    manifest: manifestPath,
    ...extra,
  });

  try {
    await store.preflight(signal);
  } catch (e) {
    if (!(e instanceof StorageCallError)) throw e;
    const diagnosis = diagnose(e.failure, { container: store.containerName });
    const durationMs = Date.now() - startedAt.getTime();
    // The inventory usually sits behind the same firewall: try, but the run's answer does not depend on it.
    await inventory
      .put(
        row("failed", { finishedAt: new Date().toISOString(), durationMs, firstFailureCode: diagnosis.code }),
      )
      .catch(() => undefined);
    newTelemetry().end({ status: "failed", counts, bytes: 0, durationMs, firstFailureCode: diagnosis.code });
    return {
      runId: job.runId,
      vault: vault.name,
      status: "failed",
      manifestPath,
      counts,
      bytes: 0,
      durationMs,
      failed: [],
      preflight: diagnosis,
    };
  }

  const committed = await store.readManifest(manifestPath);
  if (committed) {
    const bytes = committed.items.reduce((n, i) => n + i.bytes, 0);
    for (const i of committed.items) counts[i.kind].backedUp++;
    for (const i of committed.skipped) counts[i.kind].skipped++;
    for (const i of committed.failed) counts[i.kind].failed++;
    return {
      runId: job.runId,
      vault: vault.name,
      status: committed.status,
      manifestPath,
      counts,
      bytes,
      durationMs: 0,
      failed: committed.failed,
      alreadyCommitted: true,
    };
  }

  // The run's own signal: the caller's abort, or the vault's lease taken away mid-run.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort((signal as { reason?: unknown } | undefined)?.reason);
  signal?.addEventListener("abort", onAbort);
  const lock = await store.lock(vault.name, () =>
    stop.abort(
      new KvBackupError(
        "LeaseLost",
        `the lease on vault '${vault.name}' was lost mid-run; another run may own it now`,
        { retryable: true },
      ),
    ),
  );
  const run = stop.signal;
  const telemetry = newTelemetry();
  try {
    await inventory.put(row("running"));
    const existing = await store.list(prefix, run);
    const limiter = new VaultLimiter({ ratePer10s: config.ratePer10s });
    const adapter = deps.adapter(vault, limiter, { onThrottled: () => telemetry.throttled() });
    const items: ManifestItem[] = [];
    const skipped: ManifestSkip[] = [];
    const failed: ManifestFailure[] = [];
    let bytes = 0;
    const objectDeps = {
      adapter,
      store,
      vault: vault.name,
      versionLimit: deps.versionLimit ?? 500,
    };

    for (const kind of kinds) {
      const progress: Progress = { kind, listed: 0, done: 0, throttled: 0, bytes: 0 };
      const report = (): void => {
        progress.throttled = limiter.stats.throttled;
        deps.onProgress?.({ ...progress });
      };
      await telemetry.kind(kind, async () => {
        const pool = new Pool(deps.concurrency ?? 16);
        try {
          for await (const page of adapter.list(kind, run)) {
            for (const o of page) {
              progress.listed++;
              if (o.managed) {
                skipped.push({ kind, name: o.name, reason: "managed-by-certificate" });
                counts[kind].skipped++;
                telemetry.object(kind, "skipped");
                progress.done++;
                continue;
              }
              const blob = objectBlob(prefix, kind, o.name);
              await pool.submit(async () => {
                const r = await backupObject(objectDeps, o, blob, existing.get(blob), run);
                if (r.outcome === "backedUp") {
                  items.push(r.item);
                  bytes += r.item.bytes;
                  progress.bytes += r.resumed ? 0 : r.item.bytes;
                  telemetry.object(kind, "backedUp", r.resumed ? 0 : r.item.bytes);
                } else if (r.outcome === "skipped") {
                  skipped.push(r.skip);
                  telemetry.object(kind, "skipped");
                } else {
                  failed.push(r.failure);
                  telemetry.object(kind, "failed");
                }
                counts[kind][r.outcome]++;
                progress.done++;
                report();
              });
            }
            report();
          }
        } catch (e) {
          // Listing the kind failed (RBAC, firewall...): one failure for the kind, the other kinds go on.
          if (!(e instanceof KeyVaultCallError)) throw e;
          const d = diagnose(e.failure, { vault: vault.name });
          failed.push({
            kind,
            name: "*",
            code: d.code,
            message: e.message.split("\n")[0] ?? e.message,
            diagnosis: d,
          });
          counts[kind].failed++;
        } finally {
          await pool.drain();
        }
      });
      report();
    }

    const finishedAt = new Date();
    const status = statusOf(items.length, failed);
    const order = (a: { kind: string; name: string }, b: { kind: string; name: string }): number =>
      a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1;
    const durationMs = finishedAt.getTime() - startedAt.getTime();
    const firstFailureCode = failed[0]?.code;
    if (status !== "failed") {
      const manifest: Manifest = {
        schemaVersion: 1,
        runId: job.runId,
        vault: { name: vault.name, url: vault.url },
        tier: job.tier,
        trigger: job.trigger,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        status,
        items: items.sort(order),
        skipped: skipped.sort(order),
        failed: failed.sort(order),
      };
      await store.writeManifest(manifestPath, manifest);
    }
    await inventory.put(
      row(status, {
        finishedAt: finishedAt.toISOString(),
        durationMs,
        bytes,
        ...(firstFailureCode ? { firstFailureCode } : {}),
      }),
    );
    telemetry.end({ status, counts, bytes, durationMs, ...(firstFailureCode ? { firstFailureCode } : {}) });
    return { runId: job.runId, vault: vault.name, status, manifestPath, counts, bytes, durationMs, failed };
  } catch (e) {
    const reason = run.aborted ? (run as { reason?: unknown }).reason : undefined;
    const cause = reason instanceof KvBackupError && reason.code === "LeaseLost" ? reason : e;
    telemetry.abandon(cause);
    throw cause;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await lock.release();
  }
}
