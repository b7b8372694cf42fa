import { randomUUID } from "node:crypto";

/**
 * Azure Storage's 403/503 answers, byte for byte as in shared/reference/storage/: a UTF-8 BOM,
 * compact XML, "\n" before RequestId and Time, no trailing newline. Only RequestId and Time vary.
 */
export type StorageFault =
  | "AuthorizationFailure"
  | "AuthorizationPermissionMismatch"
  | "KeyBasedAuthenticationNotPermitted"
  | "ServerBusy";

const Messages: Record<StorageFault, { status: number; statusText: string; message: string }> = {
  AuthorizationFailure: {
    status: 403,
    statusText: "This request is not authorized to perform this operation.",
    message: "This request is not authorized to perform this operation.",
  },
  AuthorizationPermissionMismatch: {
    status: 403,
    statusText: "This request is not authorized to perform this operation using this permission.",
    message: "This request is not authorized to perform this operation using this permission.",
  },
  KeyBasedAuthenticationNotPermitted: {
    status: 403,
    statusText: "Key based authentication is not permitted on this storage account.",
    message: "Key based authentication is not permitted on this storage account.",
  },
  ServerBusy: {
    status: 503,
    statusText: "The server is currently unable to receive requests. Please retry your request.",
    message: "The server is currently unable to receive requests. Please retry your request.",
  },
};

/** Storage request ids look like "48232a78-301e-007a-47bf-32f7ee000000". */
const requestId = (): string => `${randomUUID().slice(0, 30)}000000`;
/** Seven fractional digits, as the service prints them. */
const serviceTime = (d = new Date()): string =>
  `${d.toISOString().slice(0, 19)}.${String(d.getUTCMilliseconds()).padStart(3, "0")}0000Z`;

export interface StorageErrorResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The Table service answers in JSON, as a user's capture of a table firewall rejection shows
 * (microsoft/AzureStorageExplorer#8869: {"odata.error":{"code":"AuthorizationFailure","message":
 * {"lang":"en-US","value":"...\nRequestId:...\nTime:..."}}}); blob and queue answer in XML.
 */
function errorBody(
  fault: StorageFault,
  message: string,
  id: string,
  service: "blob" | "queue" | "table",
): Buffer {
  const text = `${message}\nRequestId:${id}\nTime:${serviceTime()}`;
  if (service === "table")
    return Buffer.from(
      JSON.stringify({ "odata.error": { code: fault, message: { lang: "en-US", value: text } } }),
      "utf8",
    );
  const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${fault}</Code><Message>${text}</Message></Error>`;
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml, "utf8")]);
}

export function storageError(
  fault: StorageFault,
  clientRequestId?: string,
  service: "blob" | "queue" | "table" = "blob",
): StorageErrorResponse {
  const { status, statusText, message } = Messages[fault];
  const id = requestId();
  const body = errorBody(fault, message, id, service);
  // The firewall answers from the front end: only HTTPAPI, no x-ms-version (see the reference's headers).
  const server =
    fault === "AuthorizationFailure"
      ? "Microsoft-HTTPAPI/2.0"
      : "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0";
  const headers: Record<string, string> = {
    server,
    "x-ms-request-id": id,
    "x-ms-error-code": fault,
    "content-type":
      service === "table"
        ? "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
        : "application/xml",
    "content-length": String(body.length),
    date: new Date().toUTCString(),
  };
  if (fault !== "AuthorizationFailure") headers["x-ms-version"] = "2025-11-05";
  if (clientRequestId) headers["x-ms-client-request-id"] = clientRequestId;
  return { status, statusText, headers, body };
}
