import { Kinds } from "./vocabulary.js";

/**
 * The naming rules, once: vault and HSM names (DNS labels: 3-24 letters, digits and single
 * hyphens, starting with a letter; case-insensitive), object names, runIds and restore ids.
 */
export const VaultNamePattern = /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
export const ObjectNamePattern = /^[0-9A-Za-z-]{1,127}$/;
export const RunIdPattern = /^\d{8}T\d{6}Z-[a-z2-7]{6}$/;
export const RestoreIdPattern = /^r\d{8}T\d{6}Z-[a-z2-7]{6}$/;
/** "kind/name" or a bare name, as restore filters take them. */
export const ObjectRefPattern = new RegExp(`^((${Kinds.join("|")})/)?[0-9A-Za-z-]{1,127}$`);

export const RuleText = {
  vaultName: "3-24 letters, digits and single hyphens, starting with a letter",
  objectName: "1-127 letters, digits and hyphens",
  runId: "a runId (yyyyMMddTHHmmssZ-xxxxxx)",
  objectRef: "NAME or KIND/NAME (KIND: secrets, keys or certificates)",
} as const;

export const isVaultName = (s: string): boolean => VaultNamePattern.test(s);
export const isRunId = (s: string): boolean => RunIdPattern.test(s);

/** Vault names are DNS names: one spelling for storage paths, rows and comparisons. */
export const normalVaultName = (s: string): string => s.trim().toLowerCase();

/** The text starts YYYY-MM-DD of a day that exists (Date.parse reads 2026-02-30 as 2 March). */
export function startsWithRealDay(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!m) return false;
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return day.getUTCMonth() === Number(m[2]) - 1 && day.getUTCDate() === Number(m[3]);
}

/**
 * A point in time as ISO 8601 with its zone, of a real calendar day: 2026-12-06T09:30:00Z or
 * 2026-12-06T11:30+02:00. No zone is refused (a machine's local time is not the service's), and
 * so is a day that does not exist (Date.parse reads 2026-02-30 as 2 March).
 */
export function parseInstant(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i.exec(s);
  if (!m || !startsWithRealDay(s)) return undefined;
  const t = new Date(s);
  return Number.isNaN(t.getTime()) ? undefined : t;
}
