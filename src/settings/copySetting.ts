import { z } from "zod";
import type { CopyConfig } from "../domain/config.js";
import { decimal, optionalText, serviceUrl } from "./values.js";

const guid = (what: string) =>
  optionalText.refine(
    (s) => s === undefined || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
    what,
  );

/** The isolated copy's settings (docs/isolated-copy.md). */
export const CopySettings = {
  BACKUP_COPY_BLOB_URI: serviceUrl(true).optional(),
  BACKUP_COPY_CONTAINER: z
    .string()
    .optional()
    .refine(
      (s) => s === undefined || /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(s),
      "a container name: 3-63 lower-case letters, digits and single hyphens",
    ),
  /** Another tenant: the copy's tenant, and the app registration (federated with the app's identity) the app signs in there as. */
  BACKUP_COPY_TENANT_ID: guid("the copy's tenant id (a GUID)"),
  BACKUP_COPY_CLIENT_ID: guid(
    "the client id (a GUID) of the app registration the app signs in to the copy's tenant as",
  ),
  BACKUP_COPY_MAX_LAG_HOURS: z
    .string()
    .default("26")
    .pipe(
      decimal(
        2,
        48,
        " (how far the isolated copy may lag behind the primary before it is at risk; the copy-lag alert reads at most two days)",
      ),
    ),
};

type Settings = {
  BACKUP_COPY_BLOB_URI?: string | undefined;
  BACKUP_COPY_TENANT_ID?: string | undefined;
  BACKUP_COPY_CLIENT_ID?: string | undefined;
  BACKUP_COPY_CONTAINER?: string | undefined;
  BACKUP_COPY_MAX_LAG_HOURS: number;
  BACKUP_CONTAINER: string;
};

/** The isolated copy is another account: never the backup account itself. */
export function copyProblems(s: Settings, primary: readonly string[]): string[] {
  const copy = s.BACKUP_COPY_BLOB_URI;
  if (!copy) {
    const alone = ["BACKUP_COPY_CONTAINER", "BACKUP_COPY_TENANT_ID", "BACKUP_COPY_CLIENT_ID"].filter(
      (k) => s[k as keyof Settings] !== undefined,
    );
    return alone.map((k) => `${k}: set BACKUP_COPY_BLOB_URI too (the copy's account)`);
  }
  const problems: string[] = [];
  if ((s.BACKUP_COPY_TENANT_ID === undefined) !== (s.BACKUP_COPY_CLIENT_ID === undefined))
    problems.push(
      "BACKUP_COPY_TENANT_ID, BACKUP_COPY_CLIENT_ID: a copy in another tenant needs both (the copy's tenant, and the client id of the app registration that trusts the app's managed identity), or neither",
    );
  const url = new URL(copy);
  if (url.search || copy.includes("?") || copy.includes("#"))
    problems.push(
      "BACKUP_COPY_BLOB_URI: the account's blob endpoint only, no query (no SAS: the app signs in with its identity)",
    );
  else if (
    pathStyle(url.hostname)
      ? url.pathname.split("/").filter(Boolean).length !== 1 || url.pathname.startsWith("//")
      : url.pathname.replace(/\/+$/, "") !== ""
  )
    problems.push(
      `BACKUP_COPY_BLOB_URI: the account's blob endpoint only (https://<account>.blob.core.windows.net), not a path: the container is BACKUP_COPY_CONTAINER`,
    );
  const copyAccount = accountOf(copy);
  if (copyAccount && primary.some((p) => accountOf(p) === copyAccount))
    problems.push(
      `BACKUP_COPY_BLOB_URI: account '${copyAccount}' is the backup account itself; the isolated copy must be another account (another subscription)`,
    );
  return problems;
}

/** An IP or localhost names the account in the path (Azurite, the local stack), else in the host. */
const pathStyle = (host: string): boolean => /^(\d{1,3}(\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\])$/i.test(host);

/**
 * The storage account a blob endpoint names, as Storage resolves it: the host's first label
 * (acct.blob.core.windows.net, acct.privatelink.blob…, any port, a trailing dot, escapes undone),
 * or for a path-style endpoint the port and the first path segment. Undefined when not a URL.
 */
export function accountOf(endpoint: string): string | undefined {
  try {
    const url = new URL(endpoint);
    if (pathStyle(url.hostname)) {
      const host = /^localhost$|^\[::1\]$/i.test(url.hostname) ? "127.0.0.1" : url.hostname;
      return `${host}:${url.port || "443"}/${decodeURIComponent(url.pathname.split("/")[1] ?? "").toLowerCase()}`;
    }
    // acct-secondary is the same account's read-only secondary endpoint (RA-GRS).
    return decodeURIComponent(url.hostname)
      .toLowerCase()
      .replace(/\.$/, "")
      .split(".")[0]
      ?.replace(/-secondary$/, "");
  } catch {
    return undefined;
  }
}

/** The copy as the app uses it; nothing when BACKUP_COPY_BLOB_URI is not set. */
export const copyConfig = (s: Settings): { copy?: CopyConfig } =>
  s.BACKUP_COPY_BLOB_URI
    ? {
        copy: {
          blobServiceUri: s.BACKUP_COPY_BLOB_URI.replace(/\/+$/, ""),
          container: s.BACKUP_COPY_CONTAINER ?? s.BACKUP_CONTAINER,
          maxLagHours: s.BACKUP_COPY_MAX_LAG_HOURS,
          ...(s.BACKUP_COPY_TENANT_ID && s.BACKUP_COPY_CLIENT_ID
            ? { tenant: { tenantId: s.BACKUP_COPY_TENANT_ID, clientId: s.BACKUP_COPY_CLIENT_ID } }
            : {}),
        },
      }
    : {};

/** The backup account's blob endpoints, as the settings name it: the identity form's, or the connection string's. */
export function primaryEndpoints(
  blobServiceUri: string | undefined,
  connectionString: string | undefined,
): string[] {
  const parts = new Map(
    (connectionString ?? "")
      .split(";")
      .map((p) => p.split(/=(.*)/s) as [string, string?])
      .filter(([k, v]) => k && v !== undefined)
      .map(([k, v]) => [k.trim().toLowerCase(), (v ?? "").trim()]),
  );
  const account = parts.get("accountname");
  return [
    ...(blobServiceUri ? [blobServiceUri] : []),
    ...(parts.get("blobendpoint") ? [parts.get("blobendpoint") as string] : []),
    ...(account ? [`https://${account}.blob.${parts.get("endpointsuffix") ?? "core.windows.net"}`] : []),
    ...(parts.get("usedevelopmentstorage") === "true" ? ["http://127.0.0.1:10000/devstoreaccount1"] : []),
  ];
}
