import type { Diagnosis } from "../domain/diagnosis.js";

/** Diagnoses kvbackup makes of its own findings (not of an Azure answer). */

/** A blob whose bytes do not match the SHA-256 the manifest recorded: never sent to Key Vault. */
export function corruptBlob(blob: string, expected: string, actual: string): Diagnosis {
  return {
    code: "CorruptBlob",
    cause: `${blob} does not match its manifest: SHA-256 ${actual.slice(0, 16)}… instead of ${expected.slice(0, 16)}….`,
    fix: "Do not restore this blob; restore the object from another run (kvbackup list --vault <vault>), and check who can write to the container (immutability policy, RBAC).",
  };
}

export function blobMissing(blob: string): Diagnosis {
  return {
    code: "BlobMissing",
    cause: `${blob} is listed in the manifest but is not in the container.`,
    fix: "Restore the object from another run; check the container's lifecycle rules and who can delete blobs (soft delete can bring it back: az storage blob undelete).",
  };
}

/** A blob of an earlier attempt of the run holds the object's path and storage refuses to replace it. */
export function blobInTheWay(blob: string): Diagnosis {
  return {
    code: "BlobInTheWay",
    cause: `${blob} was written by an earlier attempt of this run, does not say what it holds, and storage refused to replace it (an immutability policy or legal hold on the container, or no right to overwrite).`,
    fix: "Nothing is lost: the next scheduled run backs the object up into a new folder. If every attempt meets this, check the container's immutability policy and the app's role (Storage Blob Data Contributor).",
  };
}

/** The diagnosis for an object whose backup Key Vault refuses because it has too many versions. */
export function tooManyVersions(object: string, versions: number): Diagnosis {
  return {
    code: "TooManyVersions",
    cause: `${object} has ${versions} versions; Key Vault cannot back up an object with more than 500 versions.`,
    fix: "Copy the current value to a new object with a new name (and point its users there), then delete the old one; the new object backs up normally.",
  };
}

/** A manifest that cannot be trusted: not JSON, not the schema, or not the run it claims to be. */
export function corruptManifest(path: string, problem: string): Diagnosis {
  return {
    code: "CorruptManifest",
    cause: `${path} cannot be trusted: ${problem}. Nothing is restored or verified from it; 'latest' passes over it to the newest sound run.`,
    fix: "Restore from another run (kvbackup list --vault <vault>); bring back an earlier version of the manifest if blob versioning or soft delete kept one (az storage blob list --include v), and check who can write to the container.",
  };
}

/** Something a restore was asked for that the run does not hold. */
export function notInBackup(what: string, why: string): Diagnosis {
  return {
    code: "NotInBackup",
    cause: `${what} is not in this backup: ${why}.`,
    fix: "Restore it from another run that holds it (kvbackup list --vault <vault>, then kvbackup show RUNID), or back the vault up again once the cause is fixed.",
  };
}

/** The restore role cannot be checked: without App Service authentication the principal header is anyone's to send. */
export function authenticationNotEnabled(): Diagnosis {
  return {
    code: "AuthenticationNotEnabled",
    cause:
      "Restores require the Backup.Restore app role, but App Service authentication is not enabled on this Function App, so the caller's identity (x-ms-client-principal) cannot be trusted.",
    fix: "Deploy with the restore app registration (infra parameter restoreAppClientId) so App Service authentication is on, or run restores with the kvbackup CLI under an operator identity.",
  };
}

/** A queued run refused for good on its last delivery: not in the fleet, or no budget slot in time. */
export function refusalDiagnosis(e: { code: string; message: string }): Diagnosis {
  if (e.code === "BudgetBusy")
    return {
      code: "SubscriptionBudgetBusy",
      cause: `the run never got a slot of its subscription's Key Vault budget, on any of the queue's deliveries: ${e.message}`,
      fix: "Too many vaults of one subscription for the time the schedule leaves: raise BACKUP_SUBSCRIPTION_RATE_PER_10S (up to 20000, Key Vault's cap, if nothing else uses the subscription's budget), lower BACKUP_RATE_PER_10S (more, slower slots), or spread the schedule. docs/sizing.md has the arithmetic.",
    };
  return {
    code: "VaultNotInFleet",
    cause: `the queued run's vault was refused on every delivery: ${e.message}`,
    fix: "Run kvbackup discover: the vault must be in BACKUP_VAULTS or discovered (tagged, in a readable BACKUP_SUBSCRIPTIONS subscription).",
  };
}
