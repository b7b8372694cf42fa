import type { AzureFailure } from "../domain/azureFailure.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";

/**
 * Storage refused the credentials (AuthenticationFailed, InvalidAuthenticationInfo,
 * NoAuthenticationInformation). Which check failed is only in AuthenticationErrorDetail; its fixed
 * leading phrases (quoted in Microsoft's SAS and 403 troubleshooting docs) tell them apart.
 */
const bracketed = (detail: string, label: string): number => {
  const m = detail.match(new RegExp(`${label} \\[([^\\]]+)\\]`));
  return m ? Date.parse(m[1] as string) : Number.NaN;
};

function sasTimeFrame(detail: string): "expired" | "not-yet-valid" | undefined {
  const current = bracketed(detail, "Current");
  if (current > bracketed(detail, "Expiry")) return "expired";
  if (current < bracketed(detail, "Start")) return "not-yet-valid";
  return undefined;
}

const sasExpired = (): Diagnosis => ({
  code: "StorageSasExpired",
  cause: "The SAS in the storage connection string has expired (or its expiry is before its start).",
  fix: "Issue a new SAS with a later expiry and update BACKUP_STORAGE; better, use the identity form (BACKUP_STORAGE__blobServiceUri and the managed identity), which never expires.",
});

const clockSkew = (what: string): Diagnosis => ({
  code: "StorageClockSkew",
  cause: `Storage refused the request as out of its time window (${what}): a clock is off — this machine's, or the one that minted the SAS.`,
  fix: "Sync the clock (NTP) of the machine that signs the requests or minted the SAS, or give the SAS a start time a few minutes in the past.",
});

const signatureMismatch = (): Diagnosis => ({
  code: "StorageSignatureMismatch",
  cause:
    "Storage computed another signature than the request carries: the account key or the SAS in the connection string is wrong, was rotated, or was cut when pasted.",
  fix: "Copy a fresh connection string (az storage account show-connection-string) or SAS, or move to the identity form and drop keys altogether.",
});

function token(detail: string | undefined, code: string): Diagnosis {
  const why = !detail
    ? `${code}: no usable token reached Storage`
    : /^Lifetime validation failed/i.test(detail)
      ? "the token has expired"
      : /^Audience validation failed/i.test(detail)
        ? "the token was issued for another audience than https://storage.azure.com"
        : /^Issuer validation failed/i.test(detail)
          ? "the token was issued by another tenant than the storage account's"
          : detail.split("\n")[0];
  return {
    code: "StorageAuthentication",
    cause: `Storage did not accept the credentials: ${why}.`,
    fix: "Check that the managed identity (AZURE_CLIENT_ID / BACKUP_STORAGE__clientId) belongs to the storage account's tenant, that the machine's clock is right, and that nothing rewrites the token's audience.",
  };
}

export function diagnoseStorageAuth(f: AzureFailure, _ctx: DiagnosisContext): Diagnosis {
  const detail = f.detail?.trim();
  if (detail && /^Signature not valid in the specified time frame/i.test(detail)) {
    const frame = sasTimeFrame(detail);
    return frame === "not-yet-valid" ? clockSkew("the SAS is not valid yet") : sasExpired();
  }
  if (detail && /^Signed expiry time .* after signed start time/i.test(detail)) return sasExpired();
  if (detail && /^Request date header too old/i.test(detail))
    return clockSkew("the request's date is too old");
  if (detail && /^(The MAC signature found in the HTTP request|Signature did not match)/i.test(detail))
    return signatureMismatch();
  return token(detail, f.code ?? "AuthenticationFailed");
}
