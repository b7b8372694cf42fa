import type { VaultRef } from "../domain/config.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import { KvBackupError } from "../domain/errors.js";
import type { DiscoveredVault } from "../domain/objects.js";
import { isVaultName, normalVaultName } from "../domain/rules.js";
import type { SignalLike } from "../domain/signal.js";
import type { EngineDeps } from "./deps.js";
import { diagnosisOf, isArmFailure } from "./failures.js";

/** A vault the app backs up, and why: listed in BACKUP_VAULTS, or discovered in a subscription. */
export interface FleetVault extends VaultRef {
  source: "listed" | "discovered";
  subscription?: string;
  tags?: Record<string, string>;
}

export interface ExcludedVault {
  name: string;
  subscription?: string;
  reason: string;
}

/** What the app backs up right now: every listed vault, every discovered one that passes the tag filter. */
export interface Fleet {
  vaults: FleetVault[];
  excluded: ExcludedVault[];
  /** Subscriptions discovery could not read, each with its diagnosis: their vaults are not in the fleet. */
  unread: { subscription: string; diagnosis: Diagnosis }[];
  discoveredAt: string;
  /** Restore targets discovery saw, with their subscription (the budget a restore into them spends). */
  targets?: Map<string, string>;
}

/** Tag names are case-insensitive in Azure; values are compared exactly. */
function tagValue(tags: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(tags).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : tags[key];
}

const VaultHostSuffix =
  /\.(vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)|privatelink\.vaultcore\.(azure\.net|azure\.cn|usgovcloudapi\.net))$/i;
const isLoopback = (host: string): boolean => host === "localhost" || host === "[::1]" || /^127\./.test(host);

/**
 * Why a discovered vault is not backed up, or undefined when it is. A discovered vault is held to
 * the rules a listed one is: a Key Vault name, a https vaultUri whose host is that vault's own
 * (<name>.vault.<cloud>, its private endpoint name, or loopback only when ARM itself is the local
 * stack's), a URL no other vault of the fleet has, and not a restore target.
 */
function exclusion(deps: EngineDeps, v: DiscoveredVault, fleet: readonly FleetVault[]): string | undefined {
  const tag = deps.config.vaultTag;
  if (tag) {
    const value = tagValue(v.tags, tag.name);
    if (value === undefined) return `no tag '${tag.name}' (BACKUP_VAULT_TAG=${tag.name}=${tag.value})`;
    if (value !== tag.value) return `tag ${tag.name}=${value}, not ${tag.value}`;
  }
  if (!isVaultName(v.name)) return `'${v.name.slice(0, 64)}' is not a Key Vault name`;
  const name = normalVaultName(v.name);
  let url: URL;
  try {
    url = new URL(v.url);
  } catch {
    return `its vaultUri '${v.url.slice(0, 80)}' is not a URL`;
  }
  if (url.protocol !== "https:") return `its vaultUri ${url.origin} is not https`;
  const host = url.hostname.toLowerCase();
  const armIsLocal = isLoopback(new URL(deps.config.armEndpoint).hostname);
  const own = VaultHostSuffix.test(host) ? host.split(".")[0] === name : isLoopback(host) && armIsLocal;
  if (!own) return `its vaultUri ${url.origin} is not the vault's own host (${name}.vault.<cloud>)`;
  const twin = fleet.find((o) => o.name === name);
  if (twin?.source === "discovered")
    return `also in subscription ${twin.subscription}; the first one found is kept`;
  if (twin && new URL(twin.url).origin !== url.origin)
    return `listed in BACKUP_VAULTS with another URL (${twin.url})`;
  const sameUrl = fleet.find((o) => o.name !== name && new URL(o.url).origin === url.origin);
  if (sameUrl) return `its vaultUri is also vault '${sameUrl.name}'s`;
  if (deps.config.restoreTargets.some((t) => t.name === name || new URL(t.url).origin === url.origin))
    return "it is a restore target (RESTORE_TARGET_VAULTS)";
  const drill = deps.config.drillVault;
  if (drill && (drill.name === name || new URL(drill.url).origin === url.origin))
    return "it is the restore drill's scratch vault (BACKUP_DRILL_VAULT): drills empty it";
  return undefined;
}

/**
 * Resolves the fleet: BACKUP_VAULTS, then the Key Vaults of every BACKUP_SUBSCRIPTIONS subscription
 * (through Azure Resource Manager) that carry BACKUP_VAULT_TAG. A listed vault also discovered stays
 * listed (once) and learns its subscription — whatever else discovery says of it — as does a restore
 * target: that is the budget it spends. A subscription that cannot be read is named with its
 * diagnosis, never skipped silently; Key Vault failures are not ARM's and are never caught here.
 */
export async function discoverFleet(deps: EngineDeps, signal?: SignalLike): Promise<Fleet> {
  const vaults: FleetVault[] = deps.config.vaults.map((v) => ({ ...v, source: "listed" }));
  const targets = new Map<string, string>();
  const excluded: ExcludedVault[] = [];
  const unread: Fleet["unread"] = [];
  for (const subscription of deps.directory ? deps.config.subscriptions : []) {
    let found: DiscoveredVault[];
    try {
      found = (await deps.directory?.list(subscription, signal)) ?? [];
    } catch (e) {
      if (!isArmFailure(e)) throw e;
      unread.push({
        subscription,
        diagnosis: diagnosisOf(e, { subscription, caller: deps.config.caller }) as Diagnosis,
      });
      continue;
    }
    for (const v of found.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = normalVaultName(v.name);
      const listedTwin = vaults.find((o) => o.name === name && o.source === "listed");
      if (listedTwin) listedTwin.subscription ??= subscription;
      if (deps.config.restoreTargets.some((t) => t.name === name)) targets.set(name, subscription);
      const reason = exclusion(deps, v, vaults);
      if (reason) excluded.push({ name, subscription, reason });
      else if (!listedTwin)
        vaults.push({ name, url: new URL(v.url).origin, source: "discovered", subscription, tags: v.tags });
    }
  }
  return { vaults, excluded, unread, discoveredAt: deps.now().toISOString(), targets };
}

const FleetTtlMs = 5 * 60_000;
const cache = new WeakMap<EngineDeps, { at: number; fleet: Fleet }>();

/**
 * The engine's deps with the discovered vaults on the allow-list (BACKUP_VAULTS plus discovery),
 * so every entry point that takes a vault name accepts a discovered one. Discovery is asked again
 * after five minutes; without BACKUP_SUBSCRIPTIONS this is the deps as they are.
 */
export async function withFleet(
  deps: EngineDeps,
  signal?: SignalLike,
  /** fresh: read discovery now; maxAgeMs: now, if what was read is older than that (default five minutes). */
  options: { fresh?: boolean; maxAgeMs?: number } = {},
): Promise<EngineDeps & { fleet?: Fleet }> {
  if ("fleet" in deps) return deps as EngineDeps & { fleet?: Fleet };
  if (!deps.directory || deps.config.subscriptions.length === 0) return deps;
  const now = deps.now().getTime();
  let entry = cache.get(deps);
  if (options.fresh || !entry || now - entry.at > (options.maxAgeMs ?? FleetTtlMs)) {
    entry = { at: now, fleet: await discoverFleet(deps, signal) };
    cache.set(deps, entry);
  }
  const fleet = entry.fleet;
  // Listed and discovered, each with its subscription when discovery saw it (its budget's scope).
  const vaults = fleet.vaults.map(({ name, url, subscription }) => ({
    name,
    url,
    ...(subscription ? { subscription } : {}),
  }));
  const restoreTargets = deps.config.restoreTargets.map((t) => {
    const subscription = fleet.targets?.get(t.name);
    return subscription ? { ...t, subscription } : t;
  });
  return { ...deps, config: { ...deps.config, vaults, restoreTargets }, fleet };
}

/** The fleet the deps were resolved with, or (without BACKUP_SUBSCRIPTIONS) the listed vaults alone. */
export function fleetOf(deps: EngineDeps & { fleet?: Fleet }): Fleet {
  return (
    deps.fleet ?? {
      vaults: deps.config.vaults.map((v) => ({ ...v, source: "listed" as const })),
      excluded: [],
      unread: [],
      discoveredAt: deps.now().toISOString(),
    }
  );
}

/**
 * A vault that is neither listed nor discovered: refused as not allowed (a caller's mistake). While
 * a subscription cannot be read the vault may be one of its own: that is not the caller's mistake
 * but discovery's failure, named with its diagnosis and retryable (the queue delivers it again).
 */
export function notInFleet(deps: EngineDeps & { fleet?: Fleet }, name: string): KvBackupError {
  const vault = `vault '${name.slice(0, 64)}'`;
  const unread = deps.fleet?.unread ?? [];
  const first = unread[0];
  if (first)
    return new KvBackupError(
      "DiscoveryIncomplete",
      `${vault} is not in BACKUP_VAULTS, and discovery could not read subscription(s) ${unread.map((u) => `${u.subscription} (${u.diagnosis.code})`).join(", ")}: it may be in one of them`,
      { retryable: true, diagnosis: first.diagnosis },
    );
  return new KvBackupError(
    "VaultNotAllowed",
    deps.config.subscriptions.length
      ? `${vault} is neither in BACKUP_VAULTS nor discovered in BACKUP_SUBSCRIPTIONS`
      : `${vault} is not in BACKUP_VAULTS`,
  );
}
