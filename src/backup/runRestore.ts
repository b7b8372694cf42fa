import type { App } from "../app.js";
import { findVault, type Kind, type VaultRef } from "../config.js";
import { KvBackupError } from "../errors.js";
import type { SignalLike } from "./delay.js";
import { type FoundRun, findRun } from "./findRun.js";
import { VaultLimiter } from "./limiter.js";
import {
  executeRestore,
  type OnConflict,
  type PlanEntry,
  planRestore,
  type RestoreEntry,
  restoreStatus,
} from "./restore.js";

export interface RestoreRequest {
  /** A runId or "latest" (the newest committed run of `vault`). */
  runId: string;
  /** The source vault. */
  vault: string;
  /** Default: the source vault. Must be in BACKUP_VAULTS or RESTORE_TARGET_VAULTS. */
  targetVault?: string;
  kinds?: Kind[];
  names?: string[];
  dryRun?: boolean;
  onConflict?: OnConflict;
}

export interface RestoreReport {
  restoreId?: string;
  source: { runId: string; vault: string; status: string };
  target: VaultRef;
  dryRun: boolean;
  status: "planned" | "succeeded" | "partial" | "failed";
  plan: PlanEntry[];
  results?: RestoreEntry[];
  startedAt: string;
  finishedAt: string;
}

export interface Resolved {
  run: FoundRun;
  target: VaultRef;
}

/**
 * Checks a request before anything touches Key Vault: the target must be on the allow-list (a
 * restore never sends a token to a host the operator did not list) and the run must be committed.
 */
export async function resolveRestore(app: App, req: RestoreRequest): Promise<Resolved> {
  const targetName = req.targetVault ?? req.vault;
  const target = findVault(app.config, targetName, { includeRestoreTargets: true });
  if (!target) {
    throw new KvBackupError(
      "VaultNotAllowed",
      `target vault '${targetName}' is not in BACKUP_VAULTS or RESTORE_TARGET_VAULTS`,
    );
  }
  const run = await findRun(app, req.runId, req.vault);
  return { run, target };
}

/** Plans, and unless dryRun, restores: the same budget and 429 handling as backup, on the target vault. */
export async function runRestore(
  app: App,
  req: RestoreRequest,
  options: {
    restoreId?: string;
    resolved?: Resolved;
    conflictRetryMs?: number;
    onProgress?: (done: number, total: number) => void;
    onEntry?: (entry: RestoreEntry) => void;
  } = {},
  signal?: SignalLike,
): Promise<RestoreReport> {
  const startedAt = new Date().toISOString();
  const { run, target } = options.resolved ?? (await resolveRestore(app, req));
  const adapter = app.engine.adapter(target, new VaultLimiter({ ratePer10s: app.config.ratePer10s }), {});
  const filters = { ...(req.kinds ? { kinds: req.kinds } : {}), ...(req.names ? { names: req.names } : {}) };
  const plan = await planRestore(adapter, run.manifest, filters, signal);
  const base = {
    ...(options.restoreId ? { restoreId: options.restoreId } : {}),
    source: { runId: run.manifest.runId, vault: run.manifest.vault.name, status: run.manifest.status },
    target,
    plan,
    startedAt,
  };
  if (req.dryRun) return { ...base, dryRun: true, status: "planned", finishedAt: new Date().toISOString() };
  const results = await executeRestore(
    {
      store: app.store,
      adapter,
      target,
      ...(options.conflictRetryMs !== undefined ? { conflictRetryMs: options.conflictRetryMs } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onEntry ? { onEntry: options.onEntry } : {}),
    },
    run.manifest,
    plan,
    req.onConflict ?? "skip",
    signal,
  );
  return {
    ...base,
    dryRun: false,
    status: restoreStatus(results),
    results,
    finishedAt: new Date().toISOString(),
  };
}
