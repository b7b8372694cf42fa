import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import {
  AzureCliCredential,
  AzureDeveloperCliCredential,
  AzurePowerShellCredential,
  DefaultAzureCredential,
  EnvironmentCredential,
  ManagedIdentityCredential,
} from "@azure/identity";
import { CredentialFailure, type IdentityFailure } from "./domain/azureFailure.js";
import type { Config } from "./domain/config.js";
import { firstLine } from "./domain/errors.js";
import type { SignedIn } from "./domain/signedIn.js";

/** A token takes well under a second from the managed identity, a few from the Azure CLI: longer is a failure, named. */
export const TokenBoundMs = 15_000;
/**
 * After a failure, calls in the next seconds fail at once with the same diagnosis instead of each
 * waiting again: 10 s, doubled for each failure in a row up to 5 minutes (an endpoint that takes a
 * connection and never answers leaves that request's socket open; the backoff bounds how many).
 */
export const RememberFailureMs = 10_000;
const RememberFailureMaxMs = 300_000;

type Who = Pick<IdentityFailure, "credential" | "clientId">;

interface ErrorLike {
  name?: string;
  message?: string;
  /** MSAL's error behind a managed identity failure: errorCode "network_error", or the endpoint's HTTP status. */
  cause?: { errorCode?: string; status?: number };
  /** AggregateAuthenticationError: one error per credential of the chain tried. */
  errors?: ErrorLike[];
}

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
    .map((p) => firstLine(p.message ?? "", 300))
    .filter(Boolean)
    .join("; ")
    .slice(0, 900);
  for (const p of parts) {
    const reason = managedIdentityReason(p, who);
    if (reason) return { ...who, reason, detail: firstLine(p.message ?? "", 300) };
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
  private failure: { at: number; error: CredentialFailure; forMs: number } | undefined;
  /** Who the last token was for (its claims, read; the token is not kept). */
  private last: SignedIn | undefined;

  constructor(
    private readonly inner: TokenCredential,
    private readonly who: Who,
    private readonly operator: boolean,
    private readonly boundMs = TokenBoundMs,
  ) {}

  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken | null> {
    const recent = this.failure;
    if (recent && Date.now() - recent.at < recent.forMs) throw recent.error;
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(), this.boundMs);
    const caller = options.abortSignal as AbortSignal | undefined;
    const signal = caller ? AbortSignal.any([caller, bound.signal]) : bound.signal;
    try {
      const token = await raceAbort(this.inner.getToken(scopes, { ...options, abortSignal: signal }), signal);
      this.failure = undefined;
      if (token) this.last = signedIn(token.token, via(this.inner));
      return token;
    } catch (e) {
      if (caller?.aborted) throw e;
      const identity: IdentityFailure = bound.signal.aborted
        ? { ...this.who, reason: "slow", detail: `no token within ${this.boundMs / 1000} s` }
        : classifyTokenError(e, this.who, this.operator);
      const error = new CredentialFailure(identity);
      const forMs = recent ? Math.min(recent.forMs * 2, RememberFailureMaxMs) : RememberFailureMs;
      this.failure = { at: Date.now(), error, forMs };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Who the last token was for, once one was had. */
  signedIn(): SignedIn | undefined {
    return this.last;
  }
}

/** The name of the credential that answered: the chain's link that did, or the credential's own class. */
const via = (c: TokenCredential): string =>
  (c instanceof NamedChain ? c.used : undefined) ?? c.constructor.name;

/** A token's claims, for people: who it is for. Not verified (it is our own token, just received). */
function signedIn(token: string, credential: string): SignedIn {
  let claims: Record<string, unknown> = {};
  try {
    claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
  } catch {
    // Not a JWT: nothing to say beyond the credential.
  }
  const text = (k: string): string | undefined =>
    typeof claims[k] === "string" ? (claims[k] as string) : undefined;
  const user = text("idtyp") === "user" || text("upn") !== undefined;
  const name = user ? (text("upn") ?? text("unique_name") ?? text("preferred_username")) : text("appid");
  const oid = text("oid");
  const tenant = text("tid");
  return {
    via: credential,
    kind: user ? "user" : "app",
    ...(oid ? { oid } : {}),
    ...(tenant ? { tenant } : {}),
    ...(name ? { name } : {}),
  };
}

/**
 * The operator's sign-in: each credential in turn, moving on only when one is not available here
 * (as ChainedTokenCredential does), and remembering which one answered.
 */
class NamedChain implements TokenCredential {
  used: string | undefined;

  constructor(private readonly links: readonly { name: string; credential: TokenCredential }[]) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const errors: unknown[] = [];
    for (const link of this.links) {
      try {
        const token = await link.credential.getToken(scopes, options);
        if (token) {
          this.used = link.name;
          return token;
        }
      } catch (e) {
        if ((e as { name?: string }).name !== "CredentialUnavailableError") throw e;
        errors.push(e);
      }
    }
    throw Object.assign(new Error("no credential on this machine could sign in"), {
      name: "AggregateAuthenticationError",
      errors,
    });
  }
}

/**
 * The credentials an operator signs in with, in order. A managed identity only when the
 * environment names its endpoint (IDENTITY_ENDPOINT: inside App Service or Functions, or the local
 * stack) — never a VM's own identity found by probing (a jump host's managed identity would
 * otherwise be used silently in place of the operator's az login). AZURE_TOKEN_CREDENTIALS, when
 * set, is the operator's explicit choice (DefaultAzureCredential honours it: "dev", "prod", or one
 * credential's name, e.g. ManagedIdentityCredential on purpose).
 */
export function operatorLinks(
  env: Record<string, string | undefined>,
): { name: string; credential: TokenCredential }[] {
  // Two retries of a managed identity endpoint that does not answer (the default five take ~20 s).
  const retryOptions = { maxRetries: 2 };
  if (env.AZURE_TOKEN_CREDENTIALS)
    return [
      {
        name: `DefaultAzureCredential (AZURE_TOKEN_CREDENTIALS=${env.AZURE_TOKEN_CREDENTIALS})`,
        credential: new DefaultAzureCredential({ retryOptions }),
      },
    ];
  return [
    { name: "EnvironmentCredential", credential: new EnvironmentCredential() },
    ...(env.IDENTITY_ENDPOINT
      ? [
          {
            name: "ManagedIdentityCredential",
            // As DefaultAzureCredential: AZURE_CLIENT_ID picks a user-assigned identity.
            credential: new ManagedIdentityCredential({
              retryOptions,
              ...(env.AZURE_CLIENT_ID ? { clientId: env.AZURE_CLIENT_ID } : {}),
            }),
          },
        ]
      : []),
    { name: "AzureCliCredential", credential: new AzureCliCredential() },
    { name: "AzureDeveloperCliCredential", credential: new AzureDeveloperCliCredential() },
    { name: "AzurePowerShellCredential", credential: new AzurePowerShellCredential() },
  ];
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
 * An operator's CLI signs in as the operator (operatorLinks: a service principal in the
 * environment, az login, azd, PowerShell), never as the Function's identity: the client ids in
 * settings taken from the deployed app are ignored there. Every credential is bounded and names
 * its failure, and says who it signed in as.
 */
export function credentials(config: Config): { keyVault: BoundedCredential; storage: BoundedCredential } {
  if (config.caller === "operator") {
    // The identity library reads the process's environment itself; the chain follows it.
    const links = operatorLinks(process.env);
    const operator = new BoundedCredential(
      new NamedChain(links),
      {
        credential: `the operator's sign-in (${links.map((l) => l.name).join(", ")})`,
        // A managed identity of the chain takes AZURE_CLIENT_ID from this environment too.
        ...(config.clientId ? { clientId: config.clientId } : {}),
      },
      true,
    );
    return { keyVault: operator, storage: operator };
  }
  const app = (clientId: string | undefined): BoundedCredential =>
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
