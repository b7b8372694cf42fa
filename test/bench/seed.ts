import type { KeyVaultEmulator } from "../stack/keyvault/emulator.js";

/** A realistic mix: 70 % secrets, 20 % keys, 10 % certificates (each with its managed key and secret). */
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
  for (let i = 0; i < certificates; i++) {
    emulator.call(vault, "POST", `/certificates/cert-${pad(i)}/create`, {
      policy: {
        key_props: { kty: "RSA", key_size: 2048, reuse_key: false, exportable: true },
        secret_props: { contentType: "application/x-pem-file" },
        x509_props: { subject: `CN=cert-${i}`, validity_months: 12 },
        issuer: { name: "Self" },
      },
    });
  }
  return { secrets, keys, certificates };
}
