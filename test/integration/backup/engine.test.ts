import { createHash } from "node:crypto";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import type { Manifest } from "../../../src/backup/manifest.js";
import { newRunId } from "../../../src/backup/runId.js";
import { runVault } from "../../../src/backup/runVault.js";
import { loadConfig } from "../../../src/config.js";
import type { Stack } from "../../stack/stack.js";
import { identityCredential, kvOptions, startTestStack } from "../helpers.js";

let stack: Stack;
const app = () => createApp(loadConfig(process.env));
const job = (vault = "demo-vault") => ({
  runId: newRunId(),
  vault,
  tier: "manual" as const,
  trigger: "cli" as const,
});

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("a full backup of demo-vault", () => {
  let manifest: Manifest;

  it("backs up every object with the least-privilege identity, skips managed ones, writes the manifest last", async () => {
    // Pages shorter than asked for, as the service may send: the engine must follow nextLink, not count.
    stack.emulator.setShortPages("demo-vault", true);
    const a = app();
    const r = await runVault(a.engine, job());
    expect(r.status).toBe("succeeded");
    expect(r.failed).toEqual([]);
    manifest = (await a.store.readManifest(r.manifestPath)) as Manifest;
    expect(manifest.schemaVersion).toBe(1);
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
    expect(JSON.stringify(manifest)).not.toContain("pw-billing");
    expect(r.counts.secrets).toEqual({ backedUp: 25, skipped: 3, failed: 0 });
    stack.emulator.setShortPages("demo-vault", false);
    const row = await a.inventory.get(r.runId, "demo-vault");
    expect(row).toMatchObject({
      status: "succeeded",
      runId: r.runId,
      bytes: r.bytes,
      manifest: r.manifestPath,
    });
  });

  it("every blob's SHA-256 and Content-MD5 match; every blob restores with the raw SDK into an empty vault", async () => {
    const a = app();
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
    for (const item of manifest.items) {
      const bytes = await a.store.read(item.blob);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(item.sha256);
      expect(bytes.length).toBe(item.bytes);
      if (item.kind === "secrets") await clients.secrets.restoreSecretBackup(bytes);
      else if (item.kind === "keys") await clients.keys.restoreKeyBackup(bytes);
      else await clients.certificates.restoreCertificateBackup(bytes);
    }
    expect((await clients.secrets.getSecret("billing-prod-db-password")).value).toBe("pw-billing-prod-v2");
    expect((await clients.secrets.getSecret("www-contoso-com")).properties.managed).toBe(true);
  });

  it("a rerun of a committed runId does nothing again", async () => {
    const a = app();
    stack.emulator.resetStats("demo-vault");
    const r = await runVault(a.engine, { ...job(), runId: manifest.runId });
    expect(r.alreadyCommitted).toBe(true);
    expect(stack.emulator.stats("demo-vault").total).toBe(0);
  });
});
