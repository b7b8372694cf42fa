/** Every operation the emulator serves, with what it needs in RBAC and in access-policy vaults. */
export interface OperationInfo {
  name: string;
  /** RBAC data action, without the Microsoft.KeyVault/vaults/ prefix. */
  dataAction: string;
  /** Access-policy permission, e.g. "secrets list". */
  permission: string;
  /** "create" operations also spend the smaller create/import budget. */
  throttleClass: "read" | "write" | "create";
}

const op = (
  name: string,
  dataAction: string,
  permission: string,
  throttleClass: OperationInfo["throttleClass"] = "read",
): OperationInfo => ({
  name,
  dataAction,
  permission,
  throttleClass,
});

export const Operations = {
  GetSecrets: op("GetSecrets", "secrets/readMetadata/action", "secrets list"),
  GetSecretVersions: op("GetSecretVersions", "secrets/readMetadata/action", "secrets list"),
  GetSecret: op("GetSecret", "secrets/getSecret/action", "secrets get"),
  SetSecret: op("SetSecret", "secrets/setSecret/action", "secrets set", "write"),
  UpdateSecret: op("UpdateSecret", "secrets/setSecret/action", "secrets set", "write"),
  DeleteSecret: op("DeleteSecret", "secrets/delete", "secrets delete", "write"),
  GetDeletedSecrets: op("GetDeletedSecrets", "secrets/readMetadata/action", "secrets list"),
  GetDeletedSecret: op("GetDeletedSecret", "secrets/readMetadata/action", "secrets get"),
  RecoverDeletedSecret: op("RecoverDeletedSecret", "secrets/recover/action", "secrets recover", "write"),
  PurgeDeletedSecret: op("PurgeDeletedSecret", "secrets/purge/action", "secrets purge", "write"),
  BackupSecret: op("BackupSecret", "secrets/backup/action", "secrets backup"),
  RestoreSecret: op("RestoreSecret", "secrets/restore/action", "secrets restore", "create"),

  GetKeys: op("GetKeys", "keys/read", "keys list"),
  GetKeyVersions: op("GetKeyVersions", "keys/read", "keys list"),
  GetKey: op("GetKey", "keys/read", "keys get"),
  CreateKey: op("CreateKey", "keys/create/action", "keys create", "create"),
  UpdateKey: op("UpdateKey", "keys/update/action", "keys update", "write"),
  DeleteKey: op("DeleteKey", "keys/delete", "keys delete", "write"),
  GetDeletedKeys: op("GetDeletedKeys", "keys/read", "keys list"),
  GetDeletedKey: op("GetDeletedKey", "keys/read", "keys get"),
  RecoverDeletedKey: op("RecoverDeletedKey", "keys/recover/action", "keys recover", "write"),
  PurgeDeletedKey: op("PurgeDeletedKey", "keys/purge/action", "keys purge", "write"),
  BackupKey: op("BackupKey", "keys/backup/action", "keys backup"),
  RestoreKey: op("RestoreKey", "keys/restore/action", "keys restore", "create"),

  GetCertificates: op("GetCertificates", "certificates/read", "certificates list"),
  GetCertificateVersions: op("GetCertificateVersions", "certificates/read", "certificates list"),
  GetCertificate: op("GetCertificate", "certificates/read", "certificates get"),
  GetCertificatePolicy: op("GetCertificatePolicy", "certificates/read", "certificates get"),
  GetCertificateOperation: op("GetCertificateOperation", "certificates/read", "certificates get"),
  CreateCertificate: op("CreateCertificate", "certificates/create/action", "certificates create", "create"),
  UpdateCertificate: op("UpdateCertificate", "certificates/update/action", "certificates update", "write"),
  UpdateCertificatePolicy: op(
    "UpdateCertificatePolicy",
    "certificates/update/action",
    "certificates update",
    "write",
  ),
  UpdateCertificateOperation: op(
    "UpdateCertificateOperation",
    "certificates/update/action",
    "certificates update",
    "write",
  ),
  DeleteCertificateOperation: op(
    "DeleteCertificateOperation",
    "certificates/update/action",
    "certificates update",
    "write",
  ),
  DeleteCertificate: op("DeleteCertificate", "certificates/delete", "certificates delete", "write"),
  GetDeletedCertificates: op("GetDeletedCertificates", "certificates/read", "certificates list"),
  GetDeletedCertificate: op("GetDeletedCertificate", "certificates/read", "certificates get"),
  RecoverDeletedCertificate: op(
    "RecoverDeletedCertificate",
    "certificates/recover/action",
    "certificates recover",
    "write",
  ),
  PurgeDeletedCertificate: op(
    "PurgeDeletedCertificate",
    "certificates/purge/action",
    "certificates purge",
    "write",
  ),
  BackupCertificate: op("BackupCertificate", "certificates/backup/action", "certificates backup"),
  RestoreCertificate: op(
    "RestoreCertificate",
    "certificates/restore/action",
    "certificates restore",
    "create",
  ),
} as const satisfies Record<string, OperationInfo>;

export type OperationName = keyof typeof Operations;
