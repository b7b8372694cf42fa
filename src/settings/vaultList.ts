import type { VaultRef } from "../domain/config.js";
import { isVaultName, normalVaultName, RuleText } from "../domain/rules.js";
import { serviceUrlProblem } from "./values.js";

/** Key Vault DNS suffixes of the Azure clouds: a URL on one of these carries the vault's name. */
const VaultHost = /^([a-z0-9-]+)\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)$/i;

const badName = (name: string): string =>
  `'${name.slice(0, 64)}' is not a vault name (${RuleText.vaultName})`;

function vaultUrl(raw: string): { url: string } | { problem: string } {
  const problem = serviceUrlProblem(raw);
  if (problem) return { problem };
  const url = new URL(raw);
  if (url.pathname !== "/")
    return { problem: `'${url.origin}${url.pathname}' must be the vault's root URL, without a path` };
  return { url: url.origin };
}

/** "name", "https://name.vault.azure.net" or "name=https://host:port" (hosts that do not carry the name). */
function parseEntry(entry: string): VaultRef | string {
  const eq = entry.indexOf("=");
  if (eq > 0) {
    const name = entry.slice(0, eq).trim();
    if (!isVaultName(name)) return badName(name);
    const u = vaultUrl(entry.slice(eq + 1).trim());
    return "problem" in u ? u.problem : { name: normalVaultName(name), url: u.url };
  }
  if (entry.includes("://")) {
    const u = vaultUrl(entry);
    if ("problem" in u) return u.problem;
    const name = new URL(u.url).hostname.match(VaultHost)?.[1];
    if (!name || !isVaultName(name))
      return `'${u.url}' is not a Key Vault URL (https://NAME.vault.azure.net); use NAME=URL for other hosts`;
    return { name: normalVaultName(name), url: u.url.toLowerCase() };
  }
  if (!isVaultName(entry)) return badName(entry);
  const name = normalVaultName(entry);
  return { name, url: `https://${name}.vault.azure.net` };
}

/**
 * A comma-separated vault list, with every problem named. Vault names are DNS names, so case does
 * not make two vaults: the same name twice (in any case) or the same URL under two names is refused,
 * since one of the two would silently never be backed up.
 */
export function parseVaultList(raw: string | undefined): { vaults: VaultRef[]; problems: string[] } {
  const vaults: VaultRef[] = [];
  const problems: string[] = [];
  const entries = (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const v = parseEntry(entry);
    if (typeof v === "string") problems.push(v);
    else if (vaults.some((o) => o.name === v.name))
      problems.push(`vault '${v.name}' is listed twice (names are case-insensitive)`);
    else if (vaults.some((o) => o.url.toLowerCase() === v.url.toLowerCase()))
      problems.push(
        `${v.url} is listed under two names ('${vaults.find((o) => o.url.toLowerCase() === v.url.toLowerCase())?.name}' and '${v.name}')`,
      );
    else vaults.push(v);
  }
  return { vaults, problems };
}

/** A restore target must not be a backup vault under another URL, nor a backup vault's URL under another name. */
export function clashes(backup: readonly VaultRef[], targets: readonly VaultRef[]): string[] {
  const problems: string[] = [];
  for (const t of targets) {
    const sameName = backup.find((b) => b.name === t.name);
    const sameUrl = backup.find((b) => b.url.toLowerCase() === t.url.toLowerCase());
    if (sameName && sameName.url.toLowerCase() !== t.url.toLowerCase())
      problems.push(`'${t.name}' is also in BACKUP_VAULTS with another URL (${sameName.url})`);
    else if (sameUrl && sameUrl.name !== t.name)
      problems.push(`${t.url} is in BACKUP_VAULTS as '${sameUrl.name}', here as '${t.name}'`);
  }
  return problems;
}
