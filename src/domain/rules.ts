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
