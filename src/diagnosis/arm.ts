import { type AzureFailure, TlsCodes } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";

/**
 * Azure Resource Manager failures of discovery (listing a subscription's Key Vaults), by status and
 * error code. The role is the Reader-level one the infra assigns on each BACKUP_SUBSCRIPTIONS
 * subscription ("Key Vault Discovery Reader (<deployment>)": Microsoft.KeyVault/vaults/read).
 */
export function diagnoseArm(f: AzureFailure, ctx: DiagnosisContext): Diagnosis | undefined {
  const sub = ctx.subscription ?? "<subscription>";
  const who = ctx.caller === "operator" ? "your identity" : "the app's identity";
  if (
    f.status === 403 &&
    (f.code === "AuthorizationFailed" || /does not have authorization/i.test(f.message))
  )
    return {
      code: "ArmForbidden",
      cause: `Azure Resource Manager refused to list the Key Vaults of subscription ${sub}: ${who} lacks Microsoft.KeyVault/vaults/read there, so its vaults are not discovered (and not backed up).`,
      fix: `Assign Reader, or the "Key Vault Discovery Reader (<deployment>)" role the infra creates (discoverySubscriptions parameter), on the subscription: az role assignment create --assignee <principalId> --role Reader --scope /subscriptions/${sub}. Assignments take a few minutes to apply.`,
    };
  if (f.status === 404 || f.code === "SubscriptionNotFound" || f.code === "InvalidSubscriptionId")
    return {
      code: "SubscriptionNotFound",
      cause: `Azure Resource Manager does not know subscription ${sub} (${f.code ?? f.status}): a typo in BACKUP_SUBSCRIPTIONS, a subscription of another tenant, or one that was deleted or disabled.`,
      fix: 'Check the id (az account list --query "[].{id:id, name:name, state:state}"); the identity must be in the subscription\'s tenant.',
    };
  if (f.status === 401)
    return {
      code: "ArmAuthentication",
      cause: `Azure Resource Manager refused ${who}'s token (${f.code ?? "401"}): ${f.message.split("\n")[0]?.slice(0, 200)}`,
      fix: "Check BACKUP_ARM_ENDPOINT matches the cloud the identity lives in (https://management.azure.com, https://management.usgovcloudapi.net, https://management.chinacloudapi.cn): the token is asked for that endpoint's audience.",
    };
  if (f.status === 429 || (f.status !== undefined && f.status >= 500))
    return {
      code: "ArmUnavailable",
      cause: `Azure Resource Manager answered ${f.status}${f.code ? ` ${f.code}` : ""} for subscription ${sub} after the SDK's retries.`,
      fix: "Transient: the next run discovers again. Listed vaults (BACKUP_VAULTS) are backed up regardless.",
    };
  if (f.networkCode)
    return {
      code: "ArmUnavailable",
      cause: `Azure Resource Manager (${ctx.subscription ? `subscription ${sub}` : "discovery"}) did not answer (${f.networkCode})${(TlsCodes as readonly string[]).includes(f.networkCode) ? ": its TLS certificate was not trusted (a TLS-inspecting proxy?)" : ""}.`,
      fix: `${ctx.caller === "operator" ? "This machine's network" : "The Function's outbound path (VNet, NSG, firewall)"} must reach management.azure.com (service tag AzureResourceManager), or BACKUP_ARM_ENDPOINT's host.`,
    };
  return undefined;
}
