/**
 * What went wrong and what to do, in words an on-call engineer can act on. Every code has a
 * section in docs/troubleshooting.md (a test holds the two together).
 */
export const DiagnosisCodes = [
  "StorageFirewall",
  "StorageRbac",
  "StorageSharedKeyDisabled",
  "StorageAuthentication",
  "StorageSasExpired",
  "StorageSasSourceIp",
  "StorageSasPermission",
  "StorageSignatureMismatch",
  "StorageClockSkew",
  "StorageBusy",
  "StorageUnreachable",
  "StorageResourceMissing",
  "KeyVaultFirewall",
  "KeyVaultPublicAccessDisabled",
  "KeyVaultRbac",
  "KeyVaultAccessPolicy",
  "KeyVaultForbidden",
  "KeyOperationNotPermitted",
  "KeyVaultAuthentication",
  "KeyVaultWrongAudience",
  "KeyVaultWrongTenant",
  "KeyVaultTokenExpired",
  "KeyVaultSigningKeys",
  "KeyVaultBadRequest",
  "KeyVaultNotFound",
  "KeyVaultThrottled",
  "KeyVaultUnavailable",
  "KeyVaultUnreachable",
  "ManagedByCertificate",
  "TooManyVersions",
  "ObjectNotFound",
  "RestoreRejected",
  "RestoreConflict",
  "DeletedButRecoverable",
  "BeingDeleted",
  "CorruptBlob",
  "BlobMissing",
  "BlobInTheWay",
  "CorruptManifest",
  "NotInBackup",
  "AuthenticationNotEnabled",
  "ArmForbidden",
  "SubscriptionNotFound",
  "ArmAuthentication",
  "ArmUnavailable",
  "IdentityUnavailable",
  "IdentityNotAssigned",
  "NotSignedIn",
  "VaultNoLongerFound",
  "VaultNotInFleet",
  "SubscriptionBudgetBusy",
  "NoDrillVault",
  "DrillVaultNotEmpty",
  "DrillVaultInUse",
  "DrillVaultPurgeProtected",
  "DrillNothingToProve",
  "DrillMismatch",
  "HsmStorageFirewall",
  "HsmStorageRbac",
  "HsmStorageUnavailable",
  "HsmBackupForbidden",
  "HsmRestoreForbidden",
  "HsmBusy",
  "HsmNotFound",
  "HsmJobFailed",
  "HsmJobTimedOut",
  "HsmBackupEmpty",
  "EventsDeadLettered",
  "CopyUnreachable",
  "CopyNotAllowed",
  "CopyContainerMissing",
  "CopyFailed",
  "CopyMismatch",
  "CopyNotAppendOnly",
  "CopyLagging",
  "CopyNotForHsm",
  "CopySignInRefused",
  "Unknown",
] as const;
export type DiagnosisCode = (typeof DiagnosisCodes)[number];

export interface Diagnosis {
  code: DiagnosisCode;
  cause: string;
  fix: string;
}

/**
 * Who made the call that failed: a firewall verdict is about a network path, and the path is the
 * Function's (its integration subnet) in Azure, the operator's machine when the CLI runs elsewhere.
 */
export type Caller = "function" | "operator";

export interface DiagnosisContext {
  vault?: string;
  /** The Managed HSM whose job or call failed, and its URL as configured. */
  hsm?: string;
  hsmUrl?: string;
  container?: string;
  /** The subscription discovery was reading. */
  subscription?: string;
  /** The storage account's name, when the settings tell it (a fix then names it instead of <account>). */
  account?: string;
  /** The kind and name of the object, when one call for one object failed. */
  object?: string;
  caller?: Caller;
  /** How the app authenticates to storage: the same refusal means a missing role for an identity, a too-narrow SAS for a SAS. */
  storageAuth?: StorageAuth;
  /**
   * What the caller uses the vault for — a vault it backs up, a restore target, the drill's scratch
   * vault: a refused listing needs the role made for that use.
   */
  purpose?: VaultPurpose;
}

export type VaultPurpose = "backup" | "restore" | "drill";

export type StorageAuth = "identity" | "sharedKey" | "sas";
