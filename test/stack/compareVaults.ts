import { DefaultAzureCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { keyVaultClientOptions } from "../../src/keyvault/clientOptions.js";

interface Seen {
  versions: string[];
  enabled: boolean | undefined;
  contentType: string | undefined;
  tags: string;
}

type Props = {
  name?: string;
  version?: string;
  enabled?: boolean;
  contentType?: string;
  tags?: Record<string, string>;
};

/** What a restore must bring back, read with list rights only: every object's versions, enabled flag, content type and tags. */
async function snapshot(url: string): Promise<Map<string, Seen>> {
  const credential = new DefaultAzureCredential();
  const options = keyVaultClientOptions(url);
  const secrets = new SecretClient(url, credential, options);
  const keys = new KeyClient(url, credential, options);
  const certificates = new CertificateClient(url, credential, options);
  const out = new Map<string, Seen>();
  const add = async (
    kind: string,
    items: AsyncIterable<Props>,
    versions: (name: string) => AsyncIterable<Props>,
  ) => {
    for await (const p of items) {
      if (!p.name) continue;
      const all: string[] = [];
      for await (const v of versions(p.name)) if (v.version) all.push(v.version);
      const tags = Object.entries(p.tags ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
      out.set(`${kind}/${p.name}`, {
        versions: all.sort(),
        enabled: p.enabled,
        contentType: p.contentType,
        tags: JSON.stringify(tags),
      });
    }
  };
  await add("secrets", secrets.listPropertiesOfSecrets(), (n) => secrets.listPropertiesOfSecretVersions(n));
  await add("keys", keys.listPropertiesOfKeys(), (n) => keys.listPropertiesOfKeyVersions(n));
  await add("certificates", certificates.listPropertiesOfCertificates(), (n) =>
    certificates.listPropertiesOfCertificateVersions(n),
  );
  return out;
}

export async function compareVaults(
  a: string,
  b: string,
): Promise<{ total: number; same: number; differences: string[] }> {
  const [left, right] = await Promise.all([snapshot(a), snapshot(b)]);
  const differences: string[] = [];
  for (const [key, l] of left) {
    const r = right.get(key);
    if (!r) differences.push(`${key}: missing from the restored vault`);
    else if (JSON.stringify(l) !== JSON.stringify(r))
      differences.push(`${key}: ${JSON.stringify(l)} vs ${JSON.stringify(r)}`);
  }
  for (const key of right.keys()) if (!left.has(key)) differences.push(`${key}: only in the restored vault`);
  return {
    total: left.size,
    same: left.size - differences.filter((d) => !d.endsWith("only in the restored vault")).length,
    differences,
  };
}
