import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { afterEach, describe, expect, it, vi } from "vitest";
import { diagnose } from "../../src/diagnosis/diagnose.js";
import { CredentialFailure, toAzureFailure } from "../../src/domain/azureFailure.js";
import {
  BoundedCredential,
  classifyTokenError,
  operatorLinks,
  RememberFailureMs,
  TokenBoundMs,
} from "../../src/identity.js";

/** Issue 20: a token is had in bounded time, or the failure is named: which credential, and why. */

const app = { credential: "the Function's managed identity (system-assigned)" };
const assigned = { credential: "the Function's user-assigned managed identity", clientId: "0000-wrong" };

/** What @azure/identity throws for the managed identity: a CredentialUnavailableError with MSAL's error as its cause. */
const miError = (cause: object) =>
  Object.assign(new Error("ManagedIdentityCredential: Network unreachable. Message: network_error"), {
    name: "CredentialUnavailableError",
    cause,
  });

class Stuck implements TokenCredential {
  calls = 0;
  getToken(): Promise<AccessToken | null> {
    this.calls++;
    return new Promise(() => undefined);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the app's credential", () => {
  it("a token that does not come within the bound is a named failure; the calls behind it fail at once, then it asks again", async () => {
    vi.useFakeTimers();
    const inner = new Stuck();
    const bounded = new BoundedCredential(inner, app, false);
    const first = bounded.getToken("https://storage.azure.com/.default").catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(TokenBoundMs);
    const e = await first;
    expect(e).toBeInstanceOf(CredentialFailure);
    expect((e as CredentialFailure).identity).toMatchObject({ reason: "slow", credential: app.credential });
    // Another scope, a moment later: the same failure, without waiting on the identity again.
    await expect(bounded.getToken("https://vault.azure.net/.default")).rejects.toBe(e);
    expect(inner.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(RememberFailureMs);
    const second = bounded.getToken("https://vault.azure.net/.default").catch((x: unknown) => x);
    expect(inner.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(TokenBoundMs);
    expect(await second).toBeInstanceOf(CredentialFailure);
    // A second failure in a row is remembered twice as long (each stuck request may hold a socket).
    await vi.advanceTimersByTimeAsync(RememberFailureMs);
    await expect(bounded.getToken("s")).rejects.toBeInstanceOf(CredentialFailure);
    expect(inner.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(RememberFailureMs);
    void bounded.getToken("s").catch(() => undefined);
    expect(inner.calls).toBe(3);
  });

  it("a resource refused fails that resource alone: the others still get their tokens (adversary on issue 21)", async () => {
    const refusal = miError({ status: 400 });
    const inner: TokenCredential = {
      getToken: async (scopes) => {
        if ([scopes].flat()[0] === "https://management.azure.com/.default") throw refusal;
        return { token: "t", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const bounded = new BoundedCredential(inner, app, false);
    const arm = await bounded.getToken("https://management.azure.com/.default").catch((e: unknown) => e);
    expect((arm as CredentialFailure).identity.reason).toBe("refused");
    await expect(bounded.getToken("https://storage.azure.com/.default")).resolves.toMatchObject({
      token: "t",
    });
    await expect(bounded.getToken("https://vault.azure.net/.default")).resolves.toMatchObject({ token: "t" });
    // The refused resource is remembered: asked again at once, the same failure without a new request.
    await expect(bounded.getToken("https://management.azure.com/.default")).rejects.toBe(arm);
  });

  it("checks made together ask once per resource, and a token is used again until near its expiry", async () => {
    let calls = 0;
    let answer: (t: AccessToken) => void = () => undefined;
    const inner: TokenCredential = {
      getToken: () => {
        calls++;
        return new Promise<AccessToken>((resolve) => {
          answer = resolve;
        });
      },
    };
    const bounded = new BoundedCredential(inner, app, false);
    const together = Array.from({ length: 15 }, () => bounded.getToken("https://vault.azure.net/.default"));
    expect(calls).toBe(1);
    answer({ token: "v", expiresOnTimestamp: Date.now() + 3_600_000 });
    expect((await Promise.all(together)).map((t) => t?.token)).toEqual(Array(15).fill("v"));
    await bounded.getToken("https://vault.azure.net/.default");
    expect(calls).toBe(1);
    // Another resource is its own request.
    const storage = bounded.getToken("https://storage.azure.com/.default");
    expect(calls).toBe(2);
    answer({ token: "s", expiresOnTimestamp: Date.now() + 60_000 });
    expect((await storage)?.token).toBe("s");
    // A token that expires within two minutes is asked for again.
    const again = bounded.getToken("https://storage.azure.com/.default");
    expect(calls).toBe(3);
    answer({ token: "s2", expiresOnTimestamp: Date.now() + 3_600_000 });
    expect((await again)?.token).toBe("s2");
  });

  it("the caller's abort stays an abort, not an identity failure", async () => {
    const bounded = new BoundedCredential(new Stuck(), app, false);
    const abort = new AbortController();
    const p = bounded.getToken("s", { abortSignal: abort.signal }).catch((e: unknown) => e);
    abort.abort();
    const e = await p;
    expect(e).not.toBeInstanceOf(CredentialFailure);
  });

  it("reads the managed identity's failure by MSAL's codes: no answer, an unknown client id, another refusal; nobody signed in", () => {
    expect(classifyTokenError(miError({ errorCode: "network_error" }), app, false).reason).toBe(
      "unreachable",
    );
    expect(classifyTokenError(miError({ status: 400, errorCode: "" }), assigned, false).reason).toBe(
      "not-assigned",
    );
    expect(classifyTokenError(miError({ status: 500 }), app, false).reason).toBe("refused");
    const unavailable = (message: string) =>
      Object.assign(new Error(message), { name: "CredentialUnavailableError" });
    const aggregate = Object.assign(new Error("ChainedTokenCredential authentication failed."), {
      name: "AggregateAuthenticationError",
      errors: [
        unavailable("EnvironmentCredential is unavailable."),
        unavailable("Azure CLI could not be found."),
      ],
    });
    const op = classifyTokenError(aggregate, { credential: "the operator's sign-in" }, true);
    expect(op).toMatchObject({
      reason: "not-signed-in",
      detail: expect.stringContaining("Azure CLI could not be found"),
    });
    // The managed identity tried inside the operator's chain: its failure is the one named.
    const withMi = { ...aggregate, errors: [...aggregate.errors, miError({ errorCode: "network_error" })] };
    expect(classifyTokenError(withMi, { credential: "the operator's sign-in" }, true).reason).toBe(
      "unreachable",
    );
  });

  it("a call that had no token is diagnosed as the identity's failure, never as the service's unknown answer", () => {
    const failure = new CredentialFailure({ ...app, reason: "unreachable", detail: "network_error" });
    // SDKs may wrap what the credential threw.
    const wrapped = Object.assign(new Error("request failed"), { cause: failure });
    for (const e of [failure, wrapped]) {
      const f = toAzureFailure(e, "storage");
      expect(f.identity?.reason).toBe("unreachable");
      const d = diagnose(f, { caller: "function" });
      expect(d.code).toBe("IdentityUnavailable");
      expect(d.cause).toContain("Storage was never called");
    }
    const notAssigned = diagnose(
      toAzureFailure(
        new CredentialFailure({ ...assigned, reason: "not-assigned", detail: "400" }),
        "keyvault",
      ),
      { caller: "function" },
    );
    expect(notAssigned.code).toBe("IdentityNotAssigned");
    expect(notAssigned.cause).toContain("0000-wrong");
    const nobody = diagnose(
      toAzureFailure(new CredentialFailure({ credential: "x", reason: "not-signed-in", detail: "" }), "arm"),
      { caller: "operator" },
    );
    expect([nobody.code, nobody.fix]).toEqual(["NotSignedIn", expect.stringContaining("az login")]);
  });

  it("its message holds no word that makes Storage's retry policy try again (a missing token is not worth four more tries)", () => {
    // @azure/storage-common's StorageRetryPolicy retries an error whose name or message contains one of these.
    const retried = [
      "ETIMEDOUT",
      "ESOCKETTIMEDOUT",
      "ECONNREFUSED",
      "ECONNRESET",
      "ENOENT",
      "ENOTFOUND",
      "TIMEOUT",
      "EPIPE",
      "REQUEST_SEND_ERROR",
    ];
    for (const reason of ["unreachable", "not-assigned", "refused", "slow", "not-signed-in"] as const) {
      const e = new CredentialFailure({
        ...app,
        reason,
        detail: "connect ECONNREFUSED 127.0.0.1:1 (timeout)",
      });
      const text = `${e.name} ${e.message}`.toUpperCase();
      expect(retried.filter((w) => text.includes(w))).toEqual([]);
    }
  });

  it("the operator signs in as the operator: a managed identity only where the environment names its endpoint, never a VM's found by probing; AZURE_TOKEN_CREDENTIALS is an explicit choice (issue 21)", () => {
    const names = (env: Record<string, string>) => operatorLinks(env).map((l) => l.name);
    // A jump host's own identity (IMDS, no IDENTITY_ENDPOINT) is not in the chain: az login is used.
    expect(names({})).toEqual([
      "EnvironmentCredential",
      "AzureCliCredential",
      "AzureDeveloperCliCredential",
      "AzurePowerShellCredential",
    ]);
    expect(names({ IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token" })).toContain(
      "ManagedIdentityCredential",
    );
    expect(names({ AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential" })).toEqual([
      "DefaultAzureCredential (AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential)",
    ]);
  });
});
