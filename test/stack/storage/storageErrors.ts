import { randomUUID } from "node:crypto";

/**
 * Azure Storage's 403/503 answers, byte for byte as in shared/reference/storage/: a UTF-8 BOM,
 * compact XML, "\n" before RequestId and Time, no trailing newline. Only RequestId and Time vary.
 */
export type StorageFault =
  | "AuthorizationFailure"
  | "AuthorizationPermissionMismatch"
  | "KeyBasedAuthenticationNotPermitted"
  | "ServerBusy"
  | "BlobImmutableDueToPolicy"
  | "BlobAlreadyExists"
  | "ResourceNotFound";

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
  // 409 and the message: learn.microsoft.com/rest/api/storageservices/blob-service-error-codes; the
  // same text, then RequestId and Time, in an az CLI capture of a WORM delete ("ERROR: This operation
  // is not permitted as the blob is immutable due to a policy.\nRequestId:...\nTime:...").
  BlobImmutableDueToPolicy: {
    status: 409,
    statusText: "This operation is not permitted as the blob is immutable due to a policy.",
    message: "This operation is not permitted as the blob is immutable due to a policy.",
  },
  // Azure/azure-sdk-for-js storage-blob nock recording (2020-05, x-ms-version 2019-07-07): Content-Length 220 = BOM + this.
  BlobAlreadyExists: {
    status: 409,
    statusText: "The specified blob already exists.",
    message: "The specified blob already exists.",
  },
  ResourceNotFound: {
    status: 404,
    statusText: "The specified resource does not exist.",
    message: "The specified resource does not exist.",
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
  code: string,
  message: string,
  id: string,
  service: "blob" | "queue" | "table",
  details = "",
): Buffer {
  const text = `${message}\nRequestId:${id}\nTime:${serviceTime()}`;
  if (service === "table")
    return Buffer.from(
      JSON.stringify({ "odata.error": { code, message: { lang: "en-US", value: text } } }),
      "utf8",
    );
  const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${text}</Message>${details}</Error>`;
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

/** A blob service error that carries more than Code and Message (the copy's answers below). */
function blobError(
  status: number,
  code: string,
  message: string,
  details: string,
  extraHeaders: Record<string, string>,
  clientRequestId?: string,
): StorageErrorResponse {
  const id = requestId();
  const body = errorBody(code, message, id, "blob", details);
  const headers: Record<string, string> = {
    server: "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
    "x-ms-request-id": id,
    "x-ms-version": "2025-11-05",
    "x-ms-error-code": code,
    ...extraHeaders,
    "content-type": "application/xml",
    "content-length": String(body.length),
    date: new Date().toUTCString(),
  };
  if (clientRequestId) headers["x-ms-client-request-id"] = clientRequestId;
  return { status, statusText: message, headers, body };
}

/**
 * Put Blob From URL (or any copy) whose source could not be read: the source's status, and its code
 * and message repeated, as two captures show — Azure/azure-storage-azcopy ste (token reauth policy:
 * 401 InvalidAuthenticationInfo, Content-Length 568 = BOM + this shape, headers
 * x-ms-copy-source-status-code / -error-code) and rclone/rclone#8694 (403 AuthorizationFailure, a
 * firewalled source, the whole body with RequestId and Time).
 */
export function copySourceError(
  source: { status: number; code: string; message: string },
  clientRequestId?: string,
): StorageErrorResponse {
  const details = `<CopySourceStatusCode>${source.status}</CopySourceStatusCode><CopySourceErrorCode>${source.code}</CopySourceErrorCode><CopySourceErrorMessage>${source.message}</CopySourceErrorMessage>`;
  return blobError(
    source.status,
    "CannotVerifyCopySource",
    source.message,
    details,
    {
      "x-ms-copy-source-status-code": String(source.status),
      "x-ms-copy-source-error-code": source.code,
    },
    clientRequestId,
  );
}

/**
 * x-ms-source-content-md5 not the MD5 of the source's bytes: the Azure/azure-sdk-for-js storage-blob
 * nock recording of syncUploadFromURL (2020-11, x-ms-version 2020-04-08), 400, Content-Length 405 = BOM + this.
 */
export function md5Mismatch(
  userSpecified: string,
  serverCalculated: string,
  clientRequestId?: string,
): StorageErrorResponse {
  const message =
    "The MD5 value specified in the request did not match with the MD5 value calculated by the server.";
  const details = `<UserSpecifiedMd5>${userSpecified}</UserSpecifiedMd5><ServerCalculatedMd5>${serverCalculated}</ServerCalculatedMd5>`;
  return blobError(400, "Md5Mismatch", message, details, {}, clientRequestId);
}
