/**
 * Who may do what: the one permissions model. The infra's custom roles (infra/modules/roles.bicep)
 * and its assignments, `doctor`'s and `/api/health`'s checks, the local stack's roles and the docs'
 * role tables are derived from it or tested against it (test/infra, test/unit/permissions.test.ts).
 * Never a secret value: no role holds getSecret (secrets/getSecret/action) or reads one.
 */
export interface KeyVaultRole {
  /** The role's name; the infra appends "(<deployment>)" (role names are unique per tenant). */
  name: string;
  dataActions: readonly string[];
  /** What an access-policy vault needs instead of the role (the infra adds an access policy). */
  accessPolicy?: { secrets: readonly string[]; keys: readonly string[]; certificates: readonly string[] };
}

const kv = (what: string): string => `Microsoft.KeyVault/vaults/${what}`;

/** List (metadata) and back up secrets, keys and certificates. */
export const BackupOperatorRole = {
  name: "Key Vault Backup Operator",
  dataActions: [
    kv("secrets/readMetadata/action"),
    kv("secrets/backup/action"),
    kv("keys/read"),
    kv("keys/backup/action"),
    kv("certificates/read"),
    kv("certificates/backup/action"),
  ],
  accessPolicy: { secrets: ["list", "backup"], keys: ["list", "backup"], certificates: ["list", "backup"] },
} as const satisfies KeyVaultRole;

/** Restore, and list what a vault holds (active and deleted) to plan a restore. */
export const RestoreOperatorRole = {
  name: "Key Vault Restore Operator",
  dataActions: [
    kv("secrets/readMetadata/action"),
    kv("secrets/restore/action"),
    kv("keys/read"),
    kv("keys/restore/action"),
    kv("certificates/read"),
    kv("certificates/restore/action"),
  ],
  accessPolicy: {
    secrets: ["list", "restore"],
    keys: ["list", "restore"],
    certificates: ["list", "restore"],
  },
} as const satisfies KeyVaultRole;

/**
 * The restore drill, on its scratch vault only: restore, compare what it can see (metadata; keys/read
 * also returns a key's public material), then delete and purge what it restored. RBAC only: the
 * scratch vault is made for the drill.
 */
export const DrillOperatorRole = {
  name: "Key Vault Restore Drill Operator",
  dataActions: [
    kv("secrets/readMetadata/action"),
    kv("secrets/restore/action"),
    kv("secrets/delete"),
    kv("secrets/purge/action"),
    kv("keys/read"),
    kv("keys/restore/action"),
    kv("keys/delete"),
    kv("keys/purge/action"),
    kv("certificates/read"),
    kv("certificates/restore/action"),
    kv("certificates/delete"),
    kv("certificates/purge/action"),
  ],
} as const satisfies KeyVaultRole;

/** Discovery: list a subscription's Key Vaults and their tags through Azure Resource Manager. Nothing else. */
export const DiscoveryReaderRole = {
  name: "Key Vault Discovery Reader",
  actions: ["Microsoft.KeyVault/vaults/read"],
} as const;

/** The built-in data roles on the backup account, each scoped to what it is for. */
export const StorageRoles = {
  container: "Storage Blob Data Contributor",
  queue: "Storage Queue Data Contributor",
  table: "Storage Table Data Contributor",
} as const;

/**
 * Continuous protection: what each Event Grid system topic's own (system-assigned) identity gets,
 * scoped to the events queue and the dead-letter container — to deliver, and to dead-letter.
 */
export const EventGridDeliveryRoles = {
  queue: "Storage Queue Data Message Sender",
  deadLetter: "Storage Blob Data Contributor",
} as const;

/** What a vault is to the app, and so which role it needs there. */
export type VaultUse = "listed" | "discovered" | "restoreTarget" | "drill";

/** The roles the infra grants on a vault of each use, and which of them the configuration promises. */
export interface VaultGrant {
  /** Granted by the infra, and promised: doctor fails without it. */
  required: readonly KeyVaultRole[];
  /** Not granted by the infra (a choice the deployer makes): doctor names it as a notice. */
  optional: readonly KeyVaultRole[];
}

/**
 * Per vault use, for the app's identity and the operators alike (the infra gives the operator group
 * what it gives the app, so that the CLI can do what the app does):
 * - a listed vault (BACKUP_VAULTS): backed up and restored into;
 * - a discovered vault: backed up (the infra's discoveryGrantsBackup, on each discovery subscription);
 *   restoring into one needs the restore role, which the infra does not grant (restore into a listed
 *   target with --to, or grant it yourself);
 * - a restore target (RESTORE_TARGET_VAULTS): restored into;
 * - the drill's scratch vault: the drill role, nothing else.
 */
export const VaultGrants: Record<VaultUse, VaultGrant> = {
  listed: { required: [BackupOperatorRole, RestoreOperatorRole], optional: [] },
  discovered: { required: [BackupOperatorRole], optional: [RestoreOperatorRole] },
  restoreTarget: { required: [RestoreOperatorRole], optional: [] },
  drill: { required: [DrillOperatorRole], optional: [] },
};

/** The data action no role of this app ever holds: reading a secret's value. */
export const NeverGranted = kv("secrets/getSecret/action");

const blobs = (what: string): string =>
  `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/${what}`;

/**
 * The isolated copy (BACKUP_COPY_BLOB_URI): the app's identity on the copy's container, granted by
 * the copy account's owners (infra/copy). Read, and add new blobs — `add/action` writes a blob that
 * does not exist yet, never over one — and nothing else: no write (overwrite, metadata, tier), no
 * delete, no version delete, no immutability super-user. Version-level immutability, locked by the
 * owners, keeps every version even from them until it expires.
 */
export const CopyWriterRole = {
  name: "Key Vault Backup Copy Writer",
  dataActions: [blobs("read"), blobs("add/action")],
} as const;

/** What the app's identity must never hold on the copy: `doctor` proves it cannot delete or overwrite there. */
export const CopyNeverGranted = [
  blobs("write"),
  blobs("delete"),
  blobs("deleteBlobVersion/action"),
  blobs("permanentDelete/action"),
  blobs("immutableStorage/runAsSuperUser/action"),
] as const;
