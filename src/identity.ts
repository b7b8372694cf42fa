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
import type { SignedIn } from "./domain/signedIn.js";
import { classifyTokenError, type Who } from "./identity/classify.js";
import { copyTenantCredential } from "./identity/copyCredential.js";

export { classifyTokenError };

/** A token takes well under a second from the managed identity, a few from the Azure CLI: longer is a failure, named. */
export const TokenBoundMs = 15_000;
/**
 * After a failure, calls in the next seconds fail at once with the same diagnosis instead of each
 * waiting again: 10 s, doubled for each failure in a row up to 5 minutes (an endpoint that takes a
 * connection and never answers leaves that request's socket open; the backoff bounds how many).
 */
export const RememberFailureMs = 10_000;
const RememberFailureMaxMs = 300_000;

/** The inner promise, or the signal's abort, whichever comes first (a credential may not heed the signal). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Failures that are not about one resource: the endpoint, or the sign-in, is down for every scope. */
const EveryScope: ReadonlySet<IdentityFailure["reason"]> = new Set(["slow", "unreachable", "not-signed-in"]);
/** A token is used again until this close to its expiry. */
const RefreshBeforeMs = 2 * 60_000;

/**
 * A credential whose every token request is bounded in time and whose failures are named: the
 * identity library's own retries (and the SDKs' retries around them) could keep a caller waiting
 * for minutes behind an identity endpoint that does not answer. One request per scope at a time
 * (calls that ask together share it) and the token kept until near its expiry, so checks made
 * all at once ask the endpoint once per resource, not once per check. A failure is remembered for
 * a few seconds, so the calls behind it fail at once with the same CredentialFailure: for every
 * scope when the endpoint or the sign-in is down, for that resource alone when it was refused.
 */
export class BoundedCredential implements TokenCredential {
  private readonly failures = new Map<string, { at: number; error: CredentialFailure; forMs: number }>();
  private readonly tokens = new Map<string, AccessToken>();
  private readonly pending = new Map<string, Promise<AccessToken | null>>();
  /** Who the last token was for (its claims, read; the token is not kept). */
  private last: SignedIn | undefined;

  constructor(
    private readonly inner: TokenCredential,
    private readonly who: Who,
    private readonly operator: boolean,
    private readonly boundMs = TokenBoundMs,
  ) {}

  private remembered(key: string) {
    const now = Date.now();
    for (const k of ["*", key]) {
      const f = this.failures.get(k);
      if (f && now - f.at < f.forMs) return f;
    }
    return undefined;
  }

  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken | null> {
    const key = JSON.stringify([[scopes].flat().sort(), options.tenantId ?? "", options.claims ?? ""]);
    const recent = this.remembered(key);
    if (recent) throw recent.error;
    const kept = this.tokens.get(key);
    if (kept && !options.claims && kept.expiresOnTimestamp - Date.now() > RefreshBeforeMs) return kept;
    let asked = this.pending.get(key);
    if (!asked) {
      const { abortSignal: _callers, ...shared } = options;
      asked = this.fetch(scopes, key, shared).finally(() => this.pending.delete(key));
      this.pending.set(key, asked);
    }
    const caller = options.abortSignal as AbortSignal | undefined;
    return caller ? raceAbort(asked, caller) : asked;
  }

  /** One request to the inner credential, bounded in time; its failure named and remembered. */
  private async fetch(
    scopes: string | string[],
    key: string,
    options: GetTokenOptions,
  ): Promise<AccessToken | null> {
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(), this.boundMs);
    try {
      const token = await raceAbort(
        this.inner.getToken(scopes, { ...options, abortSignal: bound.signal }),
        bound.signal,
      );
      this.failures.delete(key);
      this.failures.delete("*");
      if (token) {
        this.tokens.set(key, token);
        this.last = signedIn(token.token, via(this.inner));
      }
      return token;
    } catch (e) {
      const identity: IdentityFailure = bound.signal.aborted
        ? { ...this.who, reason: "slow", detail: `no token within ${this.boundMs / 1000} s` }
        : classifyTokenError(e, this.who, this.operator);
      const error = new CredentialFailure(identity);
      const scope = EveryScope.has(identity.reason) ? "*" : key;
      const before = this.failures.get(scope);
      const forMs = before ? Math.min(before.forMs * 2, RememberFailureMaxMs) : RememberFailureMs;
      this.failures.set(scope, { at: Date.now(), error, forMs });
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
const anyTenant = { additionallyAllowedTenants: ["*"] };

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
    // Any tenant on request: the isolated copy may be in another tenant (asked for by its tenant id).
    {
      name: "EnvironmentCredential",
      credential: new EnvironmentCredential({ additionallyAllowedTenants: ["*"] }),
    },
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
    { name: "AzureCliCredential", credential: new AzureCliCredential(anyTenant) },
    { name: "AzureDeveloperCliCredential", credential: new AzureDeveloperCliCredential(anyTenant) },
    { name: "AzurePowerShellCredential", credential: new AzurePowerShellCredential(anyTenant) },
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
 * its failure, and says who it signed in as. `copy` (the isolated copy's account) is storage's, or
 * in another tenant the operator asked there / the app registration federated with the identity.
 */
export function credentials(config: Config): Record<"keyVault" | "storage" | "copy", BoundedCredential> {
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
    const tenantId = config.copy?.tenant?.tenantId;
    // In another tenant the operator signs in there (az login --tenant <copy tenant>): asked by tenant id.
    const copy = tenantId
      ? new BoundedCredential(
          { getToken: (scopes, options) => operator.getToken(scopes, { ...options, tenantId }) },
          { credential: `the operator's sign-in in the copy's tenant ${tenantId}` },
          true,
        )
      : operator;
    return { keyVault: operator, storage: operator, copy };
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
  const tenant = config.copy?.tenant;
  const copy = tenant
    ? new BoundedCredential(
        copyTenantCredential(tenant, storage, process.env),
        {
          credential: `the app registration ${tenant.clientId} in the copy's tenant ${tenant.tenantId}, federated with the Function's managed identity`,
        },
        false,
      )
    : storage;
  return { keyVault, storage, copy };
}
