import { createHash } from "node:crypto";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import type { Manifest } from "../../../src/domain/manifest.js";
import type { Stack } from "../../stack/stack.js";
import { appFor, cliJob, identityCredential, kvOptions, startTestStack } from "../helpers.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("a full backup of demo-vault through the real SDKs", () => {
  let manifest: Manifest;

  it("backs up every object with the least-privilege identity, skips managed ones, writes the manifest last", async () => {
    // Pages shorter than asked for, as the service may send: the engine must follow nextLink, not count.
    stack.emulator.setShortPages("demo-vault", true);
    const a = appFor();
    const r = await runBackup(a, cliJob());
    expect(r.status).toBe("succeeded");
    expect(r.failed).toEqual([]);
    manifest = (await findRun(a, r.runId, "demo-vault")).manifest;
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.status).toBe("succeeded");
    const names = (kind: string) => manifest.items.filter((i) => i.kind === kind).map((i) => i.name);
    expect(names("secrets")).toHaveLength(25);
    expect(names("keys")).toHaveLength(5);
    expect(names("certificates")).toEqual(["api-contoso-com", "mtls-client", "www-contoso-com"]);
    expect(manifest.skipped).toHaveLength(6);
    expect(manifest.skipped.every((s) => s.reason === "managed-by-certificate")).toBe(true);
    expect(manifest.items.find((i) => i.name === "legacy-ftp-password")).toMatchObject({
      enabled: false,
      tags: { status: "retired" },
    });
    expect(manifest.items.find((i) => i.name === "feature-flags")?.contentType).toBe("application/json");
    for (const i of manifest.items) expect(i).not.toHaveProperty("version");
    expect(JSON.stringify(manifest)).not.toContain("pw-billing");
    expect(r.counts.secrets).toEqual({ backedUp: 25, skipped: 3, failed: 0 });
    stack.emulator.setShortPages("demo-vault", false);
    expect(await a.inventory.get(r.runId, "demo-vault")).toMatchObject({
      status: "succeeded",
      runId: r.runId,
      bytes: r.bytes,
      manifest: r.manifestPath,
      manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("every blob's SHA-256 and Content-MD5 match; every blob restores with the raw SDK into an empty vault", async () => {
    const a = appFor();
    const { url } = await stack.emulator.createVault("empty-vault");
    stack.emulator.assignRole("empty-vault", {
      principalId: stack.identities.admin.principalId,
      role: "Key Vault Administrator",
    });
    const cred = identityCredential(stack.identities.admin.clientId);
    const clients = {
      secrets: new SecretClient(url, cred, kvOptions),
      keys: new KeyClient(url, cred, kvOptions),
      certificates: new CertificateClient(url, cred, kvOptions),
    };
    const listed = await a.blobs.list(manifest.items[0]?.blob.replace(/[^/]+\/[^/]+$/, "") as string);
    for (const item of manifest.items) {
      const bytes = await a.blobs.read(item.blob);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(item.sha256);
      expect(bytes.length).toBe(item.bytes);
      expect(listed.get(item.blob)?.object).toMatchObject({
        kind: item.kind,
        name: item.name,
        enabled: item.enabled,
      });
      if (item.kind === "secrets") await clients.secrets.restoreSecretBackup(bytes);
      else if (item.kind === "keys") await clients.keys.restoreKeyBackup(bytes);
      else await clients.certificates.restoreCertificateBackup(bytes);
    }
    expect((await clients.secrets.getSecret("billing-prod-db-password")).value).toBe("pw-billing-prod-v2");
    expect((await clients.secrets.getSecret("www-contoso-com")).properties.managed).toBe(true);
  });

  it("a rerun of a committed runId does nothing again", async () => {
    stack.emulator.resetStats("demo-vault");
    const r = await runBackup(appFor(), { ...cliJob(), runId: manifest.runId });
    expect(r.alreadyCommitted).toBe(true);
    expect(stack.emulator.stats("demo-vault").total).toBe(0);
  });
});
