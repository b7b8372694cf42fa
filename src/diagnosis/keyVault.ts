import { type AzureFailure, TlsCodes } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";
import { diagnoseKeyVaultAuth } from "./keyVaultAuth.js";
import { vaultNamed } from "./named.js";

/** A restore's name held by a soft-deleted object (409 ObjectIsDeletedButRecoverable, or seen when planning). */
export const deletedButRecoverable = (vault: string, ctx: DiagnosisContext): Diagnosis => ({
  code: "DeletedButRecoverable",
  cause: `${ctx.object ?? "The object"}'s name is held by a soft-deleted object in ${vaultNamed(vault, ctx)}.`,
  fix: `Recover the deleted object (az keyvault secret|key|certificate recover --vault-name ${vault} --name <name>) if it is the one you want, or purge it (az keyvault secret|key|certificate purge --vault-name ${vault} --name <name>) and restore again.`,
});

/** A restore's name taken by an object that exists (409 Conflict, or seen when planning). */
export const restoreConflict = (vault: string, ctx: DiagnosisContext): Diagnosis => ({
  code: "RestoreConflict",
  cause: `${ctx.object ?? "The object"} already exists in ${vaultNamed(vault, ctx)} (or a purge of that name is still running).`,
  fix: "Restore into another vault (--to / targetVault), or delete and purge the existing object first if the backup should replace it.",
});

/** Key Vault 409s: the name a restore needs is taken, deleted but recoverable, or still going away. */
function conflict(f: AzureFailure, vault: string, ctx: DiagnosisContext): Diagnosis {
  switch (f.innerCode) {
    case "ObjectIsDeletedButRecoverable":
      return deletedButRecoverable(vault, ctx);
    case "ObjectIsBeingDeleted":
    case "ObjectIsBeingRecovered":
      return {
        code: "BeingDeleted",
        cause: `${ctx.object ?? "The object"}'s name is still being deleted, purged or recovered in ${vaultNamed(vault, ctx)}.`,
        fix: "Wait a minute and restore again: purges and recoveries finish asynchronously.",
      };
    default:
      return restoreConflict(vault, ctx);
  }
}

/** Key Vault errors, by status, error code and inner error code. */
export function diagnoseKeyVault(f: AzureFailure, ctx: DiagnosisContext): Diagnosis | undefined {
  // The vault the adapter called is the one that answered (or did not): a drill's caller may be
  // thinking of its scratch vault while the source vault failed.
  const vault = f.resource ?? ctx.vault ?? "the vault";
  if (f.networkCode) {
    const tls = (TlsCodes as readonly string[]).includes(f.networkCode);
    return {
      code: "KeyVaultUnreachable",
      cause: tls
        ? `${vaultNamed(vault, ctx)}'s TLS certificate was not trusted (${f.networkCode}): a TLS-inspecting proxy is in the path, or the name resolves to another host.`
        : `${vaultNamed(vault, ctx)} did not answer (${f.networkCode}).`,
      fix: tls
        ? `Exempt ${ctx.hsm ? "*.managedhsm.azure.net" : "*.vault.azure.net"} from TLS inspection, or trust the proxy's CA (NODE_EXTRA_CA_CERTS).`
        : `With a private endpoint, link the caller's VNet to the ${ctx.hsm ? "privatelink.managedhsm.azure.net" : "privatelink.vaultcore.azure.net"} DNS zone and route all outbound traffic through the VNet.`,
    };
  }
  if (f.status === 401 || f.status === 403) return diagnoseKeyVaultAuth(f, vault, ctx);
  if (f.status === 409) return conflict(f, vault, ctx);
  if (f.status === 400 && f.code === "BadParameter" && f.operation === "restore") {
    return {
      code: "RestoreRejected",
      cause: `${vaultNamed(vault, ctx)} refused the backup blob. A backup restores only into a vault of the same subscription and the same geography as its source (Key Vault's "security world"); a blob from elsewhere, or a damaged one, cannot be decrypted.`,
      fix: "Restore into a vault in the source's subscription and geography (cross-geography copies need the objects re-created from their values), and run kvbackup verify on the run to rule out a damaged blob.",
    };
  }
  if (f.status === 429) {
    return {
      code: "KeyVaultThrottled",
      cause: `${vaultNamed(vault, ctx)} kept throttling after every retry.`,
      fix: "Lower BACKUP_RATE_PER_10S, or move the schedule away from the vault's busy hours.",
    };
  }
  if (f.status === 400) {
    return {
      code: "KeyVaultBadRequest",
      cause: `${vaultNamed(vault, ctx)} refused the request as invalid (400${f.code ? ` ${f.code}` : ""}): ${f.message.split("\n")[0]?.slice(0, 200)}`,
      fix: "Check that the URL in BACKUP_VAULTS is the vault's (https://NAME.vault.azure.net or its private endpoint name) and that nothing between rewrites the request; kvbackup speaks the 2025-07-01 data-plane API.",
    };
  }
  if (f.status === 404 && f.operation === "list") {
    return {
      code: "KeyVaultNotFound",
      cause: `The listing of ${vaultNamed(vault, ctx)} answered 404: the URL does not lead to a Key Vault (a wrong name, a deleted vault, or a proxy answering in its place).`,
      fix: "Check the vault's name and URL in BACKUP_VAULTS (az keyvault show --name <vault> --query properties.vaultUri); a deleted vault can be recovered with az keyvault recover.",
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
      cause: `${vaultNamed(vault, ctx)} answered ${f.status}: the service had a transient problem.`,
      fix: "Retried automatically; the next scheduled run will pick the object up.",
    };
  }
  return undefined;
}
