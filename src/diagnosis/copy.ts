import { CopyLabel } from "../domain/copyFacts.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import { failureOf, firstLine, isKvBackupError } from "../domain/errors.js";
import { CopyWriterRole } from "../domain/permissions.js";
import { diagnose } from "./diagnose.js";

/**
 * The isolated copy's diagnoses (docs/troubleshooting.md, "Isolated copy"). The copy account is not
 * the app's: its owners fix its network and roles, so each fix names what they do, in their template
 * (infra/copy) where it can.
 */

const Guide = "docs/isolated-copy.md";

/** What a failure on the copy account means, by status and error code. */
export function copyDiagnosis(e: unknown, where: string): Diagnosis {
  if (isKvBackupError(e) && e.diagnosis?.code.startsWith("Copy")) return e.diagnosis;
  const f = failureOf(e, "storage");
  // No token for the copy: in another tenant, that tenant's sign-in of the app registration; else the identity's own.
  if (
    f?.identity &&
    /copy's tenant/.test(f.identity.credential) &&
    /AADSTS90002|endpoints_resolution_error|tenant .*not found/i.test(f.identity.detail)
  )
    return {
      code: "CopySignInRefused",
      cause: `The copy's tenant in BACKUP_COPY_TENANT_ID was not found (${firstLine(f.identity.detail, 200)}): no tenant of that id answers.`,
      fix: "Check BACKUP_COPY_TENANT_ID: the id of the Microsoft Entra tenant the copy account is in (az account show --query tenantId in that tenant; the copy's owners know it).",
    };
  if (f?.identity && /copy's tenant/.test(f.identity.credential) && f.identity.reason === "refused")
    return {
      code: "CopySignInRefused",
      cause: `The copy's tenant refused the sign-in of ${f.identity.credential}: ${firstLine(f.identity.detail, 400)}.`,
      fix: `In the app's tenant, the app registration (BACKUP_COPY_CLIENT_ID) needs a federated identity credential that trusts the Function's managed identity — issuer https://login.microsoftonline.com/<app tenant>/v2.0, subject <the identity's principal id>, audience api://AzureADTokenExchange — and in the copy's tenant (BACKUP_COPY_TENANT_ID) its service principal (admin consent). See ${Guide} (Cross-tenant).`,
    };
  if (f?.identity) return diagnose(f);
  // A failure of the backup account (its blob read for a streamed copy, its inventory): its own diagnosis.
  if (f?.store && !f.store.name.endsWith(CopyLabel)) return diagnose(f);
  if (f?.networkCode || f?.code === "AuthorizationFailure")
    return {
      code: "CopyUnreachable",
      cause: `The isolated copy (${where}) did not admit the app's network path (${f.code ?? f.networkCode}): its firewall or private endpoint does not let the Function's subnet in, or its name does not resolve from there.`,
      fix: `The copy's owners: a private endpoint into the app's VNet (and its address in the app's privatelink.blob DNS zone) or a virtual network rule for the Function's subnet (infra/copy, networkMode). See ${Guide}.`,
    };
  if (f?.code === "AuthorizationPermissionMismatch" || f?.status === 403)
    return {
      code: "CopyNotAllowed",
      cause: `The identity kvbackup signs in with (the app's; in the CLI, the operator's) may not read or add blobs in the isolated copy (${where}): ${f.code ?? "403"}.`,
      fix: `The copy's owners assign "${CopyWriterRole.name}" (read + add, no delete) to the app's principal on the copy's container (infra/copy, appPrincipalId); a new assignment takes up to 10 minutes. See ${Guide}.`,
    };
  if (f?.code === "ContainerNotFound" || (f?.status === 404 && !f.code))
    return {
      code: "CopyContainerMissing",
      cause: `The isolated copy's container does not exist (${where}); the app may not create containers there.`,
      fix: `Deploy infra/copy (it makes the container with version-level immutability), or set BACKUP_COPY_CONTAINER to the container it made. See ${Guide}.`,
    };
  return {
    code: "CopyFailed",
    cause: `Copying to the isolated copy (${where}) failed: ${f ? `${f.status ?? f.networkCode ?? ""} ${f.code ?? ""} ${firstLine(f.message, 200)}`.trim() : firstLine(e, 300)}.`,
    fix: "The next run (or kvbackup copy) tries again; if it keeps failing, see docs/troubleshooting.md (Isolated copy).",
  };
}

/** The copy holds a blob at a run's path that is not the run's: append-only, so it cannot be replaced. */
export function copyMismatch(runId: string, blobs: string[]): Diagnosis {
  return {
    code: "CopyMismatch",
    cause: `The isolated copy of run ${runId} does not match its manifest: ${blobs.slice(0, 3).join(", ")}${blobs.length > 3 ? ` and ${blobs.length - 3} more` : ""} missing or not the bytes the manifest recorded. The copy is append-only, so they cannot be written again.`,
    fix: "This run's copy cannot be used; the next run is copied into its own folder. If it happens again, ask the copy's owners who else can write to the container.",
  };
}

/** doctor: the app's identity could delete or overwrite in the copy. */
export function copyNotAppendOnly(
  what: "deleted" | "overwritten",
  where: string,
  onlyRetention = false,
): Diagnosis {
  return {
    code: "CopyNotAppendOnly",
    cause: onlyRetention
      ? `The app's identity's role let it try to ${what === "deleted" ? "delete" : "overwrite"} a blob in the isolated copy (${where}); only the version's retention refused it (409). It holds more than "${CopyWriterRole.name}" there, so a compromised app could destroy each version once its retention ends.`
      : `The app's identity ${what} a blob in the isolated copy (${where}): it holds more than "${CopyWriterRole.name}" there, so a compromised app could destroy the copy.`,
    fix: `The copy's owners: remove any other role of the app's principal on the copy account (e.g. Storage Blob Data Contributor), keep only "${CopyWriterRole.name}", and lock the container's immutability policy. See ${Guide}.`,
  };
}

/** Report, health: the copy is behind the primary by more than BACKUP_COPY_MAX_LAG_HOURS. */
export function copyLagging(vault: string, hours: number, max: number, last?: string): Diagnosis {
  return {
    code: "CopyLagging",
    cause: `The isolated copy of '${vault}' is ${hours.toFixed(1)} h behind the backup account (more than BACKUP_COPY_MAX_LAG_HOURS=${max})${last ? `; the last copy failed: ${last}` : ""}.`,
    fix: `Run kvbackup copy --vault ${vault} to copy what is missing now, and fix what the last copy's diagnosis names (kvbackup list --vault ${vault} shows each run's copy).`,
  };
}
