/**
 * One vault's (or Managed HSM's) standing, as the hourly status event carries it: what the infra's
 * "no successful backup" and "no proven restore" alerts read, for every vault the app backs up —
 * listed, discovered, or gone from the fleet in the last 8 days — so no alert holds a vault list.
 */
export interface VaultStatus {
  /**
   * Lower case: vault names are DNS names. For a subscription discovery cannot read, the
   * subscription ("subscription/<id>"): its vaults cannot be named, and none has a success to show.
   */
  vault: string;
  kind: "vault" | "managedHsm" | "subscription";
  /** In today's fleet (listed, discovered, or a configured HSM); false for a vault that is gone. */
  inFleet: boolean;
  /** A restore drill proves this vault (a scratch vault is configured and the vault is in the fleet). */
  drilled: boolean;
  /** When its newest successful run finished; absent when it has none on record. */
  lastSuccessAt?: string;
  /** When the newest drill that proved its restore finished; absent when none did. */
  lastProvenRestoreAt?: string;
}

/** The event's dimensions the alerts read (the infra test holds the queries to these names). */
export const VaultStatusFields = [
  "vault",
  "kind",
  "inFleet",
  "drilled",
  "lastSuccessAt",
  "lastProvenRestoreAt",
] as const;
