import { drillVaultInUse } from "../diagnosis/drill.js";
import type { VaultRef } from "../domain/config.js";
import type { Caller, Diagnosis, VaultPurpose } from "../domain/diagnosis.js";
import type { SignalLike } from "../domain/signal.js";
import { type Kind, Kinds } from "../domain/vocabulary.js";
import type { EngineDeps } from "./deps.js";
import { scratchInUse } from "./drill/guards.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure, storageContext } from "./failures.js";
import { withFleet } from "./fleet.js";
import { type HsmHealth, hsmHealth } from "./hsm/hsmHealth.js";
import { VaultLimiter } from "./limiter.js";

export interface Check {
  ok: boolean;
  diagnosis?: Diagnosis;
}

export interface VaultHealth {
  name: string;
  url: string;
  ok: boolean;
  /** Per kind: list + backup (backup vaults), list + restore (every vault a restore may target). */
  kinds: Partial<Record<Kind, Check>>;
  restore: Partial<Record<Kind, Check>>;
  /** What makes the vault unfit beyond its rights (the drill's scratch vault holding real data). */
  problem?: Diagnosis;
}

export interface HealthReport {
  ok: boolean;
  caller: Caller;
  storage: Check & {
    container: string;
    /** blob: write + delete a probe blob; queues: send, delete, peek; table: write + delete a row. */
    checks: { blob: Check; backupQueue: Check; restoreQueue: Check; table: Check };
  };
  vaults: VaultHealth[];
  restoreTargets: VaultHealth[];
  /** The restore drill's scratch vault (BACKUP_DRILL_VAULT): the right to list and restore there. */
  drillVault?: VaultHealth;
  /** Managed HSMs: the service's pre-backup check (the app may start a backup; the HSM may write the container). */
  hsms: HsmHealth[];
  /** Discovery: the right to list the Key Vaults of each BACKUP_SUBSCRIPTIONS subscription. */
  discovery: { subscription: string; ok: boolean; diagnosis?: Diagnosis }[];
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

/** Per kind: list + backup on a vault the app backs up; list + restore on every vault a restore (or the drill) may target. */
async function vaultHealth(
  deps: EngineDeps,
  vault: VaultRef,
  purpose: VaultPurpose,
  signal?: SignalLike,
): Promise<VaultHealth> {
  const port = deps.vaults(
    vault,
    new VaultLimiter({ ratePer10s: Math.min(deps.config.ratePer10s, 400) }),
    {},
  );
  const ctx = (p: VaultPurpose) => ({ vault: vault.name, caller: deps.config.caller, purpose: p });
  const kinds: VaultHealth["kinds"] = {};
  const restore: VaultHealth["restore"] = {};
  for (const kind of Kinds.filter((k) => deps.config.kinds.includes(k))) {
    if (purpose === "backup")
      kinds[kind] = await check(() => port.probeBackup(kind, signal), ctx("backup"), isKeyVaultFailure);
    const restoring = purpose === "drill" ? "drill" : "restore";
    restore[kind] = await check(() => port.probeRestore(kind, signal), ctx(restoring), isKeyVaultFailure);
  }
  const ok = [...Object.values(kinds), ...Object.values(restore)].every((c) => c?.ok);
  return { name: vault.name, url: vault.url, ok, kinds, restore };
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
  const unread = new Map((deps.fleet?.unread ?? []).map((u) => [u.subscription, u.diagnosis]));
  const discovery = (deps.directory ? deps.config.subscriptions : []).map((subscription) => {
    const diagnosis = unread.get(subscription);
    return { subscription, ok: !diagnosis, ...(diagnosis ? { diagnosis } : {}) };
  });
  const ctx = storageContext(deps);
  const checks = {
    blob: await check(() => deps.blobs.probe(signal), ctx, isStorageFailure),
    backupQueue: await check(() => deps.backupJobs.probe(signal), ctx, isStorageFailure),
    restoreQueue: await check(() => deps.restoreJobs.probe(signal), ctx, isStorageFailure),
    table: await check(() => deps.inventory.probe(signal), ctx, isStorageFailure),
  };
  const failing = Object.values(checks).find((c) => !c.ok);
  const storage = {
    ok: !failing,
    container: deps.blobs.container,
    ...(failing?.diagnosis ? { diagnosis: failing.diagnosis } : {}),
    checks,
  };
  const vaults = await Promise.all(deps.config.vaults.map((v) => vaultHealth(deps, v, "backup", signal)));
  const restoreTargets = await Promise.all(
    deps.config.restoreTargets.map((v) => vaultHealth(deps, v, "restore", signal)),
  );
  const hsms = storage.ok ? await Promise.all(deps.config.hsms.map((h) => hsmHealth(deps, h, signal))) : [];
  const drillVault = deps.config.drillVault
    ? await vaultHealth(deps, deps.config.drillVault, "drill", signal)
    : undefined;
  // A scratch vault that is not the drill's alone (a vault with data of its own) fails the check;
  // that takes the inventory, so it is asked only when storage answered.
  const inUse =
    deps.config.drillVault && storage.ok ? await scratchInUse(deps, deps.config.drillVault) : undefined;
  if (drillVault && inUse) {
    drillVault.ok = false;
    drillVault.problem = drillVaultInUse(drillVault.name, inUse);
  }
  return {
    ok:
      storage.ok &&
      [...vaults, ...restoreTargets, ...discovery, ...hsms, ...(drillVault ? [drillVault] : [])].every(
        (v) => v.ok,
      ),
    caller: deps.config.caller,
    storage,
    vaults,
    restoreTargets,
    hsms,
    ...(drillVault ? { drillVault } : {}),
    discovery,
  };
}
