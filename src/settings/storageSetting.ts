import { z } from "zod";
import type { StorageConfig } from "../domain/config.js";
import { clientIdText, optionalText, serviceUrl } from "./values.js";

const Loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/**
 * What is wrong with a connection string, if anything: it must name an account with a key or a SAS
 * (or be the local emulator's), and reach the account over https unless the endpoint is loopback.
 */
export function connectionStringProblem(s: string): string | undefined {
  const parts = new Map(
    s
      .split(";")
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const eq = p.indexOf("=");
        return [p.slice(0, eq < 0 ? p.length : eq).toLowerCase(), eq < 0 ? "" : p.slice(eq + 1)] as const;
      }),
  );
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") return undefined;
  const endpoints = [...parts].filter(([k]) => k.endsWith("endpoint")).map(([, v]) => v);
  if (!parts.has("accountname") && endpoints.length === 0)
    return "not a storage connection string (or leave it empty and use BACKUP_STORAGE__blobServiceUri)";
  if (!parts.get("accountkey") && !parts.get("sharedaccesssignature"))
    return "a connection string needs AccountKey= or SharedAccessSignature= (for an identity, use BACKUP_STORAGE__blobServiceUri instead)";
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      return `endpoint '${e.slice(0, 80)}' is not a URL`;
    }
    if (url.protocol !== "https:" && !Loopback.test(url.hostname))
      return `endpoint ${url.origin} must be https`;
  }
  if (parts.get("defaultendpointsprotocol")?.toLowerCase() === "http" && endpoints.length === 0)
    return "DefaultEndpointsProtocol must be https";
  return undefined;
}

/** Azure hosts name the service in the host: derive queue/table from blob when not given. */
const sibling = (blob: string, service: "queue" | "table"): string | undefined =>
  /\.blob\.core\./.test(blob) ? blob.replace(".blob.core.", `.${service}.core.`) : undefined;

const uri = serviceUrl(true).optional();

/**
 * The storage connection: a connection string (local only), or the identity form the Functions
 * host uses (BACKUP_STORAGE__blobServiceUri, __queueServiceUri, __tableServiceUri, __credential, __clientId).
 */
export const StorageSchema = z
  .object({
    BACKUP_STORAGE: optionalText.superRefine((s, ctx) => {
      const problem = s === undefined ? undefined : connectionStringProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
    BACKUP_STORAGE__blobServiceUri: uri,
    BACKUP_STORAGE__queueServiceUri: uri,
    BACKUP_STORAGE__tableServiceUri: uri,
    BACKUP_STORAGE__credential: optionalText.refine(
      (s) => s === undefined || s.toLowerCase() === "managedidentity",
      "must be managedidentity",
    ),
    BACKUP_STORAGE__clientId: clientIdText,
  })
  .transform((s, ctx): StorageConfig => {
    if (s.BACKUP_STORAGE && s.BACKUP_STORAGE__blobServiceUri) {
      ctx.addIssue({
        code: "custom",
        path: ["BACKUP_STORAGE"],
        message:
          "set either BACKUP_STORAGE (a connection string) or BACKUP_STORAGE__blobServiceUri (an identity), not both",
      });
      return { kind: "connectionString", connectionString: s.BACKUP_STORAGE };
    }
    if (s.BACKUP_STORAGE) return { kind: "connectionString", connectionString: s.BACKUP_STORAGE };
    const blob = s.BACKUP_STORAGE__blobServiceUri;
    const queue = s.BACKUP_STORAGE__queueServiceUri ?? (blob ? sibling(blob, "queue") : undefined);
    const table = s.BACKUP_STORAGE__tableServiceUri ?? (blob ? sibling(blob, "table") : undefined);
    const missing = (path: string, message: string): void =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (!blob)
      missing(
        "BACKUP_STORAGE__blobServiceUri",
        "required (identity-based storage), or BACKUP_STORAGE with a connection string (local only)",
      );
    else {
      if (!queue)
        missing(
          "BACKUP_STORAGE__queueServiceUri",
          "required when the blob URI is not an Azure *.blob.core.* host",
        );
      if (!table)
        missing(
          "BACKUP_STORAGE__tableServiceUri",
          "required when the blob URI is not an Azure *.blob.core.* host",
        );
    }
    return {
      kind: "identity",
      blobServiceUri: blob ?? "",
      queueServiceUri: queue ?? "",
      tableServiceUri: table ?? "",
      ...(s.BACKUP_STORAGE__clientId ? { clientId: s.BACKUP_STORAGE__clientId } : {}),
    };
  });
