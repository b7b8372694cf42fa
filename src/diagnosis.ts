import type { AzureFailure } from "./azureFailure.js";

/** What went wrong and what to do, in words an on-call engineer can act on. */
export interface Diagnosis {
  code: DiagnosisCode;
  cause: string;
  fix: string;
}

export type DiagnosisCode =
  | "StorageFirewall"
  | "StorageRbac"
  | "StorageSharedKeyDisabled"
  | "StorageAuthentication"
  | "StorageBusy"
  | "StorageUnreachable"
  | "KeyVaultFirewall"
  | "KeyVaultPublicAccessDisabled"
  | "KeyVaultRbac"
  | "KeyVaultAccessPolicy"
  | "KeyVaultAuthentication"
  | "KeyVaultThrottled"
  | "KeyVaultUnavailable"
  | "KeyVaultUnreachable"
  | "ManagedByCertificate"
  | "TooManyVersions"
  | "ObjectNotFound"
  | "RestoreRejected"
  | "RestoreConflict"
  | "DeletedButRecoverable"
  | "BeingDeleted"
  | "CorruptBlob"
  | "BlobMissing"
  | "Unknown";

export interface DiagnosisContext {
  vault?: string;
  container?: string;
  /** The kind and name of the object, when one call for one object failed. */
  object?: string;
}

const rbacAction = (message: string): string | undefined => message.match(/Action: '([^']+)'/)?.[1];
const callerOid = (message: string): string | undefined => message.match(/oid=([0-9a-f-]{36})/i)?.[1];

function storage(f: AzureFailure, ctx: DiagnosisContext): Diagnosis | undefined {
  const container = ctx.container ?? "<container>";
  if (f.networkCode) {
    return {
      code: "StorageUnreachable",
      cause: `The storage endpoint did not answer (${f.networkCode}): DNS or routing from the Function's network does not reach it.`,
      fix: "With private endpoints, check that the Function's VNet is linked to the privatelink.blob/queue/table.core.windows.net DNS zones and that outbound traffic routes through the VNet (vnetRouteAllEnabled).",
    };
  }
  switch (f.code) {
    case "AuthorizationFailure":
      return {
        code: "StorageFirewall",
        cause:
          "The storage account's firewall or private link rejected the request: the Function's network path is not allowed (\"Enabled from selected networks\"). This is the network layer, not a missing role.",
        fix: 'Integrate the Function App with a VNet and add its subnet as a virtual network rule on the storage account (service endpoint Microsoft.Storage on the subnet), or use a private endpoint. "Allow trusted Microsoft services" does NOT help: the Function, not Key Vault, writes the blobs. E.g. az storage account network-rule add -g <rg> --account-name <account> --vnet-name <vnet> --subnet <function-subnet>',
      };
    case "AuthorizationPermissionMismatch":
      return {
        code: "StorageRbac",
        cause: `The identity reached the storage account but lacks a data role on container '${container}'.`,
        fix: `Assign "Storage Blob Data Contributor" to the Function's identity scoped to the container (and the queue/table data roles for the queues and the inventory table); propagation takes up to 10 minutes. E.g. az role assignment create --assignee <principalId> --role "Storage Blob Data Contributor" --scope <account-id>/blobServices/default/containers/${container}`,
      };
    case "KeyBasedAuthenticationNotPermitted":
      return {
        code: "StorageSharedKeyDisabled",
        cause: "A key-based connection string was used against an account with shared key access disabled.",
        fix: "Use the identity form: unset BACKUP_STORAGE and set BACKUP_STORAGE__blobServiceUri, __queueServiceUri, __tableServiceUri (and __clientId for a user-assigned identity).",
      };
    case "AuthenticationFailed":
    case "InvalidAuthenticationInfo":
    case "NoAuthenticationInformation":
      return {
        code: "StorageAuthentication",
        cause: `Storage did not accept the credentials (${f.code}): wrong account key, expired SAS, or a token for another tenant or audience.`,
        fix: "Check the managed identity (AZURE_CLIENT_ID / BACKUP_STORAGE__clientId) and that the account is in the identity's tenant.",
      };
    case "ServerBusy":
    case "InternalError":
    case "OperationTimedOut":
      return {
        code: "StorageBusy",
        cause: `Storage answered ${f.status ?? ""} ${f.code}: a transient condition.`,
        fix: "Retried automatically; if it persists, check the account's health and its request rate limits.",
      };
    default:
      return undefined;
  }
}

function keyVault(f: AzureFailure, ctx: DiagnosisContext): Diagnosis | undefined {
  const vault = ctx.vault ?? "<vault>";
  if (f.networkCode) {
    return {
      code: "KeyVaultUnreachable",
      cause: `Key Vault '${vault}' did not answer (${f.networkCode}).`,
      fix: "With a private endpoint, link the Function's VNet to the privatelink.vaultcore.azure.net DNS zone and route all outbound traffic through the VNet.",
    };
  }
  if (f.status === 403) {
    switch (f.innerCode) {
      case "ForbiddenByFirewall":
        return {
          code: "KeyVaultFirewall",
          cause: `Key Vault '${vault}' network rules reject the Function's address.`,
          fix: `Add the Function's integration subnet to the vault's network rules (az keyvault network-rule add --name ${vault} --vnet-name <vnet> --subnet <function-subnet>) or use a private endpoint.`,
        };
      case "ForbiddenByConnection":
        return {
          code: "KeyVaultPublicAccessDisabled",
          cause: `Key Vault '${vault}' has public network access disabled and the request did not come through an approved private link.`,
          fix: "Create a private endpoint for the vault in a VNet the Function is integrated with, with the privatelink.vaultcore.azure.net DNS zone linked.",
        };
      case "ForbiddenByRbac": {
        const action = rbacAction(f.message) ?? "the needed data action";
        const oid = callerOid(f.message) ?? "<principalId>";
        return {
          code: "KeyVaultRbac",
          cause: `The identity (oid ${oid}) is missing ${action} on Key Vault '${vault}'.`,
          fix: `Assign the "Key Vault Backup Operator" custom role (list + backup, never getSecret) to the Function's identity on the vault; role assignments take up to 10 minutes to apply. E.g. az role assignment create --assignee ${oid} --role "Key Vault Backup Operator" --scope <vault-id>`,
        };
      }
      case "AccessDenied":
      case "ForbiddenByPolicy":
        return {
          code: "KeyVaultAccessPolicy",
          cause: `Key Vault '${vault}' uses access policies and the identity lacks list/backup permissions.`,
          fix: `az keyvault set-policy --name ${vault} --object-id <principalId> --secret-permissions list backup --key-permissions list backup --certificate-permissions list backup`,
        };
      case "KeyManagedByKeyVault":
      case "SecretManagedByKeyVault":
        return {
          code: "ManagedByCertificate",
          cause: `${ctx.object ?? "The object"} belongs to a certificate: Key Vault refuses to back it up on its own.`,
          fix: "Nothing to do: the certificate's backup contains it.",
        };
      default:
        return undefined;
    }
  }
  if (f.status === 409) {
    const name = ctx.object ?? "The object";
    switch (f.innerCode) {
      case "ObjectIsDeletedButRecoverable":
        return {
          code: "DeletedButRecoverable",
          cause: `${name}'s name is held by a soft-deleted object in Key Vault '${vault}'.`,
          fix: `Recover the deleted object (az keyvault secret|key|certificate recover --vault-name ${vault} --name <name>) if it is the one you want, or purge it (az keyvault secret|key|certificate purge --vault-name ${vault} --name <name>) and restore again.`,
        };
      case "ObjectIsBeingDeleted":
      case "ObjectIsBeingRecovered":
        return {
          code: "BeingDeleted",
          cause: `${name}'s name is still being deleted, purged or recovered in Key Vault '${vault}'.`,
          fix: "Wait a minute and restore again: purges and recoveries finish asynchronously.",
        };
      default:
        return {
          code: "RestoreConflict",
          cause: `${name} already exists in Key Vault '${vault}' (or a purge of that name is still running).`,
          fix: "Restore into another vault (--to / targetVault), or delete and purge the existing object first if the backup should replace it.",
        };
    }
  }
  if (f.status === 400 && f.code === "BadParameter") {
    return {
      code: "RestoreRejected",
      cause: `Key Vault '${vault}' refused the backup blob. A backup restores only into a vault of the same subscription and the same geography as its source (Key Vault's "security world"); a blob from elsewhere, or a damaged one, cannot be decrypted.`,
      fix: "Restore into a vault in the source's subscription and geography (cross-geography copies need the objects re-created from their values), and run kvbackup verify on the run to rule out a damaged blob.",
    };
  }
  if (f.status === 401) {
    return {
      code: "KeyVaultAuthentication",
      cause: `Key Vault '${vault}' rejected the token (${f.message.split("\n")[0]}).`,
      fix: "Check that the vault's tenant is the identity's tenant and that the managed identity is enabled on the Function App.",
    };
  }
  if (f.status === 429) {
    return {
      code: "KeyVaultThrottled",
      cause: `Key Vault '${vault}' kept throttling after every retry.`,
      fix: "Lower BACKUP_RATE_PER_10S, or move the schedule away from the vault's busy hours.",
    };
  }
  if (f.status === 404) {
    return {
      code: "ObjectNotFound",
      cause: `${ctx.object ?? "The object"} was not found: it was deleted after it was listed.`,
      fix: "Nothing to do unless the deletion was unexpected.",
    };
  }
  if (f.status !== undefined && f.status >= 500) {
    return {
      code: "KeyVaultUnavailable",
      cause: `Key Vault '${vault}' answered ${f.status}: the service had a transient problem.`,
      fix: "Retried automatically; the next scheduled run will pick the object up.",
    };
  }
  return undefined;
}

/** Azure error -> diagnosis, by status and error code. */
export function diagnose(f: AzureFailure, ctx: DiagnosisContext = {}): Diagnosis {
  const known = f.service === "storage" ? storage(f, ctx) : keyVault(f, ctx);
  return (
    known ?? {
      code: "Unknown",
      cause: `${f.service === "storage" ? "Storage" : "Key Vault"} answered ${f.status ?? f.networkCode ?? "no status"}${f.code ? ` ${f.code}` : ""}${f.innerCode ? `/${f.innerCode}` : ""}: ${f.message.split("\n")[0]}`,
      fix: "See docs/troubleshooting.md; if this keeps happening, open an issue with this code.",
    }
  );
}

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

/** The diagnosis for an object whose backup Key Vault refuses because it has too many versions. */
export function tooManyVersions(object: string, versions: number): Diagnosis {
  return {
    code: "TooManyVersions",
    cause: `${object} has ${versions} versions; Key Vault cannot back up an object with more than 500 versions.`,
    fix: "Copy the current value to a new object with a new name (and point its users there), then delete the old one; the new object backs up normally.",
  };
}
