import { createHash } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { request } from "node:https";
import type { BlockBlobClient } from "@azure/storage-blob";
import { StorageServiceCaller } from "./faultProxy.js";
import { copySourceError, md5Mismatch, type StorageErrorResponse } from "./storageErrors.js";

/**
 * Put Blob From URL (PUT, no comp, x-ms-copy-source, x-ms-blob-type: BlockBlob); plain Copy Blob has
 * no x-ms-blob-type. Azurite answers it 501 (Azure/Azurite#2427), so the copy's proxy does it.
 */
export function isPutBlobFromUrl(method: string, url: URL, headers: IncomingHttpHeaders): boolean {
  return (
    method === "PUT" &&
    !url.searchParams.has("comp") &&
    typeof headers["x-ms-copy-source"] === "string" &&
    headers["x-ms-blob-type"] === "BlockBlob"
  );
}

interface SourceRead {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Get Blob on the source as the copy service does it: with x-ms-copy-source-authorization as the
 * source's Authorization, from another account's storage backend (marked for the source's firewall
 * model). Undefined when nothing answered (the source's host does not exist any more).
 */
async function readSource(source: string, authorization: string | undefined, ca: string) {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" || !loopback.has(url.hostname)) return undefined;
  return new Promise<SourceRead | undefined>((resolve) => {
    const call = request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        ca,
        headers: {
          "x-ms-version": "2025-11-05",
          "x-ms-date": new Date().toUTCString(),
          [StorageServiceCaller.header]: StorageServiceCaller.value,
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", () => resolve(undefined));
      },
    );
    call.on("error", () => resolve(undefined));
    call.end();
  });
}

/** The source's own error, as CannotVerifyCopySource repeats it: code, and the message without RequestId/Time. */
function sourceFailure(read: SourceRead): { status: number; code: string; message: string } {
  const text = read.body.toString("utf8");
  const code =
    (typeof read.headers["x-ms-error-code"] === "string" ? read.headers["x-ms-error-code"] : undefined) ??
    text.match(/<Code>([^<]*)<\/Code>/)?.[1] ??
    "CannotVerifyCopySource";
  const message = (text.match(/<Message>([^<]*)<\/Message>/)?.[1] ?? "").split("\n")[0]?.trim() ?? "";
  return { status: read.status, code, message };
}

const one = (v: string | string[] | undefined): string | undefined => (typeof v === "string" ? v : undefined);

export function answer(req: IncomingMessage, res: ServerResponse, e: StorageErrorResponse): true {
  req.resume();
  res.writeHead(e.status, e.statusText, e.headers);
  res.end(e.body);
  return true;
}

/**
 * Does the copy (the destination was authorised by the caller): reads the source, checks
 * x-ms-source-content-md5, writes the bytes with the account key and answers 201 as Storage does.
 * Properties (content type, encoding, language, disposition, cache control) come from the source
 * unless x-ms-copy-source-blob-properties is false, a request's x-ms-blob-content-* winning over them;
 * metadata comes from the request's x-ms-meta-* only (the put-blob-from-url page documents
 * x-ms-meta-name as "the name-value pairs associated with the blob", and, unlike Copy Blob's page,
 * says nothing of copying the source's).
 */
export async function putBlobFromUrl(
  req: IncomingMessage,
  res: ServerResponse,
  destination: BlockBlobClient,
  ca: string,
): Promise<true> {
  const h = req.headers;
  const clientId = one(h["x-ms-client-request-id"]);
  const read = await readSource(
    h["x-ms-copy-source"] as string,
    one(h["x-ms-copy-source-authorization"]),
    ca,
  );
  // No capture of a copy from an account whose name no longer resolves was found: this model answers
  // as for a source that is not there.
  if (!read)
    return answer(
      req,
      res,
      copySourceError(
        { status: 404, code: "ResourceNotFound", message: "The specified resource does not exist." },
        clientId,
      ),
    );
  if (read.status < 200 || read.status > 299)
    return answer(req, res, copySourceError(sourceFailure(read), clientId));
  const md5 = createHash("md5").update(read.body).digest();
  const expected = one(h["x-ms-source-content-md5"]);
  if (expected && expected !== md5.toString("base64"))
    return answer(req, res, md5Mismatch(expected, md5.toString("base64"), clientId));
  const fromSource = h["x-ms-copy-source-blob-properties"] !== "false";
  const property = (request: string, source: string): string | undefined =>
    one(h[request]) ?? (fromSource ? one(read.headers[source]) : undefined);
  const metadata = Object.fromEntries(
    Object.entries(h)
      .filter(([k, v]) => k.startsWith("x-ms-meta-") && typeof v === "string")
      .map(([k, v]) => [k.slice("x-ms-meta-".length), v as string]),
  );
  req.resume();
  try {
    const done = await destination.uploadData(read.body, {
      blobHTTPHeaders: {
        blobContentMD5: md5,
        ...optional("blobContentType", property("x-ms-blob-content-type", "content-type")),
        ...optional("blobContentEncoding", property("x-ms-blob-content-encoding", "content-encoding")),
        ...optional("blobContentLanguage", property("x-ms-blob-content-language", "content-language")),
        ...optional(
          "blobContentDisposition",
          property("x-ms-blob-content-disposition", "content-disposition"),
        ),
        ...optional("blobCacheControl", property("x-ms-blob-cache-control", "cache-control")),
      },
      metadata,
      conditions: {
        ...optional("ifNoneMatch", one(h["if-none-match"])),
        ...optional("ifMatch", one(h["if-match"])),
      },
    });
    res.writeHead(201, "Created", {
      etag: done.etag ?? "",
      "last-modified": done.lastModified?.toUTCString() ?? new Date().toUTCString(),
      "content-md5": md5.toString("base64"),
      server: "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
      "x-ms-request-id": done.requestId ?? "",
      "x-ms-version": one(h["x-ms-version"]) ?? "2025-11-05",
      "x-ms-request-server-encrypted": "true",
      ...(clientId ? { "x-ms-client-request-id": clientId } : {}),
      date: new Date().toUTCString(),
      "content-length": "0",
    });
    res.end();
  } catch (e) {
    // Azurite's own refusal (a missing container, a failed condition), passed on as it answered.
    const err = e as { statusCode?: number; code?: string; response?: { bodyAsText?: string | null } };
    const body = Buffer.from(err.response?.bodyAsText ?? "", "utf8");
    res.writeHead(err.statusCode ?? 500, {
      "x-ms-error-code": err.code ?? "InternalError",
      "content-type": "application/xml",
      "content-length": String(body.length),
    });
    res.end(body);
  }
  return true;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
