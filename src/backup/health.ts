import { drillVaultInUse } from "../diagnosis/drill.js";
import type { VaultRef } from "../domain/config.js";
import type { Caller, Diagnosis, VaultPurpose } from "../domain/diagnosis.js";
import {
  BackupOperatorRole,
  DrillOperatorRole,
  type KeyVaultRole,
  RestoreOperatorRole,
  VaultGrants,
  type VaultUse,
} from "../domain/permissions.js";
import { abortError, type SignalLike } from "../domain/signal.js";
import type { SignedIn } from "../domain/signedIn.js";
import { type Kind, Kinds } from "../domain/vocabulary.js";
import { type CopyHealth, copyHealth } from "./copy/copyHealth.js";
import type { EngineDeps } from "./deps.js";
import { scratchInUse } from "./drill/guards.js";
import { deadLetterCheck } from "./events/deadLetters.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure, storageContext } from "./failures.js";
import { withFleet } from "./fleet.js";
import { type HsmHealth, hsmHealth } from "./hsm/hsmHealth.js";
import { checkLimiter } from "./limiter.js";

export interface Check {
  ok: boolean;
  diagnosis?: Diagnosis;
  /**
   * A capability the configuration does not promise and the infra does not grant (restoring into a
   * discovered vault): its failure is a notice, not a failed check; `notice` says what it means.
   */
  optional?: true;
  notice?: string;
}

export interface VaultHealth {
  name: string;
  url: string;
  /** What the vault is to the app, and so which rights it needs there (src/domain/permissions.ts). */
  use: VaultUse;
  /** Every check the configuration promises passed (optional ones may not have). */
  ok: boolean;
  /** Per kind: list + backup (backup vaults), list + restore (every vault a restore may target). */
  kinds: Partial<Record<Kind, Check>>;
  restore: Partial<Record<Kind, Check>>;
  /** What makes the vault unfit beyond its rights (the drill's scratch vault holding real data). */
  problem?: Diagnosis;
  /** A check that was not made, and why (then ok is false: nothing was proven). */
  skipped?: string;
}

export interface HealthReport {
  ok: boolean;
  caller: Caller;
  storage: Check & {
    container: string;
    /** blob: write, read, delete a probe blob; queues: send, delete, peek; table: write, read, delete a row. */
    /** `events` only with continuous protection on (BACKUP_EVENTS_QUEUE): the queue is there and readable. */
    checks: { blob: Check; backupQueue: Check; restoreQueue: Check; table: Check; events?: Check };
  };
  vaults: VaultHealth[];
  restoreTargets: VaultHealth[];
  /** The restore drill's scratch vault (BACKUP_DRILL_VAULT): the right to list and restore there; null without one. */
  drillVault: VaultHealth | null;
  /** Managed HSMs: the service's pre-backup check (the app may start a backup; the HSM may write the container). */
  hsms: HsmHealth[];
  /** Discovery: the right to list the Key Vaults of each BACKUP_SUBSCRIPTIONS subscription. */
  discovery: { subscription: string; ok: boolean; diagnosis?: Diagnosis }[];
  /** Who the checks were made as; null when no token could be had. Every key is always there, whatever fails. */
  identity: SignedIn | null;
  /**
   * Continuous protection's dead letters (BACKUP_EVENTS_DEADLETTER_CONTAINER): ok when Event Grid
   * dead-lettered nothing, else EventsDeadLettered; null when the setting is not there.
   */
  deadLetters: Check | null;
  /**
   * The isolated copy (BACKUP_COPY_BLOB_URI): reachable, readable, the app may add — and may NOT
   * delete or overwrite there; null when the setting is not there.
   */
  copy: CopyHealth | null;
}

async function check(
  fn: () => Promise<void>,
  ctx: Parameters<typeof diagnosisOf>[1],
  isOurs: (e: unknown) => boolean,
): Promise<Check> {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    if (!isOurs(e)) throw e;
    return { ok: false, ...(diagnosisOf(e, ctx) ? { diagnosis: diagnosisOf(e, ctx) as Diagnosis } : {}) };
  }
}

/** The notice for a right the infra does not grant, by the vault's use. */
const OptionalNotice: Partial<Record<VaultUse, string>> = {
  discovered: `restoring into a discovered vault needs the ${RestoreOperatorRole.name} role, which the infra does not grant there: restore its backups into a listed target (--to), or assign the role on this vault`,
};

/**
 * The rights a vault's use calls for (src/domain/permissions.ts): per kind, list + backup where
 * the app backs up, list + restore where a restore or the drill writes. A right the configuration
 * promises fails the vault; one it does not (restore into a discovered vault) is a notice.
 */
async function vaultHealth(
  deps: EngineDeps,
  vault: VaultRef,
  use: VaultUse,
  signal?: SignalLike,
): Promise<VaultHealth> {
  const port = deps.vaults(vault, checkLimiter(deps), {});
  const grant = VaultGrants[use];
  const need = (role: KeyVaultRole): "required" | "optional" | undefined =>
    grant.required.includes(role) ? "required" : grant.optional.includes(role) ? "optional" : undefined;
  const backup = need(BackupOperatorRole);
  const restore = use === "drill" ? need(DrillOperatorRole) : need(RestoreOperatorRole);
  const ctx = (p: VaultPurpose) => ({ vault: vault.name, caller: deps.config.caller, purpose: p });
  const probe = async (how: "required" | "optional", fn: () => Promise<void>, p: VaultPurpose) => {
    const c = await check(fn, ctx(p), isKeyVaultFailure);
    const notice = OptionalNotice[use];
    return how === "optional" ? { ...c, optional: true as const, ...(!c.ok && notice ? { notice } : {}) } : c;
  };
  // Every probe of the vault at once: a vault that cannot be reached costs one probe's retries,
  // not one per kind and right in turn (35 s for six, measured, before).
  const wanted = Kinds.filter((k) => deps.config.kinds.includes(k));
  const [backups, restoreChecks] = await Promise.all([
    Promise.all(
      wanted.map((kind) =>
        backup ? probe(backup, () => port.probeBackup(kind, signal), "backup") : undefined,
      ),
    ),
    Promise.all(
      wanted.map((kind) =>
        restore
          ? probe(restore, () => port.probeRestore(kind, signal), use === "drill" ? "drill" : "restore")
          : undefined,
      ),
    ),
  ]);
  const kinds: VaultHealth["kinds"] = {};
  const restores: VaultHealth["restore"] = {};
  wanted.forEach((kind, i) => {
    if (backups[i]) kinds[kind] = backups[i];
    if (restoreChecks[i]) restores[kind] = restoreChecks[i];
  });
  const ok = [...Object.values(kinds), ...Object.values(restores)].every((c) => c?.ok || c?.optional);
  return { name: vault.name, url: vault.url, use, ok, kinds, restore: restores };
}

/**
 * A scratch vault that is not the drill's alone (a vault with data of its own) fails the check; that
 * takes the inventory, so it is asked only when storage answered, and an inventory that cannot be
 * read fails it with that diagnosis.
 */
async function drillAlone(deps: EngineDeps, drill: VaultHealth, storageOk: boolean, signal?: SignalLike) {
  const scratch: VaultRef = { name: drill.name, url: drill.url };
  if (!storageOk) {
    drill.ok = false;
    drill.skipped = "the drill's alone: not checked while the storage path fails";
    return;
  }
  try {
    const inUse = await scratchInUse(deps, scratch, signal);
    if (inUse) {
      drill.ok = false;
      drill.problem = drillVaultInUse(drill.name, inUse);
    }
  } catch (e) {
    const diagnosis = diagnosisOf(e, storageContext(deps));
    if (!diagnosis) throw e;
    drill.ok = false;
    drill.problem = diagnosis;
  }
}

/** Each discovery subscription: read, or the diagnosis of why not. */
function discoveryHealth(
  deps: EngineDeps & { fleet?: { unread: { subscription: string; diagnosis: Diagnosis }[] } },
) {
  const unread = new Map((deps.fleet?.unread ?? []).map((u) => [u.subscription, u.diagnosis]));
  return (deps.directory ? deps.config.subscriptions : []).map((subscription) => {
    const diagnosis = unread.get(subscription);
    return { subscription, ok: !diagnosis, ...(diagnosis ? { diagnosis } : {}) };
  });
}

/**
 * Proves every path the app uses, uncached: the container (write + delete), both job queues (send,
 * delete, peek), the inventory table (write + delete); for each backup vault and kind the right to
 * list and back up; for every vault a restore may target the right to list and restore. Each
 * refusal comes with its diagnosis, naming the caller the path belongs to.
 */
export async function checkHealth(given: EngineDeps, signal?: SignalLike): Promise<HealthReport> {
  // Discovered vaults are checked like listed ones; a subscription discovery cannot read fails the check.
  const deps = await withFleet(given, signal, { fresh: true });
  const discovery = discoveryHealth(deps);
  const ctx = storageContext(deps);
  const discovered = new Set(deps.fleet?.vaults.filter((v) => v.source === "discovered").map((v) => v.name));
  // The storage paths and the vaults at once: an unreachable one costs its own retries only once.
  const copying = copyHealth(deps, signal);
  // Awaited below; marked handled now, so a failure while the others still run is not an unhandled rejection.
  copying.catch(() => undefined);
  const [blob, backupQueue, restoreQueue, table, vaults, restoreTargets, drillVault, events, deadLetters] =
    await Promise.all([
      check(() => deps.blobs.probe(signal), ctx, isStorageFailure),
      check(() => deps.backupJobs.probe(signal), ctx, isStorageFailure),
      check(() => deps.restoreJobs.probe(signal), ctx, isStorageFailure),
      check(() => deps.inventory.probe(signal), ctx, isStorageFailure),
      Promise.all(
        deps.config.vaults.map((v) =>
          vaultHealth(deps, v, discovered.has(v.name) ? "discovered" : "listed", signal),
        ),
      ),
      Promise.all(deps.config.restoreTargets.map((v) => vaultHealth(deps, v, "restoreTarget", signal))),
      deps.config.drillVault ? vaultHealth(deps, deps.config.drillVault, "drill", signal) : undefined,
      deps.events
        ? check(() => (deps.events as NonNullable<typeof deps.events>).probe(signal), ctx, isStorageFailure)
        : undefined,
      deps.deadLetters ? deadLettersHealth(deps, ctx, signal) : null,
    ]);
  const copy = await copying;
  const checks = { blob, backupQueue, restoreQueue, table, ...(events ? { events } : {}) };
  const failing = Object.values(checks).find((c) => !c.ok);
  const storage = {
    ok: !failing,
    container: deps.blobs.container,
    ...(failing?.diagnosis ? { diagnosis: failing.diagnosis } : {}),
    checks,
  };
  // The HSM writes into the container: its check is made only when storage answered; every HSM is
  // listed either way.
  const hsms = storage.ok
    ? await Promise.all(deps.config.hsms.map((h) => hsmHealth(deps, h, signal)))
    : deps.config.hsms.map((h) => ({ ...h, ok: false, skipped: "not checked while the storage path fails" }));
  if (drillVault) await drillAlone(deps, drillVault, storage.ok, signal);
  // Stopped (Ctrl-C): what the checks say now is about the stop, not the paths.
  if (signal?.aborted) throw abortError(signal);
  const parts = [storage, ...vaults, ...restoreTargets, ...discovery, ...hsms, drillVault, deadLetters, copy];
  return {
    ok: parts.every((p) => p?.ok !== false),
    caller: deps.config.caller,
    identity: deps.whoAmI?.() ?? null,
    storage,
    vaults,
    restoreTargets,
    hsms,
    drillVault: drillVault ?? null,
    discovery,
    deadLetters,
    copy,
  };
}

/** The dead-letter container read: none is ok; some are EventsDeadLettered; a storage failure is its own diagnosis. */
async function deadLettersHealth(
  deps: EngineDeps,
  ctx: Parameters<typeof diagnosisOf>[1],
  signal?: SignalLike,
): Promise<Check> {
  let found: Check = { ok: true };
  const read = await check(
    async () => {
      found = await deadLetterCheck(deps, signal);
    },
    ctx,
    isStorageFailure,
  );
  return read.ok ? found : read;
}
