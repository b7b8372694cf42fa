import type { AzureFailure } from "../domain/azureFailure.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import type { DrillMismatch } from "../domain/drillRecord.js";

/** Restore drills: what keeps a drill from proving a restore, in words the on-call engineer acts on. */

export const noDrillVault = (): Diagnosis => ({
  code: "NoDrillVault",
  cause: "No scratch vault is configured for restore drills (BACKUP_DRILL_VAULT is empty).",
  fix: "Create an empty Key Vault in the same subscription and region as the vaults (purge protection off), give the app the Key Vault Restore Drill Operator role on it only (the infra's drillVault parameter does both) and set BACKUP_DRILL_VAULT to it.",
});

export const drillVaultNotEmpty = (scratch: string, foreign: readonly string[]): Diagnosis => ({
  code: "DrillVaultNotEmpty",
  cause: `The scratch vault '${scratch}' holds ${foreign.length} object(s) no drill put there (${foreign.slice(0, 10).join(", ")}${foreign.length > 10 ? ", …" : ""}), active or soft-deleted. A drill deletes and purges everything it restores; it never touches what it did not restore, so it refuses.`,
  fix: `Use a vault of its own for drills, and empty this one: delete and purge those objects (az keyvault secret|key|certificate delete and purge --vault-name ${scratch}), or point BACKUP_DRILL_VAULT at an empty vault.`,
});

/** Purge refused because the scratch vault has purge protection: 403 with the service's documented first sentence. */
export function isPurgeProtected(f: AzureFailure | undefined): boolean {
  return (
    f?.status === 403 &&
    /^Operation "purge" is not allowed because purge protection is enabled/.test(f.message)
  );
}

export const drillVaultPurgeProtected = (scratch: string, left: readonly string[]): Diagnosis => ({
  code: "DrillVaultPurgeProtected",
  cause: `The scratch vault '${scratch}' has purge protection on: the drill could delete what it restored but not purge it (${left.slice(0, 5).join(", ")}${left.length > 5 ? ", …" : ""} stay soft-deleted until the retention period ends), and the next drill's restores of the same names would conflict. Purge protection cannot be turned off.`,
  fix: "Create a new scratch vault without purge protection (soft delete stays on) and point BACKUP_DRILL_VAULT (the infra's drillVault) at it; this one empties itself when its retention period ends.",
});

export const drillNothingToProve = (vault: string, why: string): Diagnosis => ({
  code: "DrillNothingToProve",
  cause: `Vault '${vault}' has no committed run a drill could restore (${why}).`,
  fix: "Run a backup of the vault first (kvbackup backup --vault NAME); a drill proves the newest committed run.",
});

export const drillMismatch = (
  vault: string,
  runId: string,
  count: number,
  first: DrillMismatch | undefined,
): Diagnosis => ({
  code: "DrillMismatch",
  cause: `Restoring run ${runId} of '${vault}' into the scratch vault did not give back what was backed up: ${count} object(s) differ or are missing${first ? ` (first: ${first.kind}/${first.name} ${first.field}${first.expected !== undefined ? `: expected ${first.expected}, found ${first.actual ?? "nothing"}` : ""})` : ""}.`,
  fix: `kvbackup verify ${runId} --vault ${vault} checks the blobs; the drill's row (kvbackup report, or the inventory) names each object. A restore refused by the scratch vault (RestoreRejected) means it is in another subscription or geography than the source.`,
});

export const drillVaultInUse = (scratch: string, why: string): Diagnosis => ({
  code: "DrillVaultInUse",
  cause: `The scratch vault '${scratch}' is not the drill's alone: ${why}. A drill deletes and purges what it restores there; it never runs in a vault that holds real data.`,
  fix: "Create an empty vault used for nothing else (same subscription and region, purge protection off), give the app the drill role on it only, and point BACKUP_DRILL_VAULT (the infra's drillVault) at it.",
});
