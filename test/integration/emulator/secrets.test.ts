import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { appCredential, identityCredential, kvOptions, startTestStack } from "../helpers.js";

let stack: Stack;
let admin: SecretClient;

beforeAll(async () => {
  stack = await startTestStack();
  admin = new SecretClient(
    stack.vaults.demo.url,
    identityCredential(stack.identities.admin.clientId),
    kvOptions,
  );
});
afterAll(async () => {
  await stack?.stop();
});

describe("secrets through the real SecretClient and DefaultAzureCredential", () => {
  it("sets, gets, updates and lists versions", async () => {
    const set = await admin.setSecret("conn-string", "v1", { contentType: "text/plain", tags: { app: "x" } });
    expect(set.value).toBe("v1");
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/);
    await admin.setSecret("conn-string", "v2");
    const got = await admin.getSecret("conn-string");
    expect(got.value).toBe("v2");
    const first = await admin.getSecret("conn-string", { version: set.properties.version as string });
    expect(first.value).toBe("v1");
    const updated = await admin.updateSecretProperties("conn-string", set.properties.version as string, {
      enabled: false,
      tags: { app: "y" },
    });
    expect(updated.enabled).toBe(false);
    expect(updated.tags).toEqual({ app: "y" });
    const versions = [];
    for await (const v of admin.listPropertiesOfSecretVersions("conn-string")) versions.push(v);
    expect(versions).toHaveLength(2);
    expect(versions.map((v) => v.version).sort()).toEqual(
      [set.properties.version, got.properties.version].sort(),
    );
  });

  it("lists the seeded secrets with managed ones flagged", async () => {
    const items = [];
    for await (const s of admin.listPropertiesOfSecrets()) items.push(s);
    const managed = items
      .filter((s) => s.managed)
      .map((s) => s.name)
      .sort();
    expect(managed).toEqual(["api-contoso-com", "mtls-client", "www-contoso-com"]);
    expect(items.find((s) => s.name === "legacy-ftp-password")?.enabled).toBe(false);
    expect(items.find((s) => s.name === "feature-flags")?.contentType).toBe("application/json");
  });

  it("names are case-insensitive like the service", async () => {
    await admin.setSecret("Case-Test", "x");
    expect((await admin.getSecret("case-test")).value).toBe("x");
  });

  it("deletes softly, then recovers, then purges", async () => {
    await admin.setSecret("to-delete", "bye");
    const poller = await admin.beginDeleteSecret("to-delete");
    const deleted = await poller.pollUntilDone();
    expect(deleted.recoveryId).toBe(`${stack.vaults.demo.url}/deletedsecrets/to-delete`);
    await expect(admin.setSecret("to-delete", "again")).rejects.toMatchObject({ statusCode: 409 });
    const listed = [];
    for await (const d of admin.listDeletedSecrets()) listed.push(d.name);
    expect(listed).toContain("to-delete");
    await (await admin.beginRecoverDeletedSecret("to-delete")).pollUntilDone();
    expect((await admin.getSecret("to-delete")).value).toBe("bye");
    await (await admin.beginDeleteSecret("to-delete")).pollUntilDone();
    await admin.purgeDeletedSecret("to-delete");
    await expect(admin.getDeletedSecret("to-delete")).rejects.toMatchObject({
      statusCode: 404,
      code: "SecretNotFound",
    });
    await admin.setSecret("to-delete", "fresh");
  });

  it("backs up with the least-privilege app identity and restores into the other vault without a value", async () => {
    const app = new SecretClient(stack.vaults.demo.url, appCredential(), kvOptions);
    const backup = await app.backupSecret("rotated-api-key");
    expect(backup).toBeInstanceOf(Uint8Array);
    const tag = Buffer.from(backup as Uint8Array)
      .subarray(1, 1 + ((backup as Uint8Array)[0] ?? 0))
      .toString("ascii");
    expect(tag).toBe("AzureKeyVaultSecretBackupV1.microsoft.com");
    await expect(app.getSecret("rotated-api-key")).rejects.toMatchObject({ statusCode: 403 });
    const target = new SecretClient(stack.vaults.restore.url, appCredential(), kvOptions);
    const restored = await target.restoreSecretBackup(backup as Uint8Array);
    expect(restored.name).toBe("rotated-api-key");
    const adminTarget = new SecretClient(
      stack.vaults.restore.url,
      identityCredential(stack.identities.admin.clientId),
      kvOptions,
    );
    expect((await adminTarget.getSecret("rotated-api-key")).value).toBe("api-key-v5");
    const versions = [];
    for await (const v of adminTarget.listPropertiesOfSecretVersions("rotated-api-key")) versions.push(v);
    expect(versions).toHaveLength(5);
    await expect(target.restoreSecretBackup(backup as Uint8Array)).rejects.toMatchObject({
      statusCode: 409,
      code: "Conflict",
    });
  });
});
