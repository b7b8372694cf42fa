import { findHsm, findVault, type VaultRef } from "../../domain/config.js";
import { KvBackupError } from "../../domain/errors.js";
import { parseInstant } from "../../domain/rules.js";
import type { SignalLike } from "../../domain/signal.js";
import { unique } from "../../domain/vocabulary.js";
import { type FoundRun, findRun } from "../catalog/findRun.js";
import { fromCopy, unvouched } from "../copy/fromCopy.js";
import type { EngineDeps } from "../deps.js";
import { diagnosed, storageContext } from "../failures.js";
import { notInFleet, withFleet } from "../fleet.js";
import { VaultLimiter } from "../limiter.js";
import { budgetOf, underBudget } from "../subscriptionBudget.js";
import { asOf, type Sources, sourceOf } from "./asOf.js";
import { executeRestore } from "./execute.js";
import { planRestore } from "./plan.js";
import type { RestoreEntry, RestoreReport, RestoreRequest } from "./restoreTypes.js";
import { expectedStatus, restoreStatus } from "./status.js";

export interface Resolved {
  run: FoundRun;
  target: VaultRef;
  /** A point-in-time restore: where each object comes from. */
  sources?: Sources;
}

export interface RestoreOptions {
  restoreId?: string;
  resolved?: Resolved;
  onProgress?: (done: number, total: number) => void;
  onEntry?: (entry: RestoreEntry) => void;
  signal?: SignalLike;
}

/** The request with repeats removed: the same kind or name asked twice is restored once. */
export function normalRequest(req: RestoreRequest): RestoreRequest {
  return {
    ...req,
    ...(req.kinds ? { kinds: unique(req.kinds) } : {}),
    ...(req.names ? { names: unique(req.names, (n) => n.toLowerCase()) } : {}),
  };
}

/**
 * Checks a request before anything touches Key Vault: the target must be on the allow-list (a
 * restore never sends a token to a host the operator did not list) and the run must be committed.
 */
export async function resolveRestore(
  given: EngineDeps,
  req: RestoreRequest,
  signal?: SignalLike,
): Promise<Resolved> {
  const deps = await withFleet(req.from === "copy" ? fromCopy(given) : given, signal);
  for (const name of [req.vault, req.targetVault])
    if (name && findHsm(deps.config, name))
      throw new KvBackupError(
        "BadRequest",
        `'${name}' is a Managed HSM: restore one of its keys with kvbackup restore RUNID|latest --hsm ${name} --key KEY`,
      );
  const targetName = req.targetVault ?? req.vault;
  const target = findVault(deps.config, targetName, { includeRestoreTargets: true });
  // While a subscription cannot be read the target may be one of its vaults: discovery's failure,
  // named with its diagnosis, not the caller's mistake.
  if (!target && deps.fleet?.unread.length) throw notInFleet(deps, targetName);
  if (!target)
    throw new KvBackupError(
      "VaultNotAllowed",
      `target vault '${targetName.slice(0, 64)}' is not in BACKUP_VAULTS or RESTORE_TARGET_VAULTS${req.targetVault ? "" : " (nor discovered): to restore the backups of a vault that is gone, name a target on the allow-list with --to T (HTTP: targetVault)"}`,
    );
  const at = pointInTime(req, deps.now());
  const run = await findRun(deps, req.runId, req.vault, signal, at);
  // A queued point-in-time restore is pinned to the run it was planned from (runId and at): that
  // run must have finished by then.
  if (at && Date.parse(run.manifest.finishedAt) > at.getTime())
    throw new KvBackupError(
      "BadRequest",
      `run ${run.manifest.runId} finished at ${run.manifest.finishedAt}, after ${at.toISOString()}: not the vault as it was then`,
    );
  if (run.manifest.hsm)
    throw new KvBackupError("BadRequest", `run ${run.manifest.runId} is a Managed HSM backup, not a vault's`);
  return at ? { ...(await asOf(deps, run, at, signal)), target } : { run, target };
}

/** The request's point in time: an ISO 8601 time with its zone, of a real day, not in the future. */
export function pointInTime(req: Pick<RestoreRequest, "at">, now: Date): Date | undefined {
  if (req.at === undefined) return undefined;
  const at = parseInstant(req.at);
  if (!at)
    throw new KvBackupError(
      "BadRequest",
      `'${req.at.slice(0, 40)}' is not an ISO 8601 time with its zone, of a real day (e.g. 2026-12-06T09:30:00Z)`,
    );
  if (at.getTime() > now.getTime())
    throw new KvBackupError(
      "BadRequest",
      `${at.toISOString()} is in the future: a restore can only go back in time`,
    );
  return at;
}

/** Where a restore's run came from, as its report says it. */
const sourceOfReport = (deps: EngineDeps, run: FoundRun, req: RestoreRequest): RestoreReport["source"] => ({
  runId: run.manifest.runId,
  vault: run.manifest.vault.name,
  status: run.manifest.status,
  ...(req.from ? { from: req.from } : {}),
  ...(unvouched(deps) ? { unvouched: true as const } : {}),
  ...(req.at ? { at: new Date(req.at).toISOString() } : {}),
});

/** Plans, and unless dryRun, restores: the same budget and 429 handling as backup, on the target vault. */
export async function runRestore(
  given: EngineDeps,
  request: RestoreRequest,
  options: RestoreOptions = {},
): Promise<RestoreReport> {
  const req = normalRequest(request);
  const deps = req.from === "copy" ? fromCopy(given) : given;
  const { signal } = options;
  const startedAt = deps.now().toISOString();
  const { run, target, sources } = options.resolved ?? (await resolveRestore(deps, req, signal));
  const ratePer10s = Math.min(budgetOf(deps, target).ratePer10s, deps.tuning.restoreRatePer10s);
  const vault = deps.vaults(target, new VaultLimiter({ ratePer10s, clock: deps.clock }), {});
  const filters = { ...(req.kinds ? { kinds: req.kinds } : {}), ...(req.names ? { names: req.names } : {}) };
  const planned = await planRestore(vault, run.manifest, filters, signal).catch((e: unknown) => {
    // Planning lists the target: a refusal there is about the restore role on it.
    throw diagnosed(e, { vault: target.name, caller: deps.config.caller, purpose: "restore" });
  });
  const plan = sources
    ? planned.map((p) => {
        const from = sourceOf(sources, p.kind, p.name);
        return from ? { ...p, from } : p;
      })
    : planned;
  const onConflict = req.onConflict ?? "skip";
  const base = {
    ...(options.restoreId ? { restoreId: options.restoreId } : {}),
    source: sourceOfReport(deps, run, req),
    target,
    onConflict,
    plan,
    startedAt,
  };
  if (req.dryRun)
    return {
      ...base,
      dryRun: true,
      status: "planned",
      expected: expectedStatus(plan, onConflict),
      finishedAt: deps.now().toISOString(),
    };
  // A restore spends the target's subscription budget like a backup: one slot while it writes.
  const results = await underBudget(deps, target, signal, (budgeted) =>
    executeRestore(
      {
        blobs: deps.blobs,
        vault,
        target,
        storageContext: storageContext(deps),
        concurrency: deps.tuning.restoreConcurrency,
        conflictRetryMs: deps.tuning.conflictRetryMs,
        clock: deps.clock,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.onEntry ? { onEntry: options.onEntry } : {}),
      },
      run.manifest,
      plan,
      onConflict,
      budgeted,
    ),
  );
  return {
    ...base,
    dryRun: false,
    status: restoreStatus(results, onConflict),
    results,
    finishedAt: deps.now().toISOString(),
  };
}
