import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { appCredential, identityCredential, kvOptions, rawCall, startTestStack } from "../helpers.js";

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

describe("backup and restore semantics", () => {
  it("backup blobs are opaque: length byte + tag + JWE with RSA-OAEP-256 / A256CBC-HS512", async () => {
    const blob = Buffer.from((await admin.backupSecret("feature-flags")) as Uint8Array);
    const len = blob[0] as number;
    const jwe = blob
      .subarray(1 + len)
      .toString("ascii")
      .split(".");
    expect(jwe).toHaveLength(5);
    const header = JSON.parse(Buffer.from(jwe[0] as string, "base64url").toString("utf8"));
    expect(header).toMatchObject({ alg: "RSA-OAEP-256", enc: "A256CBC-HS512" });
    expect(header.kid).toMatch(/^[0-9a-f-]{36}$/);
    expect(blob.toString("latin1")).not.toContain("beta");
  });

  it("restoring over a soft-deleted name is a 409 ObjectIsDeletedButRecoverable", async () => {
    const blob = (await admin.backupSecret("expiring-token")) as Uint8Array;
    await (await admin.beginDeleteSecret("expiring-token")).pollUntilDone();
    const r = await rawCall(`${stack.vaults.demo.url}/secrets/restore?api-version=2025-07-01`, {
      method: "POST",
      token: stack.identity.mint(stack.identities.admin, "https://vault.azure.net"),
      body: { value: Buffer.from(blob).toString("base64url") },
    });
    expect(r.status).toBe(409);
    expect((r.json as { error: { code: string; innererror: { code: string } } }).error).toMatchObject({
      code: "Conflict",
      innererror: { code: "ObjectIsDeletedButRecoverable" },
    });
    await admin.purgeDeletedSecret("expiring-token");
    const restored = await admin.restoreSecretBackup(blob);
    expect(restored.name).toBe("expiring-token");
  });

  it("a purge still in progress holds the name: restore gets a plain Conflict, then succeeds", async () => {
    stack.emulator.setTiming("demo-vault", { purgeMs: 300 });
    try {
      const blob = (await admin.backupSecret("old-smtp-relay")) as Uint8Array;
      await (await admin.beginDeleteSecret("old-smtp-relay")).pollUntilDone();
      await admin.purgeDeletedSecret("old-smtp-relay");
      const err = (await admin.restoreSecretBackup(blob).catch((e: unknown) => e)) as {
        statusCode: number;
        code: string;
        message: string;
      };
      expect(err.statusCode).toBe(409);
      expect(err.code).toBe("Conflict");
      expect(err.message).toContain("There was a conflict restoring the secret");
      // The purge finishes: the vault's clock moves past it (no waiting on ours).
      stack.emulator.setTiming("demo-vault", { aheadMs: 350 });
      expect((await admin.restoreSecretBackup(blob)).name).toBe("old-smtp-relay");
    } finally {
      stack.emulator.setTiming("demo-vault", { purgeMs: 0, aheadMs: 0 });
    }
  });

  it("deletion is eventually consistent when asked: GET deleted 404s and create 409s ObjectIsBeingDeleted", async () => {
    stack.emulator.setTiming("demo-vault", { deleteMs: 400 });
    try {
      await admin.setSecret("slow-delete", "x");
      const poller = await admin.beginDeleteSecret("slow-delete");
      await expect(admin.getDeletedSecret("slow-delete")).rejects.toMatchObject({ statusCode: 404 });
      const err = (await admin.setSecret("slow-delete", "y").catch((e: unknown) => e)) as {
        statusCode: number;
        message: string;
      };
      expect(err.statusCode).toBe(409);
      expect(err.message).toContain("is currently being deleted");
      expect((await poller.pollUntilDone()).name).toBe("slow-delete");
    } finally {
      stack.emulator.setTiming("demo-vault", { deleteMs: 0 });
    }
  });

  it("a vault in another security world cannot decrypt the backup", async () => {
    const { url } = await stack.emulator.createVault("far-away-vault", {
      securityWorld: "other-geo",
      location: "australiaeast",
    });
    stack.emulator.assignRole("far-away-vault", {
      principalId: stack.identities.admin.principalId,
      role: "Key Vault Administrator",
    });
    const blob = (await admin.backupSecret("feature-flags")) as Uint8Array;
    const far = new SecretClient(url, identityCredential(stack.identities.admin.clientId), kvOptions);
    await expect(far.restoreSecretBackup(blob)).rejects.toMatchObject({
      statusCode: 400,
      code: "BadParameter",
      message: "Cannot decrypt backup blob.",
    });
  });

  it("a tampered or foreign blob is refused", async () => {
    const blob = Buffer.from((await admin.backupSecret("feature-flags")) as Uint8Array);
    blob[blob.length - 3] = blob[blob.length - 3] === 65 ? 66 : 65;
    await expect(admin.restoreSecretBackup(blob)).rejects.toMatchObject({ statusCode: 400 });
    const keyBlob = (await new KeyClient(stack.vaults.demo.url, appCredential(), kvOptions).backupKey(
      "signing-key-p256",
    )) as Uint8Array;
    await expect(admin.restoreSecretBackup(keyBlob)).rejects.toMatchObject({
      statusCode: 400,
      code: "BadParameter",
    });
  });

  it("an object over the version limit cannot be backed up", async () => {
    stack.emulator.vault("demo-vault").config.maxBackupVersions = 5;
    try {
      for (let i = 0; i < 6; i++)
        stack.emulator.call("demo-vault", "PUT", "/secrets/many-versions", { value: `v${i}` });
      const app = new SecretClient(stack.vaults.demo.url, appCredential(), kvOptions);
      const err = (await app.backupSecret("many-versions").catch((e: unknown) => e)) as {
        statusCode: number;
        message: string;
      };
      expect(err.statusCode).toBe(400);
      expect(err.message).toContain("more than 5 versions");
      expect((await app.backupSecret("rotated-api-key")) as Uint8Array).toBeInstanceOf(Uint8Array);
    } finally {
      stack.emulator.vault("demo-vault").config.maxBackupVersions = 500;
    }
  });
});
