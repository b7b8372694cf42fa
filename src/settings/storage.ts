import { z } from "zod";
import type { StorageConfig } from "../domain/config.js";
import { optionalText, serviceUrl } from "./values.js";

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
    BACKUP_STORAGE: optionalText.refine(
      (s) => s === undefined || /AccountName=|UseDevelopmentStorage=true|BlobEndpoint=/i.test(s),
      "not a storage connection string (or leave it empty and use BACKUP_STORAGE__blobServiceUri)",
    ),
    BACKUP_STORAGE__blobServiceUri: uri,
    BACKUP_STORAGE__queueServiceUri: uri,
    BACKUP_STORAGE__tableServiceUri: uri,
    BACKUP_STORAGE__credential: optionalText.refine(
      (s) => s === undefined || s.toLowerCase() === "managedidentity",
      "must be managedidentity",
    ),
    BACKUP_STORAGE__clientId: optionalText,
  })
  .transform((s, ctx): StorageConfig => {
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
