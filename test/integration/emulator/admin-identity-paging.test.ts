import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { identityCredential, kvOptions, rawCall, startTestStack } from "../helpers.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
});
afterAll(async () => {
  await stack?.stop();
});

const adminApi = (path: string, method = "GET", body?: unknown, token = stack.admin.token) =>
  rawCall(`${stack.admin.url}${path}`, { method, token, ...(body !== undefined ? { body } : {}) });

describe("the managed-identity endpoint speaks the App Service protocol", () => {
  const get = (query: string, header: string = stack.identity.header) =>
    rawCall(
      `${stack.identity.endpoint}?${query}`,
      header ? { headers: { "x-identity-header": header } } : {},
    );

  it("issues tokens for the system-assigned identity and user-assigned ones by client_id", async () => {
    const system = await get("api-version=2019-08-01&resource=https://vault.azure.net");
    expect(system.status).toBe(200);
    const body = system.json as {
      access_token: string;
      expires_on: string;
      resource: string;
      token_type: string;
      client_id: string;
    };
    expect(body).toMatchObject({
      resource: "https://vault.azure.net",
      token_type: "Bearer",
      client_id: stack.identities.app.clientId,
    });
    expect(Number(body.expires_on)).toBeGreaterThan(Date.now() / 1000);
    const claims = JSON.parse(Buffer.from(body.access_token.split(".")[1] as string, "base64url").toString());
    expect(claims).toMatchObject({
      aud: "https://vault.azure.net",
      oid: stack.identities.app.principalId,
      iss: `https://sts.windows.net/${stack.identity.tenantId}/`,
    });
    const user = await get(
      `api-version=2019-08-01&resource=https://storage.azure.com&client_id=${stack.identities.admin.clientId}`,
    );
    expect((user.json as { client_id: string }).client_id).toBe(stack.identities.admin.clientId);
  });

  it("refuses a missing secret header, a wrong api-version, a missing resource, an unknown identity", async () => {
    expect((await get("api-version=2019-08-01&resource=x", "")).status).toBe(401);
    expect((await get("api-version=2017-09-01&resource=x")).status).toBe(400);
    expect((await get("api-version=2019-08-01")).status).toBe(400);
    const unknown = await get(
      "api-version=2019-08-01&resource=x&client_id=00000000-0000-0000-0000-000000000000",
    );
    expect(unknown.status).toBe(400);
    expect((unknown.json as { message: string }).message).toContain("No User Assigned");
  });
});

describe("the admin API drives the stack from another process", () => {
  it("needs the admin token", async () => {
    expect((await adminApi("/vaults", "GET", undefined, "wrong")).status).toBe(401);
  });

  it("creates a vault, seeds it, assigns a role, throttles, counts, and adds storage rules", async () => {
    const created = await adminApi("/vaults", "POST", {
      name: "admin-made",
      options: { limits: { perTenSeconds: 2 } },
    });
    const { url } = created.json as { url: string };
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const seeded = await adminApi("/vaults/admin-made/invoke", "POST", {
      method: "PUT",
      path: "/secrets/s1",
      body: { value: "v" },
    });
    expect((seeded.json as { status: number }).status).toBe(200);
    const user = (await adminApi("/identities", "POST", { name: "via-admin" })).json as {
      clientId: string;
      principalId: string;
    };
    expect(
      (
        await adminApi("/vaults/admin-made/roles", "POST", {
          principalId: user.principalId,
          role: "Key Vault Secrets User",
        })
      ).status,
    ).toBe(200);
    const client = new SecretClient(url, identityCredential(user.clientId), kvOptions);
    expect((await client.getSecret("s1")).value).toBe("v");
    await client.getSecret("s1").catch(() => undefined);
    await client.getSecret("s1").catch(() => undefined);
    const stats = (await adminApi("/vaults/admin-made/stats")).json as {
      throttled: number;
      byOperation: Record<string, number>;
    };
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.byOperation.GetSecret).toBeGreaterThanOrEqual(3);
    expect(
      (await adminApi("/storage/blob/rules", "POST", { operation: "PutBlob", fault: "AuthorizationFailure" }))
        .status,
    ).toBe(200);
    expect(stack.proxies.blob.listRules()).toHaveLength(1);
    await adminApi("/storage/blob/rules", "DELETE");
    expect(stack.proxies.blob.listRules()).toHaveLength(0);
    expect((await adminApi("/vaults/nope/stats")).status).toBe(400);
  });
});

describe("paging through the SDK", () => {
  it("follows nextLink across full and short pages and returns every item once", async () => {
    await stack.emulator.createVault("paging-vault", { shortPages: true });
    stack.emulator.assignRole("paging-vault", {
      principalId: stack.identities.admin.principalId,
      role: "Key Vault Administrator",
    });
    for (let i = 0; i < 80; i++)
      stack.emulator.call("paging-vault", "PUT", `/secrets/item-${String(i).padStart(3, "0")}`, {
        value: "x",
      });
    stack.emulator.resetStats("paging-vault");
    const client = new SecretClient(
      stack.emulator.vault("paging-vault").baseUrl,
      identityCredential(stack.identities.admin.clientId),
      kvOptions,
    );
    const names: string[] = [];
    for await (const s of client.listPropertiesOfSecrets()) names.push(s.name);
    expect(names).toHaveLength(80);
    expect(new Set(names).size).toBe(80);
    expect(names).toEqual([...names].sort());
    // Short pages: more than the 4 pages that 25 per page would need (12, 21, 18, 19, 2 and 8).
    expect(stack.emulator.stats("paging-vault").byOperationStatus["GetSecrets 200"]).toBe(6);
  });
});
