import { CertificateClient, DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { appCredential, identityCredential, kvOptions, startTestStack } from "../helpers.js";

let stack: Stack;
let keys: KeyClient;
let certs: CertificateClient;
let secrets: SecretClient;

beforeAll(async () => {
  stack = await startTestStack();
  const cred = identityCredential(stack.identities.admin.clientId);
  keys = new KeyClient(stack.vaults.demo.url, cred, kvOptions);
  certs = new CertificateClient(stack.vaults.demo.url, cred, kvOptions);
  secrets = new SecretClient(stack.vaults.demo.url, cred, kvOptions);
});
afterAll(async () => {
  await stack?.stop();
});

describe("keys through the real KeyClient", () => {
  it("creates RSA and EC keys with real public material", async () => {
    const rsa = await keys.createRsaKey("rsa-key", { keySize: 3072, tags: { a: "b" } });
    expect(rsa.keyType).toBe("RSA");
    expect(Buffer.from(rsa.key?.n as Uint8Array).length).toBe(384);
    const ec = await keys.createEcKey("ec-key", { curve: "P-384" });
    expect(ec.keyType).toBe("EC");
    expect(ec.key?.crv).toBe("P-384");
    expect(ec.key?.d).toBeUndefined();
    const got = await keys.getKey("rsa-key");
    expect(got.id).toBe(rsa.id);
  });

  it("updates, lists versions, deletes, recovers and purges", async () => {
    const v1 = await keys.createEcKey("life-key");
    await keys.createEcKey("life-key");
    await keys.updateKeyProperties("life-key", v1.properties.version as string, { enabled: false });
    const versions = [];
    for await (const v of keys.listPropertiesOfKeyVersions("life-key")) versions.push(v);
    expect(versions).toHaveLength(2);
    expect(versions.find((v) => v.version === v1.properties.version)?.enabled).toBe(false);
    await (await keys.beginDeleteKey("life-key")).pollUntilDone();
    await expect(keys.createEcKey("life-key")).rejects.toMatchObject({ statusCode: 409 });
    await (await keys.beginRecoverDeletedKey("life-key")).pollUntilDone();
    await (await keys.beginDeleteKey("life-key")).pollUntilDone();
    await keys.purgeDeletedKey("life-key");
    await expect(keys.getDeletedKey("life-key")).rejects.toMatchObject({
      statusCode: 404,
      code: "KeyNotFound",
    });
  });

  it("backs up and restores a key, refusing a certificate-backed key", async () => {
    const app = new KeyClient(stack.vaults.demo.url, appCredential(), kvOptions);
    const blob = await app.backupKey("signing-key-p256");
    const target = new KeyClient(stack.vaults.restore.url, appCredential(), kvOptions);
    const restored = await target.restoreKeyBackup(blob as Uint8Array);
    expect(restored.name).toBe("signing-key-p256");
    expect(restored.id?.startsWith(stack.vaults.restore.url)).toBe(true);
    const err = await app.backupKey("www-contoso-com").catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 403, code: "Forbidden" });
    expect(String((err as Error).message)).toContain(
      'Operation "backup" is not allowed on this Key, since it is associated with a certificate',
    );
  });
});

describe("certificates through the real CertificateClient", () => {
  it("creates a self-signed certificate with its managed key and secret", async () => {
    const poller = await certs.beginCreateCertificate("site-cert", {
      ...DefaultCertificatePolicy,
      subject: "CN=site.example",
      validityInMonths: 6,
    });
    const cert = await poller.pollUntilDone();
    expect(cert.cer?.length).toBeGreaterThan(300);
    expect(cert.properties.x509Thumbprint).toBeDefined();
    expect(cert.policy?.subject).toBe("CN=site.example");
    const key = await keys.getKey("site-cert");
    expect(key.properties.managed).toBe(true);
    const secret = await secrets.getSecret("site-cert");
    expect(secret.properties.managed).toBe(true);
    expect(secret.properties.contentType).toBe("application/x-pkcs12");
    expect(secret.properties.certificateKeyId).toBe(key.id);
    const policy = await certs.getCertificatePolicy("site-cert");
    expect(policy.validityInMonths).toBe(6);
  });

  it("lists certificates, with includePending, and versions", async () => {
    const names = [];
    for await (const c of certs.listPropertiesOfCertificates({ includePending: true })) names.push(c.name);
    expect(names).toEqual(expect.arrayContaining(["www-contoso-com", "api-contoso-com", "mtls-client"]));
    await (await certs.beginCreateCertificate("versioned", DefaultCertificatePolicy)).pollUntilDone();
    await (await certs.beginCreateCertificate("versioned", DefaultCertificatePolicy)).pollUntilDone();
    const versions = [];
    for await (const v of certs.listPropertiesOfCertificateVersions("versioned")) versions.push(v);
    expect(versions).toHaveLength(2);
  });

  it("a certificate still being issued is listed only with includePending", async () => {
    stack.emulator.setTiming("demo-vault", { certificateMs: 60_000 });
    try {
      await certs.beginCreateCertificate("slow-cert", DefaultCertificatePolicy);
      const op = await certs.getCertificateOperation("slow-cert");
      expect(op.getOperationState().certificateOperation?.status).toBe("inProgress");
      const plain = [];
      for await (const c of certs.listPropertiesOfCertificates()) plain.push(c.name);
      const pending = [];
      for await (const c of certs.listPropertiesOfCertificates({ includePending: true }))
        pending.push(c.name);
      expect(plain).not.toContain("slow-cert");
      expect(pending).toContain("slow-cert");
    } finally {
      stack.emulator.setTiming("demo-vault", { certificateMs: 0 });
    }
  });

  it("delete takes the managed key and secret along; recover brings them back", async () => {
    await (await certs.beginCreateCertificate("gone-cert", DefaultCertificatePolicy)).pollUntilDone();
    await (await certs.beginDeleteCertificate("gone-cert")).pollUntilDone();
    await expect(keys.getKey("gone-cert")).rejects.toMatchObject({ statusCode: 404 });
    await expect(secrets.getSecret("gone-cert")).rejects.toMatchObject({ statusCode: 404 });
    const deleted = await certs.getDeletedCertificate("gone-cert");
    expect(deleted.recoveryId).toContain("/deletedcertificates/gone-cert");
    await (await certs.beginRecoverDeletedCertificate("gone-cert")).pollUntilDone();
    expect((await keys.getKey("gone-cert")).properties.managed).toBe(true);
  });

  it("backs up a certificate and restores it with key and secret into another vault", async () => {
    const app = new CertificateClient(stack.vaults.demo.url, appCredential(), kvOptions);
    const blob = (await app.backupCertificate("api-contoso-com")) as Uint8Array;
    const tag = Buffer.from(blob)
      .subarray(1, 1 + (blob[0] ?? 0))
      .toString("ascii");
    expect(tag).toBe("AzureKeyVaultKeyBackupV1.microsoft.com");
    const target = new CertificateClient(stack.vaults.restore.url, appCredential(), kvOptions);
    const restored = await target.restoreCertificateBackup(blob);
    expect(restored.name).toBe("api-contoso-com");
    expect(restored.policy?.contentType).toBe("application/x-pem-file");
    const admin = identityCredential(stack.identities.admin.clientId);
    const secret = await new SecretClient(stack.vaults.restore.url, admin, kvOptions).getSecret(
      "api-contoso-com",
    );
    expect(secret.value).toContain("-----BEGIN CERTIFICATE-----");
    expect(secret.properties.certificateKeyId?.startsWith(stack.vaults.restore.url)).toBe(true);
    // A certificate blob is not a key blob, although both carry the key tag.
    const keyTarget = new KeyClient(stack.vaults.restore.url, appCredential(), kvOptions);
    await expect(keyTarget.restoreKeyBackup(blob)).rejects.toMatchObject({ statusCode: 400 });
  });
});
