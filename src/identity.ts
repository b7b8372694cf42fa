import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { CredentialFailure, type IdentityFailure } from "./domain/azureFailure.js";
import type { Config } from "./domain/config.js";

/** A token takes well under a second from the managed identity, a few from the Azure CLI: longer is a failure, named. */
export const TokenBoundMs = 15_000;
/** After a failure, calls in the next seconds fail at once with the same diagnosis instead of each waiting again. */
export const RememberFailureMs = 10_000;

type Who = Pick<IdentityFailure, "credential" | "clientId">;

interface ErrorLike {
  name?: string;
  message?: string;
  /** MSAL's error behind a managed identity failure: errorCode "network_error", or the endpoint's HTTP status. */
  cause?: { errorCode?: string; status?: number };
  /** AggregateAuthenticationError: one error per credential of the chain tried. */
  errors?: ErrorLike[];
}

const firstLine = (s: unknown): string =>
  (typeof s === "string" ? (s.split("\n")[0] ?? "") : "").slice(0, 300);

/** What the managed identity's attempt says, by the codes MSAL's error carries (never its words). */
function managedIdentityReason(e: ErrorLike, who: Who): IdentityFailure["reason"] | undefined {
  const c = e.cause;
  if (c?.errorCode === "network_error") return "unreachable";
  // The App Service identity endpoint answers 400 for a client id no identity of the app has.
  if (typeof c?.status === "number") return c.status === 400 && who.clientId ? "not-assigned" : "refused";
  return undefined;
}

/** An identity library error, read: which credential failed, and why. */
export function classifyTokenError(e: unknown, who: Who, operator: boolean): IdentityFailure {
  const err = (e ?? {}) as ErrorLike;
  const parts = err.errors?.length ? err.errors : [err];
  const detail = parts
    .map((p) => firstLine(p.message))
    .filter(Boolean)
    .join("; ")
    .slice(0, 900);
  for (const p of parts) {
    const reason = managedIdentityReason(p, who);
    if (reason) return { ...who, reason, detail: firstLine(p.message) };
  }
  // Every credential of the operator's chain said it cannot be used here: nobody is signed in.
  if (operator && parts.every((p) => p.name === "CredentialUnavailableError"))
    return { ...who, reason: "not-signed-in", detail };
  return { ...who, reason: "refused", detail };
}

/** The inner promise, or the signal's abort, whichever comes first (a credential may not heed the signal). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * A credential whose every token request is bounded in time and whose failures are named: the
 * identity library's own retries (and the SDKs' retries around them) could keep a caller waiting
 * for minutes behind an identity endpoint that does not answer. A failure is remembered for a few
 * seconds, so the calls behind it fail at once with the same CredentialFailure.
 */
export class BoundedCredential implements TokenCredential {
  /** The last failure: an identity endpoint that does not answer, or nobody signed in, fails every scope alike. */
  private failure: { at: number; error: CredentialFailure } | undefined;

  constructor(
    private readonly inner: TokenCredential,
    private readonly who: Who,
    private readonly operator: boolean,
    private readonly boundMs = TokenBoundMs,
  ) {}

  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken | null> {
    const recent = this.failure;
    if (recent && Date.now() - recent.at < RememberFailureMs) throw recent.error;
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(), this.boundMs);
    const caller = options.abortSignal as AbortSignal | undefined;
    const signal = caller ? AbortSignal.any([caller, bound.signal]) : bound.signal;
    try {
      const token = await raceAbort(this.inner.getToken(scopes, { ...options, abortSignal: signal }), signal);
      this.failure = undefined;
      return token;
    } catch (e) {
      if (caller?.aborted) throw e;
      const identity: IdentityFailure = bound.signal.aborted
        ? { ...this.who, reason: "slow", detail: `no token within ${this.boundMs / 1000} s` }
        : classifyTokenError(e, this.who, this.operator);
      const error = new CredentialFailure(identity);
      this.failure = { at: Date.now(), error };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

const managedIdentity = (clientId: string | undefined): Who =>
  clientId
    ? { credential: `the Function's user-assigned managed identity (client id ${clientId})`, clientId }
    : { credential: "the Function's managed identity (system-assigned)" };

/**
 * The app's identity. In Azure Functions: the managed identity itself (the user-assigned one when
 * AZURE_CLIENT_ID is set) — not DefaultAzureCredential, whose chain would hide the managed
 * identity's failure behind developer tools that are never there, or pick a service principal from
 * stray environment variables. Storage may name its own user-assigned identity
 * (BACKUP_STORAGE__clientId), the Functions convention for identity-based connections.
 * An operator's CLI signs in as the operator (az login, a jump host's own identity, ...) through
 * DefaultAzureCredential, never as the Function's identity: the client ids in settings taken from
 * the deployed app are ignored there. Every credential is bounded and names its failure.
 */
export function credentials(config: Config): { keyVault: TokenCredential; storage: TokenCredential } {
  if (config.caller === "operator") {
    const operator = new BoundedCredential(
      // Two retries of a managed identity endpoint that does not answer (the default five take ~20 s).
      new DefaultAzureCredential({ retryOptions: { maxRetries: 2 } }),
      {
        credential:
          "the operator's sign-in (DefaultAzureCredential: environment, workload identity, managed identity, Azure CLI, Azure Developer CLI, Azure PowerShell)",
        // DefaultAzureCredential's managed identity takes AZURE_CLIENT_ID from this environment too.
        ...(config.clientId ? { clientId: config.clientId } : {}),
      },
      true,
    );
    return { keyVault: operator, storage: operator };
  }
  const app = (clientId: string | undefined): TokenCredential =>
    new BoundedCredential(
      new ManagedIdentityCredential(clientId ? { clientId } : {}),
      managedIdentity(clientId),
      false,
    );
  const keyVault = app(config.clientId);
  const storage =
    config.storage.kind === "identity" && config.storage.clientId ? app(config.storage.clientId) : keyVault;
  return { keyVault, storage };
}
