import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { appCredential, identityCredential, kvOptions, rawCall, startTestStack } from "../helpers.js";

let stack: Stack;
let demo: string;
const appToken = (): string => stack.identity.mint(stack.identity.systemAssigned, "https://vault.azure.net");

beforeAll(async () => {
  stack = await startTestStack();
  demo = stack.vaults.demo.url;
});
afterAll(async () => {
  await stack?.stop();
});

describe("authentication", () => {
  it("answers a request without a token with the real 401 challenge", async () => {
    const r = await rawCall(`${demo}/secrets?api-version=2025-07-01`);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(
      `Bearer authorization="https://login.windows.net/${stack.identity.tenantId}", resource="https://vault.azure.net"`,
    );
    expect(r.json).toEqual({
      error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." },
    });
  });

  it("accepts the SDK's percent-encoded api%2Dversion", async () => {
    const r = await rawCall(`${demo}/secrets?api%2Dversion=7.6`, { token: appToken() });
    expect(r.status).toBe(200);
  });

  it("rejects tokens with the wrong audience, a bad signature, or past their lifetime", async () => {
    const storageToken = stack.identity.mint(stack.identity.systemAssigned, "https://storage.azure.com");
    expect((await rawCall(`${demo}/secrets?api-version=7.6`, { token: storageToken })).status).toBe(401);
    const t = appToken();
    const forged = `${t.slice(0, t.lastIndexOf(".") + 1)}${Buffer.from("nope").toString("base64url")}`;
    expect((await rawCall(`${demo}/secrets?api-version=7.6`, { token: forged })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const expired = stack.identity.mint(stack.identity.systemAssigned, "https://vault.azure.net", {
      iat: now - 7200,
      nbf: now - 7200,
      exp: now - 3600,
    });
    const r = await rawCall(`${demo}/secrets?api-version=7.6`, { token: expired });
    expect(r.status).toBe(401);
    expect((r.json as { error: { code: string } }).error.code).toBe("Unauthorized");
  });

  it("refuses an unsupported api-version with the service's error", async () => {
    const r = await rawCall(`${demo}/secrets?api-version=9.9`, { token: appToken() });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      error: {
        code: "BadParameter",
        message:
          "The specified version (9.9) is not recognized. Consider using the latest supported version (2026-04-01).",
      },
    });
  });
});

describe("api versions", () => {
  it("answers the api-version each current SDK sends by default (secrets 4.12 sends 2026-04-01)", async () => {
    const seen: string[] = [];
    const capture = {
      policy: {
        name: "captureApiVersion",
        sendRequest: (req: { url: string }, next: (r: never) => Promise<unknown>) => {
          seen.push(new URL(req.url).searchParams.get("api-version") ?? "");
          return next(req as never);
        },
      },
      position: "perCall" as const,
    };
    const options = { disableChallengeResourceVerification: true, additionalPolicies: [capture] };
    const secrets = new SecretClient(
      demo,
      identityCredential(stack.identities.admin.clientId),
      options as never,
    );
    await secrets.setSecret("sdk-default-version", "v");
    expect((await secrets.getSecret("sdk-default-version")).value).toBe("v");
    const keys = new KeyClient(demo, identityCredential(stack.identities.admin.clientId), options as never);
    expect((await keys.createRsaKey("sdk-default-version")).name).toBe("sdk-default-version");
    expect(seen).toContain("2026-04-01");
    expect(seen).toContain("2025-07-01");
  });
});

describe("authorization", () => {
  it("RBAC: a principal without roles gets ForbiddenByRbac naming the data action", async () => {
    const client = new SecretClient(demo, identityCredential(stack.identities.none.clientId), kvOptions);
    const err = (await client.backupSecret("feature-flags").catch((e: unknown) => e)) as {
      statusCode: number;
      code: string;
      message: string;
      details?: unknown;
    };
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("Forbidden");
    expect(err.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/backup/action'");
    expect(err.message).toContain(`oid=${stack.identities.none.principalId}`);
    const raw = await rawCall(`${demo}/secrets/feature-flags/backup?api-version=2025-07-01`, {
      method: "POST",
      token: stack.identity.mint(stack.identities.none, "https://vault.azure.net"),
    });
    expect((raw.json as { error: { innererror: { code: string } } }).error.innererror.code).toBe(
      "ForbiddenByRbac",
    );
  });

  it("RBAC: the least-privilege backup role can list and back up but never read a value", async () => {
    const client = new SecretClient(demo, appCredential(), kvOptions);
    const names = [];
    for await (const s of client.listPropertiesOfSecrets()) names.push(s.name);
    expect(names.length).toBeGreaterThan(20);
    await expect(client.getSecret("feature-flags")).rejects.toMatchObject({
      statusCode: 403,
      code: "Forbidden",
    });
    await expect(client.setSecret("x", "y")).rejects.toMatchObject({ statusCode: 403 });
  });

  it("RBAC: an object-scoped assignment covers only that object", async () => {
    const user = stack.identity.addUserAssigned("one-secret-reader");
    stack.emulator.assignRole("demo-vault", {
      principalId: user.principalId,
      role: "Key Vault Secrets User",
      scope: "secrets/feature-flags",
    });
    const client = new SecretClient(demo, identityCredential(user.clientId), kvOptions);
    expect((await client.getSecret("feature-flags")).value).toBe(JSON.stringify({ beta: true }));
    await expect(client.getSecret("expiring-token")).rejects.toMatchObject({ statusCode: 403 });
  });

  it("access-policy vault: a missing permission is AccessDenied", async () => {
    const { url } = await stack.emulator.createVault("policy-vault", { authorization: "accessPolicy" });
    stack.emulator.setAccessPolicy("policy-vault", {
      objectId: stack.identity.systemAssigned.principalId,
      permissions: { secrets: ["list"] },
    });
    const client = new SecretClient(url, appCredential(), kvOptions);
    for await (const _ of client.listPropertiesOfSecrets()) break;
    const r = await rawCall(`${url}/secrets/anything/backup?api-version=2025-07-01`, {
      method: "POST",
      token: appToken(),
    });
    expect(r.status).toBe(403);
    const body = r.json as { error: { code: string; message: string; innererror: { code: string } } };
    expect(body.error.innererror.code).toBe("AccessDenied");
    expect(body.error.message).toMatch(
      /^The user, group or application 'appid=.*' does not have secrets backup permission on key vault 'policy-vault;location=westeurope'/,
    );
  });
});

describe("network rules", () => {
  it("firewall deny gives ForbiddenByFirewall with the client address; an IP rule lets it through", async () => {
    stack.emulator.setNetwork("demo-vault", { defaultAction: "Deny", ipRules: ["10.0.0.0/8"] });
    try {
      const r = await rawCall(`${demo}/secrets?api-version=2025-07-01`, { token: appToken() });
      expect(r.status).toBe(403);
      const body = r.json as { error: { message: string; innererror: { code: string } } };
      expect(body.error.innererror.code).toBe("ForbiddenByFirewall");
      expect(body.error.message).toContain("Client address: 127.0.0.1");
      stack.emulator.setNetwork("demo-vault", { ipRules: ["127.0.0.0/8"] });
      expect((await rawCall(`${demo}/secrets?api-version=2025-07-01`, { token: appToken() })).status).toBe(
        200,
      );
    } finally {
      stack.emulator.setNetwork("demo-vault", { defaultAction: "Allow", ipRules: [] });
    }
  });

  it("public access disabled gives ForbiddenByConnection", async () => {
    stack.emulator.setNetwork("demo-vault", { publicNetworkAccess: "Disabled" });
    try {
      const client = new KeyClient(demo, appCredential(), kvOptions);
      const err = (await client.backupKey("signing-key-p256").catch((e: unknown) => e)) as {
        statusCode: number;
        message: string;
      };
      expect(err.statusCode).toBe(403);
      expect(err.message).toContain("Public network access is disabled");
    } finally {
      stack.emulator.setNetwork("demo-vault", { publicNetworkAccess: "Enabled" });
    }
  });
});
