import type { IdentityFailure } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";

const Service = { storage: "Storage", keyvault: "Key Vault", arm: "Azure Resource Manager" } as const;

const why: Record<IdentityFailure["reason"], string> = {
  unreachable: "the managed identity endpoint (IDENTITY_ENDPOINT) did not answer",
  "not-assigned": "the identity endpoint knows no identity with that client id",
  refused: "the identity endpoint answered with an error",
  slow: "no token came in time",
  "not-signed-in": "no credential on this machine could sign in",
};

/**
 * No token could be had, so the service was never called: which credential failed and why, and
 * what to do — never "Storage answered no status".
 */
export function diagnoseIdentity(
  f: IdentityFailure,
  service: keyof typeof Service,
  ctx: DiagnosisContext,
): Diagnosis {
  const lead = `No token from ${f.credential}: ${why[f.reason]} (${f.detail}). ${Service[service]} was never called.`;
  if (f.reason === "not-signed-in")
    return {
      code: "NotSignedIn",
      cause: lead,
      fix: "The kvbackup CLI runs as you: sign in first (az login, azd auth login or Connect-AzAccount; on a jump host with a managed identity, AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential uses it on purpose), or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal. Then run kvbackup doctor.",
    };
  if (f.reason === "not-assigned")
    return {
      code: "IdentityNotAssigned",
      cause: `${lead} No user-assigned identity with client id ${f.clientId} is attached to ${ctx.caller === "operator" ? "this machine" : "this app"}.`,
      fix:
        ctx.caller === "operator"
          ? "AZURE_CLIENT_ID in this environment names an identity this machine does not have: unset it to sign in as yourself (az login), or set it to a user-assigned identity attached to this machine."
          : "Set AZURE_CLIENT_ID (and BACKUP_STORAGE__clientId, if set) to the client id of a user-assigned identity attached to the Function App (az functionapp identity show -g <rg> -n <app> --query userAssignedIdentities), or remove it to use the system-assigned identity; the infra sets both.",
    };
  return {
    code: "IdentityUnavailable",
    cause: lead,
    fix:
      ctx.caller === "operator"
        ? "Check the credential the CLI signs in with: az account get-access-token --resource https://vault.azure.net works when az login is current; a managed identity endpoint in this shell's environment (IDENTITY_ENDPOINT) must answer, or unset it. Then run kvbackup doctor."
        : "Check that the Function App's identity is enabled (az functionapp identity show -g <rg> -n <app>) and restart the app: the identity endpoint is the platform's own, so a failure that lasts is an Azure incident (Service Health). Runs that failed for it are retried from the queue.",
  };
}
