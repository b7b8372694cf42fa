import type { KeyVaultEmulator } from "./keyvault/emulator.js";

export interface SeedSummary {
  secrets: number;
  keys: number;
  certificates: number;
  /** Keys and secrets that belong to certificates (managed: true). */
  managed: number;
}

const certificatePolicy = (subject: string, contentType: string) => ({
  policy: {
    key_props: { kty: "RSA", key_size: 2048, exportable: true, reuse_key: false },
    secret_props: { contentType },
    x509_props: { subject, sans: { dns_names: [subject.replace(/^CN=/, "")] }, validity_months: 12 },
    issuer: { name: "Self" },
  },
});

/**
 * The demo vault: secrets (some disabled, some with several versions, content types and tags),
 * RSA and EC keys, and certificates with their managed key and secret.
 */
export function seedDemoVault(emulator: KeyVaultEmulator, vault: string): SeedSummary {
  const call = (method: string, path: string, body?: unknown): unknown =>
    emulator.call(vault, method, path, body);
  const apps = ["billing", "orders", "search", "identity", "payments", "reports"];
  const envs = ["dev", "test", "prod"];
  let secrets = 0;
  for (const app of apps) {
    for (const env of envs) {
      const name = `${app}-${env}-db-password`;
      call("PUT", `/secrets/${name}`, {
        value: `pw-${app}-${env}-v1`,
        contentType: "text/plain",
        tags: { app, env },
      });
      if (env === "prod")
        call("PUT", `/secrets/${name}`, {
          value: `pw-${app}-${env}-v2`,
          contentType: "text/plain",
          tags: { app, env, rotated: "true" },
        });
      secrets++;
    }
  }
  for (const [i, name] of ["legacy-ftp-password", "old-smtp-relay", "retired-api-token"].entries()) {
    call("PUT", `/secrets/${name}`, {
      value: `disabled-${i}`,
      attributes: { enabled: false },
      tags: { status: "retired" },
    });
    secrets++;
  }
  call("PUT", "/secrets/storage-connection-string", {
    value: "DefaultEndpointsProtocol=https;AccountName=demo",
    contentType: "application/x-connection-string",
  });
  call("PUT", "/secrets/feature-flags", {
    value: JSON.stringify({ beta: true }),
    contentType: "application/json",
    tags: { owner: "platform" },
  });
  call("PUT", "/secrets/expiring-token", {
    value: "t0k3n",
    attributes: { exp: Math.floor(Date.now() / 1000) + 30 * 86400 },
  });
  for (let v = 1; v <= 5; v++)
    call("PUT", "/secrets/rotated-api-key", { value: `api-key-v${v}`, tags: { rotation: `v${v}` } });
  secrets += 4;

  const keys = [
    { name: "data-encryption-key", body: { kty: "RSA", key_size: 2048, tags: { purpose: "dek" } } },
    { name: "signing-key-rsa3072", body: { kty: "RSA", key_size: 3072 } },
    { name: "signing-key-p256", body: { kty: "EC", crv: "P-256", key_ops: ["sign", "verify"] } },
    { name: "signing-key-p384", body: { kty: "EC", crv: "P-384" } },
    { name: "disabled-key", body: { kty: "EC", crv: "P-256", attributes: { enabled: false } } },
  ];
  for (const k of keys) call("POST", `/keys/${k.name}/create`, k.body);
  call("POST", "/keys/data-encryption-key/create", {
    kty: "RSA",
    key_size: 2048,
    tags: { purpose: "dek", rotated: "true" },
  });

  const certs = [
    { name: "www-contoso-com", body: certificatePolicy("CN=www.contoso.com", "application/x-pkcs12") },
    { name: "api-contoso-com", body: certificatePolicy("CN=api.contoso.com", "application/x-pem-file") },
    {
      name: "mtls-client",
      body: { ...certificatePolicy("CN=mtls-client", "application/x-pkcs12"), tags: { team: "platform" } },
    },
  ];
  for (const c of certs) call("POST", `/certificates/${c.name}/create`, c.body);

  return { secrets, keys: keys.length, certificates: certs.length, managed: certs.length * 2 };
}
