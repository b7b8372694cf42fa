import type { AzureFailure } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";

const rbacAction = (message: string): string | undefined => message.match(/Action: '([^']+)'/)?.[1];
const callerOid = (message: string): string | undefined => message.match(/oid=([0-9a-f-]{36})/i)?.[1];

function firewall(vault: string, ctx: DiagnosisContext): Diagnosis {
  return ctx.caller === "operator"
    ? {
        code: "KeyVaultFirewall",
        cause: `Key Vault '${vault}' network rules reject this machine's address (the CLI runs outside the networks the vault admits).`,
        fix: `Run the CLI from a host inside an admitted VNet, or add this machine's IP for the time of the operation: az keyvault network-rule add --name ${vault} --ip-address <your-ip> (and remove it after).`,
      }
    : {
        code: "KeyVaultFirewall",
        cause: `Key Vault '${vault}' network rules reject the Function's address.`,
        fix: `Add the Function's integration subnet to the vault's network rules (az keyvault network-rule add --name ${vault} --vnet-name <vnet> --subnet <function-subnet>) or use a private endpoint.`,
      };
}

function rbac(f: AzureFailure, vault: string): Diagnosis {
  const action = rbacAction(f.message) ?? "the needed data action";
  const oid = callerOid(f.message) ?? "<principalId>";
  return {
    code: "KeyVaultRbac",
    cause: `The identity (oid ${oid}) is missing ${action} on Key Vault '${vault}'.`,
    fix: `Assign the "Key Vault Backup Operator" custom role (list + backup, never getSecret) to the identity on the vault (or "Key Vault Restore Operator" on a restore target); role assignments take up to 10 minutes to apply. E.g. az role assignment create --assignee ${oid} --role "Key Vault Backup Operator" --scope <vault-id>`,
  };
}

/** Key Vault 401s and 403s: who is refused and why, from the inner code (or the body's documented identifiers). */
export function diagnoseKeyVaultAuth(
  f: AzureFailure,
  vault: string,
  ctx: DiagnosisContext,
): Diagnosis | undefined {
  if (f.status === 401) {
    return {
      code: "KeyVaultAuthentication",
      cause: `Key Vault '${vault}' rejected the token (${f.message.split("\n")[0]}).`,
      fix: "Check that the vault's tenant is the identity's tenant and that the managed identity is enabled on the Function App.",
    };
  }
  switch (f.innerCode) {
    case "ForbiddenByFirewall":
      return firewall(vault, ctx);
    case "ForbiddenByConnection":
      return {
        code: "KeyVaultPublicAccessDisabled",
        cause: `Key Vault '${vault}' has public network access disabled and the request did not come through an approved private link.`,
        fix: "Create a private endpoint for the vault in a VNet the caller is integrated with, with the privatelink.vaultcore.azure.net DNS zone linked.",
      };
    case "ForbiddenByRbac":
      return rbac(f, vault);
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
