/** The storage resource a call was about: a data role is granted on it, and a fix names it. */
export interface StorageTarget {
  kind: "container" | "queue" | "table";
  name: string;
}

/**
 * Why no token could be had for a call (so the service was never reached): which credential, and
 * what went wrong, as the app's credentials read it where they are made (src/identity.ts).
 */
export interface IdentityFailure {
  /** In words: "the Function's managed identity (system-assigned)", "the operator's sign-in (...)". */
  credential: string;
  /** The user-assigned identity's client id the app asked for, when it asked for one. */
  clientId?: string;
  /**
   * unreachable: the identity endpoint did not answer; not-assigned: it knows no identity with that
   * client id; refused: it answered with an error; slow: no token within the bound; not-signed-in:
   * no credential on this machine could sign in (the CLI).
   */
  reason: "unreachable" | "not-assigned" | "refused" | "slow" | "not-signed-in";
  /** The credential's own words (first lines), for people; never classified. */
  detail: string;
}

/**
 * The app's credentials throw this instead of the identity library's errors. Its message carries no
 * network error word (ECONNREFUSED, TIMEOUT, ...) on purpose: Storage's retry policy retries any
 * error whose message does, and a token that could not be had is not worth four more tries.
 */
export class CredentialFailure extends Error {
  constructor(readonly identity: IdentityFailure) {
    super(`no token from ${identity.credential} (${identity.reason})`);
    this.name = "CredentialFailure";
  }
}

/**
 * What kvbackup knows of a failed Azure call: the service, the HTTP status, the error code and
 * (Key Vault) the inner error code. Classification branches on these, never on message text; the
 * message is kept to show to people and to read the documented identifiers some bodies carry.
 */
export interface AzureFailure {
  service: "keyvault" | "storage" | "arm";
  status?: number;
  code?: string;
  innerCode?: string;
  message: string;
  /** Seconds the service asked us to wait (Retry-After / x-ms-retry-after-ms). */
  retryAfterSeconds?: number;
  /** Node's network error code (ECONNREFUSED, ENOTFOUND, ...), when no answer came. */
  networkCode?: string;
  /** The WWW-Authenticate header of a 401. */
  authenticate?: string;
  /** Storage's AuthenticationErrorDetail: which check of a SAS, a shared key or a token failed. */
  detail?: string;
  /** What was called, as the adapter knows it: the vault's name, or "container 'x'", "table 'y'", "queue 'z'". */
  resource?: string;
  /** Storage: the container, queue or table the call was about. */
  store?: StorageTarget;
  /** The kind of call: a listing, a backup, a restore (a 400 or 404 means another thing for each). */
  operation?: "list" | "backup" | "restore";
  /** No token could be had: the service was never called. */
  identity?: IdentityFailure;
}

interface Headers {
  get(name: string): string | undefined | null;
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: Headers };
  cause?: { code?: string };
}

/** Node's codes for a TLS handshake whose certificate could not be trusted (a TLS-inspecting proxy, a wrong host). */
export const TlsCodes = [
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
] as const;

const NetworkCodes = new Set<string>([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "REQUEST_SEND_ERROR",
  ...TlsCodes,
]);

/** Retry-After in seconds, from x-ms-retry-after-ms, retry-after-ms or Retry-After (seconds or a date), in that order. */
export function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const ms = headers?.get("x-ms-retry-after-ms") ?? headers?.get("retry-after-ms");
  if (ms !== undefined && ms !== null && Number.isFinite(Number(ms))) return Number(ms) / 1000;
  const ra = headers?.get("retry-after");
  if (ra === undefined || ra === null) return undefined;
  if (Number.isFinite(Number(ra))) return Number(ra);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/** Reads an SDK error (a RestError or a Node network error) into an AzureFailure. */
export function toAzureFailure(
  e: unknown,
  service: AzureFailure["service"],
  innerCode?: string,
): AzureFailure {
  const err = (e ?? {}) as RestErrorLike;
  const message = typeof err.message === "string" ? err.message : String(e);
  const f: AzureFailure = { service, message };
  const identity = credentialFailure(e);
  if (identity) return { ...f, identity: identity.identity };
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
  const authenticate = err.response?.headers?.get("www-authenticate");
  if (typeof authenticate === "string" && authenticate) f.authenticate = authenticate;
  return f;
}

/** The credential's failure, when a call failed for want of a token (an SDK may wrap it as a cause). */
function credentialFailure(e: unknown): CredentialFailure | undefined {
  for (let c = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++)
    if (c instanceof CredentialFailure) return c;
  return undefined;
}

/** An abort (ours or the SDK's AbortError) stops the work; it is not an Azure failure. */
export const isAbort = (e: unknown): boolean =>
  typeof e === "object" &&
  e !== null &&
  ((e as { name?: unknown }).name === "AbortError" || (e as { code?: unknown }).code === "Aborted");
