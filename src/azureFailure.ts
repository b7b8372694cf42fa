/**
 * What kvbackup knows of a failed Azure call: the service, the HTTP status, the error code and
 * (Key Vault) the inner error code. Classification branches on these, never on message text; the
 * message is kept only to show to people and to name an RBAC action.
 */
export interface AzureFailure {
  service: "keyvault" | "storage";
  status?: number;
  code?: string;
  innerCode?: string;
  message: string;
  /** Seconds the service asked us to wait (Retry-After / x-ms-retry-after-ms). */
  retryAfterSeconds?: number;
  /** Node's network error code (ECONNREFUSED, ENOTFOUND, ...), when no answer came. */
  networkCode?: string;
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

const NetworkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "REQUEST_SEND_ERROR",
]);

export function retryAfterSeconds(
  headers: { get(name: string): string | undefined } | undefined,
): number | undefined {
  const ms = headers?.get("x-ms-retry-after-ms") ?? headers?.get("retry-after-ms");
  if (ms !== undefined && Number.isFinite(Number(ms))) return Number(ms) / 1000;
  const ra = headers?.get("retry-after");
  if (ra === undefined) return undefined;
  if (Number.isFinite(Number(ra))) return Number(ra);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/** Reads an SDK error (RestError or a Node network error) into an AzureFailure. */
export function toAzureFailure(
  e: unknown,
  service: AzureFailure["service"],
  innerCode?: string,
): AzureFailure {
  const err = (e ?? {}) as RestErrorLike & { cause?: { code?: string } };
  const message = typeof err.message === "string" ? err.message : String(e);
  const f: AzureFailure = { service, message };
  if (typeof err.statusCode === "number") f.status = err.statusCode;
  const code = typeof err.code === "string" ? err.code : undefined;
  if (code && NetworkCodes.has(code)) f.networkCode = code;
  else if (code) f.code = code;
  const causeCode = err.cause?.code;
  if (
    !f.networkCode &&
    f.status === undefined &&
    typeof causeCode === "string" &&
    NetworkCodes.has(causeCode)
  )
    f.networkCode = causeCode;
  if (innerCode) f.innerCode = innerCode;
  const ra = retryAfterSeconds(err.response?.headers);
  if (ra !== undefined) f.retryAfterSeconds = ra;
  return f;
}

/** An abort (ours or the SDK's AbortError) must stop the run, not be counted as an Azure failure. */
export const isAbort = (e: unknown): boolean =>
  (e instanceof Error && (e.name === "AbortError" || (e as { code?: unknown }).code === "Aborted")) ||
  (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "AbortError");
