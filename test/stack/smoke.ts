import { DefaultAzureCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { BlobServiceClient } from "@azure/storage-blob";
import { installNetworkGuard } from "../setup/networkGuard.js";

/**
 * What another process can do with nothing but .local/stack.env in its environment:
 *   set -a; . .local/stack.env; set +a; npx tsx test/stack/smoke.ts
 * Prints one JSON line with what it saw.
 */
installNetworkGuard();
const need = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: source .local/stack.env first`);
  return v;
};
const vaultUrl = (setting: string): string =>
  need(setting).split(",")[0]?.split("=").slice(1).join("=") ?? "";
const demo = vaultUrl("BACKUP_VAULTS");
const target = vaultUrl("RESTORE_TARGET_VAULTS");
const credential = new DefaultAzureCredential();
// Loopback vaults are not *.vault.azure.net: only there is the challenge's resource check turned off.
const options = { disableChallengeResourceVerification: true, serviceVersion: "2025-07-01" } as const;

const secrets = new SecretClient(demo, credential, options);
const names: string[] = [];
for await (const s of secrets.listPropertiesOfSecrets()) if (!s.managed) names.push(s.name);
const secretName = names.find((n) => n.startsWith("billing")) ?? (names[0] as string);
await new SecretClient(target, credential, options).restoreSecretBackup(
  (await secrets.backupSecret(secretName)) as Uint8Array,
);
const keys = new KeyClient(demo, credential, options);
let keyName = "";
for await (const k of keys.listPropertiesOfKeys())
  if (!k.managed) {
    keyName = k.name;
    break;
  }
await new KeyClient(target, credential, options).restoreKeyBackup(
  (await keys.backupKey(keyName)) as Uint8Array,
);
const certs = new CertificateClient(demo, credential, options);
let certName = "";
for await (const c of certs.listPropertiesOfCertificates()) {
  certName = c.name ?? "";
  break;
}
await new CertificateClient(target, credential, options).restoreCertificateBackup(
  (await certs.backupCertificate(certName)) as Uint8Array,
);

const blobs = new BlobServiceClient(need("BACKUP_STORAGE__blobServiceUri"), credential);
const container = blobs.getContainerClient(need("BACKUP_CONTAINER"));
await container.createIfNotExists();
await container.getBlockBlobClient(`manual/smoke/${Date.now()}.txt`).uploadData(Buffer.from("hello"));

const challenge = await fetch(`${demo}/secrets?api-version=2025-07-01`);
const admin = { authorization: `Bearer ${need("STACK_ADMIN_TOKEN")}`, "content-type": "application/json" };
await fetch(`${need("STACK_ADMIN_URL")}/vaults/demo-vault/limits`, {
  method: "PATCH",
  headers: admin,
  body: JSON.stringify({ perTenSeconds: 10 }),
});
const token = await credential.getToken("https://vault.azure.net/.default");
const burst = await Promise.all(
  Array.from({ length: 30 }, () =>
    fetch(`${demo}/secrets?api-version=2025-07-01`, {
      headers: { authorization: `Bearer ${token?.token}` },
    }).then((r) => r.status),
  ),
);
await fetch(`${need("STACK_ADMIN_URL")}/vaults/demo-vault/limits`, {
  method: "PATCH",
  headers: admin,
  body: JSON.stringify({ perTenSeconds: 4000 }),
});
console.log(
  JSON.stringify({
    listed: names.length,
    restored: { secret: secretName, key: keyName, certificate: certName },
    blobWritten: true,
    challenge: { status: challenge.status, wwwAuthenticate: challenge.headers.get("www-authenticate") },
    throttled: burst.filter((s) => s === 429).length,
  }),
);
