import type { AzureFailure } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";
import type { HsmJobState } from "../domain/hsmBackup.js";

/**
 * Managed HSM backups differ from everything else kvbackup does: the HSM itself writes into the
 * container, so the storage account must admit the HSM (a resource instance rule, or the
 * trusted-services bypass) and the HSM's own identity needs the data role — the Function's VNet
 * rule and the Function's role do nothing for it.
 */

/** Storage's error codes, as a failed job carries them (in its error code, inner code, or details). */
const StorageCodes = [
  "AuthorizationFailure",
  "AuthorizationPermissionMismatch",
  "ContainerNotFound",
] as const;

function storageCodeOf(job: HsmJobState): (typeof StorageCodes)[number] | undefined {
  const fields = [job.error?.code, job.error?.innerCode];
  for (const c of StorageCodes) if (fields.includes(c)) return c;
  // The service relays storage's answer inside its own message: its code is a documented identifier.
  const text = `${job.error?.message ?? ""} ${job.statusDetails ?? ""}`;
  return StorageCodes.find((c) => new RegExp(`\\b${c}\\b`).test(text));
}

const hsmId = (hsm: string): string => `$(az keyvault show --hsm-name ${hsm} --query id -o tsv)`;

/** The diagnosis of a job the HSM ran and reported Failed or Canceled. */
export function diagnoseHsmJob(
  job: HsmJobState,
  ctx: DiagnosisContext,
  what: "backup" | "restore",
): Diagnosis {
  const hsm = ctx.hsm ?? "<hsm>";
  const account = ctx.account ?? "<account>";
  const container = ctx.container ?? "<container>";
  const said = [job.error?.code, job.error?.message ?? job.statusDetails].filter(Boolean).join(": ");
  switch (storageCodeOf(job)) {
    case "AuthorizationFailure":
      return {
        code: "HsmStorageFirewall",
        cause: `The storage account's firewall refused Managed HSM '${hsm}' itself (${said}). The HSM writes its full backup directly: the Function's VNet rule admits the Function's subnet, not the HSM, which reaches storage from Microsoft's network.`,
        fix: `Admit that HSM with a resource instance rule (tighter than the trusted-services bypass): az storage account network-rule add -g <rg> --account-name ${account} --resource-id ${hsmId(hsm)} --tenant-id $(az account show --query tenantId -o tsv). Or turn on "Allow trusted Microsoft services" (bypass AzureServices), which admits every trusted service of the tenant. The infra does the rule for every HSM in its managedHsms parameter. See docs/managed-hsm.md.`,
      };
    case "AuthorizationPermissionMismatch":
      return {
        code: "HsmStorageRbac",
        cause: `The storage account admitted Managed HSM '${hsm}', but the HSM's identity lacks the data role on container '${container}' (${said}). The app's own role does not count: the HSM writes with its own user-assigned identity.`,
        fix: `Give the HSM's user-assigned identity Storage Blob Data Contributor on the container: az role assignment create --role "Storage Blob Data Contributor" --assignee <hsm-identity-principal-id> --scope $(az storage account show -n ${account} --query id -o tsv)/blobServices/default/containers/${container}. Role assignments take up to 10 minutes to apply.`,
      };
    case "ContainerNotFound":
      return {
        code: "HsmStorageUnavailable",
        cause: `Managed HSM '${hsm}' did not find container '${container}' (${said}).`,
        fix: `kvbackup makes the container before it starts the job; if it was deleted in between, run again. Check BACKUP_CONTAINER and that nothing deletes ${container}.`,
      };
  }
  if (job.status === "Canceled")
    return {
      code: "HsmJobFailed",
      cause: `Managed HSM '${hsm}' reports the ${what} job ${job.jobId} as Canceled${said ? ` (${said})` : ""}.`,
      fix: "Run it again; if jobs keep being canceled, look at the HSM's activity log and service health.",
    };
  return {
    code: "HsmJobFailed",
    cause: `Managed HSM '${hsm}' reports the ${what} job ${job.jobId} as Failed${said ? `: ${said}` : " without saying why"}.`,
    fix: `Read the job as the HSM reports it: az rest --method get --url ${ctx.hsmUrl ?? `https://${hsm}.managedhsm.azure.net`}/${what}/${job.jobId}/pending?api-version=2025-07-01 --resource https://managedhsm.azure.net. If the HSM reached storage, the container's diagnostic logs show its requests.`,
  };
}

/** The diagnosis of a refused call to the HSM's backup/restore API (the job never started). */
export function diagnoseHsmCall(
  f: AzureFailure,
  ctx: DiagnosisContext,
  what: "backup" | "restore",
): Diagnosis | undefined {
  const hsm = ctx.hsm ?? "<hsm>";
  const assignee =
    ctx.caller === "operator" ? "$(az ad signed-in-user show --query id -o tsv)" : "<function-principal-id>";
  if (f.status === 403)
    return what === "backup"
      ? {
          code: "HsmBackupForbidden",
          cause: `Managed HSM '${hsm}' refused to start a backup for this identity: it lacks the Managed HSM Backup role in the HSM's local RBAC (an Azure role on the resource does not count) (${f.code ?? "403"}: ${f.message.slice(0, 300)}).`,
          fix: `az keyvault role assignment create --hsm-name ${hsm} --role "Managed HSM Backup" --assignee ${assignee} --scope /`,
        }
      : {
          code: "HsmRestoreForbidden",
          cause: `Managed HSM '${hsm}' refused to start a restore for this identity (${f.code ?? "403"}: ${f.message.slice(0, 300)}): restores need Microsoft.KeyVault/managedHsm/restore/start/action and .../restore/status/action in the HSM's local RBAC.`,
          fix: `Run the restore as an HSM administrator, or grant the role for the time of the restore: az keyvault role assignment create --hsm-name ${hsm} --role "Managed HSM Administrator" --assignee ${assignee} --scope /; remove it afterwards.`,
        };
  if (f.status === 404)
    return {
      code: "HsmNotFound",
      cause: `${ctx.hsmUrl ?? `Managed HSM '${hsm}'`} has no ${what} API (${f.code ?? "404"}: ${f.message.slice(0, 200)}): the URL in BACKUP_MANAGED_HSMS is not a Managed HSM's (a Key Vault, another service, or a mistyped host).`,
      fix: `Set BACKUP_MANAGED_HSMS to the HSM's URL (az keyvault show --hsm-name ${hsm} --query properties.hsmUri -o tsv), or ${hsm}=URL for a private endpoint host.`,
    };
  if (f.status === 409)
    return {
      code: "HsmBusy",
      cause: `Managed HSM '${hsm}' is already running a backup or restore job and refuses a second one at once (${f.code ?? "409"}: ${f.message.slice(0, 300)}).`,
      fix: "Wait for the running job to end (another kvbackup run, or someone's az keyvault backup start) and run again; a queued job is delivered again by the host by itself.",
    };
  return undefined;
}

export const hsmJobTimedOut = (
  hsm: string,
  jobId: string,
  minutes: number,
  what: "backup" | "restore",
): Diagnosis => ({
  code: "HsmJobTimedOut",
  cause: `Managed HSM '${hsm}' had not finished the ${what} job ${jobId} after ${minutes} minutes; the job may still be running on the HSM, but this run cannot say it succeeded.`,
  fix: "Run again later (one job at a time per HSM: a new run is refused while the old job runs). If backups of this HSM are always this slow, raise the Functions timeout.",
});

export const hsmBackupEmpty = (hsm: string, folder: string, container: string): Diagnosis => ({
  code: "HsmBackupEmpty",
  cause: `Managed HSM '${hsm}' reported its backup as Succeeded in folder '${folder}', but container '${container}' holds no file there.`,
  fix: "Run the backup again and check that nothing (a lifecycle rule, a person) deletes from the HSM containers; this run is recorded as failed.",
});
