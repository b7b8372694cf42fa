import type { VaultRef } from "../domain/config.js";
import { isVaultName, normalVaultName, RuleText } from "../domain/rules.js";
import { serviceUrlProblem } from "./values.js";

/** Key Vault DNS suffixes of the Azure clouds: a URL on one of these carries the vault's name. */
const VaultHost = /^([a-z0-9-]+)\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)$/i;
/** A vault's private endpoint name (privatelink.vaultcore.*): it carries the vault's name too. */
const PrivateLinkHost = /^([a-z0-9-]+)\.privatelink\.vaultcore\.(azure\.net|azure\.cn|usgovcloudapi\.net)$/i;

/** The vault a host names, when it is a Key Vault or private-link host. */
const vaultOfHost = (host: string): string | undefined =>
  (host.match(VaultHost) ?? host.match(PrivateLinkHost))?.[1]?.toLowerCase();

const badName = (name: string): string =>
  `'${name.slice(0, 64)}' is not a vault name (${RuleText.vaultName})`;

function vaultUrl(raw: string): { url: string } | { problem: string } {
  const problem = serviceUrlProblem(raw);
  if (problem) return { problem };
  const url = new URL(raw);
  if (url.pathname !== "/")
    return { problem: `'${url.origin}${url.pathname}' must be the vault's root URL, without a path` };
  // A fully qualified name's trailing dot names the same host.
  url.hostname = url.hostname.replace(/\.$/, "");
  return { url: url.origin };
}

/** One spelling per endpoint, to find the same vault listed twice: loopback written as localhost, 127.x or ::1 is one host. */
const sameEndpoint = (a: string, b: string): boolean => {
  const key = (u: string): string => {
    const url = new URL(u);
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const loopback = host === "localhost" || host === "::1" || /^127\./.test(host);
    // name.vault.azure.net and name.privatelink.vaultcore.azure.net are one vault.
    const vault = vaultOfHost(host);
    return `${loopback ? "loopback" : vault ? `vault:${vault}` : host}:${url.port || "443"}`;
  };
  return key(a) === key(b);
};

/** How one kind of endpoint names itself: Key Vaults (name.vault.azure.net) or Managed HSMs (name.managedhsm.azure.net). */
interface Service {
  /** In a sentence: "vault 'x' is listed twice"; in a URL's: "not a Key Vault URL". */
  what: string;
  urlWhat: string;
  host: RegExp;
  hostOf: (host: string) => string | undefined;
  defaultUrl: (name: string) => string;
}

const KeyVaults: Service = {
  what: "vault",
  urlWhat: "Key Vault",
  host: VaultHost,
  hostOf: vaultOfHost,
  defaultUrl: (name) => `https://${name}.vault.azure.net`,
};

const HsmHost = /^([a-z0-9-]+)\.managedhsm\.(azure\.net|azure\.cn|usgovcloudapi\.net)$/i;
const ManagedHsms: Service = {
  what: "Managed HSM",
  urlWhat: "Managed HSM",
  host: HsmHost,
  hostOf: (host) => host.match(HsmHost)?.[1]?.toLowerCase(),
  defaultUrl: (name) => `https://${name}.managedhsm.azure.net`,
};

/** A Key Vault host given as an HSM, or an HSM host given as a vault: the other service's name, else undefined. */
function otherService(service: Service, host: string): string | undefined {
  if (service === ManagedHsms && vaultOfHost(host)) return "Key Vault";
  if (service === KeyVaults && HsmHost.test(host)) return "Managed HSM";
  return undefined;
}

/** "name", "https://name.vault.azure.net" or "name=https://host:port" (hosts that do not carry the name). */
function parseEntry(entry: string, service: Service = KeyVaults): VaultRef | string {
  const eq = entry.indexOf("=");
  if (eq > 0) {
    const name = entry.slice(0, eq).trim();
    if (!isVaultName(name)) return badName(name);
    const u = vaultUrl(entry.slice(eq + 1).trim());
    if ("problem" in u) return u.problem;
    const other = otherService(service, new URL(u.url).hostname);
    if (other) return `'${name}=${u.url}': that URL is a ${other}, not a ${service.urlWhat}`;
    // A Key Vault host carries its vault's name: another name would file its backups wrongly.
    const hosted = service.hostOf(new URL(u.url).hostname);
    if (hosted && hosted !== normalVaultName(name))
      return `'${name}=${u.url}': that URL is the ${service.what} '${hosted}', not '${normalVaultName(name)}'`;
    return { name: normalVaultName(name), url: u.url };
  }
  if (entry.includes("://")) {
    const u = vaultUrl(entry);
    if ("problem" in u) return u.problem;
    const other = otherService(service, new URL(u.url).hostname);
    if (other) return `'${u.url}' is a ${other} URL, not a ${service.urlWhat} URL`;
    const name = new URL(u.url).hostname.match(service.host)?.[1];
    if (!name || !isVaultName(name))
      return `'${u.url}' is not a ${service.urlWhat} URL (${service.defaultUrl("NAME")}); use NAME=URL for other hosts`;
    return { name: normalVaultName(name), url: u.url.toLowerCase() };
  }
  if (!isVaultName(entry)) return badName(entry);
  const name = normalVaultName(entry);
  return { name, url: service.defaultUrl(name) };
}

/** BACKUP_MANAGED_HSMS: names, URLs (https://NAME.managedhsm.azure.net) or NAME=URL, each once. */
export function parseHsmList(raw: string | undefined): { vaults: VaultRef[]; problems: string[] } {
  return parseList(raw, ManagedHsms);
}

/**
 * A comma-separated vault list, with every problem named. Vault names are DNS names, so case does
 * not make two vaults: the same name twice (in any case) or the same URL under two names is refused,
 * since one of the two would silently never be backed up.
 */
export function parseVaultList(raw: string | undefined): { vaults: VaultRef[]; problems: string[] } {
  return parseList(raw, KeyVaults);
}

function parseList(raw: string | undefined, service: Service): { vaults: VaultRef[]; problems: string[] } {
  const vaults: VaultRef[] = [];
  const problems: string[] = [];
  const entries = (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const v = parseEntry(entry, service);
    if (typeof v === "string") problems.push(v);
    else if (vaults.some((o) => o.name === v.name))
      problems.push(`${service.what} '${v.name}' is listed twice (names are case-insensitive)`);
    else if (vaults.some((o) => sameEndpoint(o.url, v.url)))
      problems.push(
        `${v.url} is listed under two names ('${vaults.find((o) => sameEndpoint(o.url, v.url))?.name}' and '${v.name}')`,
      );
    else vaults.push(v);
  }
  return { vaults, problems };
}

/**
 * A restore target is a vault besides the backup vaults (restores may target a backup vault without
 * listing it here): one listed in both lists, under any name or URL, is refused.
 */
export function clashes(backup: readonly VaultRef[], targets: readonly VaultRef[]): string[] {
  const problems: string[] = [];
  for (const t of targets) {
    const sameName = backup.find((b) => b.name === t.name);
    const sameUrl = backup.find((b) => sameEndpoint(b.url, t.url));
    if (sameName && !sameEndpoint(sameName.url, t.url))
      problems.push(`'${t.name}' is also in BACKUP_VAULTS with another URL (${sameName.url})`);
    else if (sameUrl && sameUrl.name !== t.name)
      problems.push(`${t.url} is in BACKUP_VAULTS as '${sameUrl.name}', here as '${t.name}'`);
    else if (sameName)
      problems.push(
        `'${t.name}' is already in BACKUP_VAULTS (a restore may target a backup vault without listing it here)`,
      );
  }
  return problems;
}

/** HSMs listed under a URL that a vault (or restore target) of the settings already uses. */
export function hsmEndpointClashes(vaults: readonly VaultRef[], hsms: readonly VaultRef[]): string[] {
  return hsms
    .filter((h) => vaults.some((v) => sameEndpoint(v.url, h.url)))
    .map(
      (h) =>
        `'${h.name}' (${h.url}) is the endpoint of a vault in BACKUP_VAULTS or RESTORE_TARGET_VAULTS, not a Managed HSM`,
    );
}
