import type { KeyVaultEmulator } from "../stack/keyvault/emulator.js";
import {
  type CertificateVersion,
  current,
  type KeyVersion,
  newVersionId,
  type SecretVersion,
} from "../stack/keyvault/model.js";

/**
 * A realistic mix: 70 % secrets, 20 % keys, 10 % certificates (each with its managed key and
 * secret), seeded through the emulator (no token, no budget) with key material reused.
 */
export function seedBenchVault(
  emulator: KeyVaultEmulator,
  vault: string,
  objects: number,
): { secrets: number; keys: number; certificates: number } {
  emulator.useKeyPool(vault, true);
  const certificates = Math.round(objects * 0.1);
  const keys = Math.round(objects * 0.2);
  const secrets = objects - certificates - keys;
  const pad = (i: number) => String(i).padStart(6, "0");
  for (let i = 0; i < secrets; i++) {
    emulator.call(vault, "PUT", `/secrets/secret-${pad(i)}`, {
      value: `value-${i}-${"x".repeat(64)}`,
      contentType: "text/plain",
      tags: { app: `app-${i % 20}` },
    });
  }
  for (let i = 0; i < keys; i++)
    emulator.call(
      vault,
      "POST",
      `/keys/key-${pad(i)}/create`,
      i % 2 ? { kty: "EC", crv: "P-256" } : { kty: "RSA", key_size: 2048 },
    );
  // Issuing a certificate signs two X.509 structures in pure JS (node-forge, ~50 ms each): the
  // first is issued through the API, the others are copies of it under their own names and
  // versions (their X.509 subject is the first one's), made through the store as issuance would.
  const policy = (i: number) => ({
    key_props: { kty: "RSA", key_size: 2048, reuse_key: false, exportable: true },
    secret_props: { contentType: "application/x-pem-file" },
    x509_props: { subject: `CN=cert-${i}`, validity_months: 12 },
    issuer: { name: "Self" },
  });
  if (certificates > 0) {
    emulator.call(vault, "POST", `/certificates/cert-${pad(0)}/create`, { policy: policy(0) });
    const v = emulator.vault(vault);
    v.settle(Date.now() + 60_000);
    const name0 = `cert-${pad(0)}`;
    const cert0 = v.certificates.require(name0);
    const c = current(cert0) as CertificateVersion;
    const k = current(v.keys.require(name0)) as KeyVersion;
    const sv = current(v.secrets.require(name0)) as SecretVersion;
    for (let i = 1; i < certificates; i++) {
      const name = `cert-${pad(i)}`;
      const version = newVersionId();
      const now = Math.floor(Date.now() / 1000);
      const attrs = { ...c.attributes, created: now, updated: now };
      const cert = v.certificates.ensure(name);
      if (cert0.policy) cert.policy = cert0.policy;
      if (cert0.operation) {
        const { complete: _done, ...op } = cert0.operation;
        cert.operation = { ...op, version, requestId: newVersionId() };
      }
      cert.versions.push({ ...c, version, attributes: attrs });
      v.keys.addVersion(
        name,
        { ...k, version, attributes: { ...k.attributes, created: now, updated: now } },
        true,
      );
      v.secrets.addVersion(
        name,
        {
          ...sv,
          version,
          kid: `${v.baseUrl}/keys/${name}/${version}`,
          attributes: { ...sv.attributes, created: now, updated: now },
        },
        true,
      );
    }
  }
  return { secrets, keys, certificates };
}

/**
 * Changes `count` objects so that a listing shows it (the incremental run must back them up
 * again): new secret versions, a changed content type, changed key and certificate tags, spread
 * over the vault. Names match seedBenchVault's. Returns what was changed, by kind.
 */
export function churnBenchVault(
  emulator: KeyVaultEmulator,
  vault: string,
  seeded: { secrets: number; keys: number; certificates: number },
  count: number,
): { secrets: number; keys: number; certificates: number; names: string[] } {
  const pad = (i: number) => String(i).padStart(6, "0");
  const spread = (n: number, of: number) => Array.from({ length: n }, (_, j) => Math.floor((j * of) / n));
  const certificates = Math.min(seeded.certificates, Math.round(count * 0.1));
  const keys = Math.min(seeded.keys, Math.round(count * 0.2));
  const secrets = Math.min(seeded.secrets, count - certificates - keys);
  const names: string[] = [];
  spread(secrets, seeded.secrets).forEach((i, j) => {
    const name = `secret-${pad(i)}`;
    if (j % 2 === 0)
      emulator.call(vault, "PUT", `/secrets/${name}`, {
        value: `rotated-${i}-${"y".repeat(64)}`,
        contentType: "text/plain",
        tags: { app: `app-${i % 20}` },
      });
    else emulator.call(vault, "PATCH", `/secrets/${name}`, { contentType: "application/json" });
    names.push(`secrets/${name}`);
  });
  for (const i of spread(keys, seeded.keys)) {
    emulator.call(vault, "PATCH", `/keys/key-${pad(i)}`, { tags: { rotated: "true" } });
    names.push(`keys/key-${pad(i)}`);
  }
  for (const i of spread(certificates, seeded.certificates)) {
    emulator.call(vault, "PATCH", `/certificates/cert-${pad(i)}`, { tags: { owner: "team-x" } });
    names.push(`certificates/cert-${pad(i)}`);
  }
  return { secrets, keys, certificates, names };
}
