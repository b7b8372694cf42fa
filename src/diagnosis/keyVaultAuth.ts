import type { AzureFailure } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisCode, DiagnosisContext } from "../domain/diagnosis.js";
import { vaultNamed } from "./named.js";

const rbacAction = (message: string): string | undefined => message.match(/Action: '([^']+)'/)?.[1];
const callerOid = (message: string): string | undefined => message.match(/oid=([0-9a-f-]{36})/i)?.[1];

/**
 * Key Vault puts why it refused a token only in the message, behind stable identifiers: the AKV
 * error numbers, and the bracketed reason with its S2S code. Nothing else of the text is read.
 */
const TokenMarkers: [RegExp, DiagnosisCode][] = [
  [/^AKV10022\b/, "KeyVaultWrongAudience"],
  [/^AKV10032\b/, "KeyVaultWrongTenant"],
  [/^AKV10046\b/, "KeyVaultSigningKeys"],
  [/^\[TokenExpired\]|\bS2S12086\b|^Token not yet valid\b/, "KeyVaultTokenExpired"],
];

/** A 403 without an inner code: the documented first sentence of each refusal (Key Vault's REST error-code docs). */
const ForbiddenMarkers: [RegExp, string][] = [
  [
    /^(Client address is not authorized and caller is not a trusted service|Request was not allowed by NSP rules)/,
    "ForbiddenByFirewall",
  ],
  [/^Public network access is disabled/, "ForbiddenByConnection"],
  [/^Caller is not authorized to perform action on resource/, "ForbiddenByRbac"],
  [/^Operation \S+ is not permitted on this key/, "KeyOperationForbidden"],
  [
    /^(The user, group or application .* does not have .* permission|Access denied|Operation is not allowed\.|The policy requires the caller)/,
    "AccessDenied",
  ],
];

function token(f: AzureFailure, vault: string, ctx: DiagnosisContext): Diagnosis {
  const code = TokenMarkers.find(([re]) => re.test(f.message))?.[1] ?? "KeyVaultAuthentication";
  const said = f.message.split("\n")[0]?.slice(0, 200);
  const byCode: Record<string, Omit<Diagnosis, "code">> = {
    KeyVaultWrongAudience: {
      cause: `${vaultNamed(vault, ctx)} refused a token issued for another audience (${said}).`,
      fix: "The token must be for https://vault.azure.net (or the cloud's vault resource): check that nothing overrides the scope, and that the vault URL is the vault's own DNS name (not an alias or a private-endpoint IP used as the host).",
    },
    KeyVaultWrongTenant: {
      cause: `${vaultNamed(vault, ctx)} belongs to another tenant than the identity's token (${said}).`,
      fix: "Use an identity of the vault's tenant, or move the vault (az keyvault update --set properties.tenantId=<tenant>, then re-grant access); a managed identity can only get tokens from its own tenant.",
    },
    KeyVaultTokenExpired: {
      cause: `${vaultNamed(vault, ctx)} refused the token as expired or not yet valid (${said}): the caller's clock is off, or a token was held too long.`,
      fix: "Sync the caller's clock (NTP); tokens are re-acquired automatically, so a persistent error means the clock is wrong by minutes.",
    },
    KeyVaultSigningKeys: {
      cause: `${vaultNamed(vault, ctx)} could not yet resolve the key that signed the token (${said}): a transient condition after Entra ID rolls its signing keys.`,
      fix: "Nothing to change: kvbackup retries these; if it lasts over an hour, open a support case with the time and the vault.",
    },
    KeyVaultAuthentication: {
      cause: `${vaultNamed(vault, ctx)} rejected the request's credentials (${said}).`,
      fix: "Check that the managed identity is enabled on the Function App (or that the operator is signed in for the CLI), and that AZURE_CLIENT_ID names an identity assigned to it.",
    },
  };
  return { code, ...(byCode[code] as Omit<Diagnosis, "code">) };
}

function firewall(vault: string, ctx: DiagnosisContext): Diagnosis {
  return ctx.caller === "operator"
    ? {
        code: "KeyVaultFirewall",
        cause: `${vaultNamed(vault, ctx)} network rules reject this machine's address (the CLI runs outside the networks the vault admits).`,
        fix: `Run the CLI from a host inside an admitted VNet, or add this machine's IP for the time of the operation: az keyvault network-rule add --name ${vault} --ip-address <your-ip> (and remove it after).`,
      }
    : {
        code: "KeyVaultFirewall",
        cause: `${vaultNamed(vault, ctx)} network rules reject the Function's address.`,
        fix: `Add the Function's integration subnet to the vault's network rules (az keyvault network-rule add --name ${vault} --vnet-name <vnet> --subnet <function-subnet>) or use a private endpoint.`,
      };
}

/**
 * The role that grants the missing action: delete and purge only the drill role (on the drill's
 * scratch vault), restores the restore role; a listing the role made for what the vault is used for
 * (every role lists); everything else the backup role.
 */
function roleFor(action: string, purpose: DiagnosisContext["purpose"]): [string, string] {
  if (/\/(delete|purge\/action)$/.test(action) || purpose === "drill")
    return [
      "Key Vault Restore Drill Operator",
      "the drill's scratch vault only: restore, read metadata, delete, purge",
    ];
  if (/\/restore\/action$/.test(action) || purpose === "restore")
    return ["Key Vault Restore Operator", "list + restore"];
  return ["Key Vault Backup Operator", "list + backup, never getSecret"];
}

function rbac(f: AzureFailure, vault: string, ctx: DiagnosisContext): Diagnosis {
  const action = rbacAction(f.message);
  const oid = callerOid(f.message) ?? "<principalId>";
  const [role, grants] = roleFor(action ?? "", ctx.purpose);
  return {
    code: "KeyVaultRbac",
    cause: `The identity (oid ${oid}) is missing ${action ?? "the needed data action"} on ${vaultNamed(vault, ctx)}.`,
    fix: `Assign the "${role} (<deployment>)" custom role (${grants}) the infra created to the identity on the vault; role assignments take up to 10 minutes to apply. E.g. az role assignment create --assignee ${oid} --role "${role} (<deployment>)" --scope <vault-id>. (The vault uses RBAC: if the infra's vaults parameter marks it accessModel: 'accessPolicy', remove that.)`,
  };
}

function forbidden(f: AzureFailure, vault: string, ctx: DiagnosisContext): Diagnosis {
  const inner = f.innerCode ?? ForbiddenMarkers.find(([re]) => re.test(f.message))?.[1];
  switch (inner) {
    case "ForbiddenByFirewall":
      return firewall(vault, ctx);
    case "ForbiddenByConnection":
      return {
        code: "KeyVaultPublicAccessDisabled",
        cause: `${vaultNamed(vault, ctx)} has public network access disabled and the request did not come through an approved private link.`,
        fix: "Create a private endpoint for the vault in a VNet the caller is integrated with, with the privatelink.vaultcore.azure.net DNS zone linked.",
      };
    case "ForbiddenByRbac":
      return rbac(f, vault, ctx);
    case "AccessDenied":
    case "ForbiddenByPolicy":
      return {
        code: "KeyVaultAccessPolicy",
        cause: `${vaultNamed(vault, ctx)} uses access policies and the identity lacks the permission for this operation (list, backup or restore). A role assignment does nothing on such a vault: if the deployment granted roles here, it did not match the vault's model.`,
        fix: `In the infra, mark the vault { name: '${vault}', …, accessModel: 'accessPolicy' } (vaults or restoreTargets) and deploy again: it adds an access policy with list, backup and restore (never get). Or by hand: az keyvault set-policy --name ${vault} --object-id <principalId> --secret-permissions list backup restore --key-permissions list backup restore --certificate-permissions list backup restore (an entry without an application id: compound identities need the on-behalf-of flow).`,
      };
    case "KeyOperationForbidden":
      return {
        code: "KeyOperationNotPermitted",
        cause: `${ctx.object ?? "The key"}'s own permitted operations (key_ops) do not include this operation; no role or policy can allow it.`,
        fix: "Nothing to fix for backup (backups do not use key operations); for the operation itself, update the key's permitted operations: az keyvault key set-attributes --vault-name <vault> --name <key> --ops ...",
      };
    case "KeyManagedByKeyVault":
    case "SecretManagedByKeyVault":
      return {
        code: "ManagedByCertificate",
        cause: `${ctx.object ?? "The object"} belongs to a certificate: Key Vault refuses to back it up on its own.`,
        fix: "Nothing to do: the certificate's backup contains it.",
      };
    default:
      return {
        code: "KeyVaultForbidden",
        cause: `${vaultNamed(vault, ctx)} refused the operation (403${f.innerCode ? ` ${f.innerCode}` : ""}): ${f.message.split("\n")[0]?.slice(0, 200)}`,
        fix: "Check the vault's access configuration (RBAC or access policies) and network rules for this identity; kvbackup doctor shows which right is missing.",
      };
  }
}

/** Key Vault 401s and 403s: who is refused and why. */
export function diagnoseKeyVaultAuth(f: AzureFailure, vault: string, ctx: DiagnosisContext): Diagnosis {
  return f.status === 401 ? token(f, vault, ctx) : forbidden(f, vault, ctx);
}
