import { createHash } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import type { VaultRef } from "../domain/config.js";
import type { ObjectFacts } from "../domain/drillRecord.js";
import { KvBackupError } from "../domain/errors.js";
import type { RateBudget } from "../domain/rateBudget.js";
import type { SignalLike } from "../domain/signal.js";
import type { Kind } from "../domain/vocabulary.js";
import { keyVaultClientOptions } from "./clientOptions.js";
import { vaultPolicy } from "./policy.js";
import { vaultCall } from "./vaultAdapter.js";

interface VersionProps {
  version?: string;
  enabled?: boolean;
  contentType?: string;
  updatedOn?: Date;
  createdOn?: Date;
  tags?: Record<string, string>;
}

type Options = { abortSignal?: SignalLike };
const opts = (signal?: SignalLike): Options => (signal ? { abortSignal: signal } : {});
const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString("base64url");
const tagsOf = (t?: Record<string, string>) => (t && Object.keys(t).length > 0 ? { tags: t } : {});

/** RFC 7638: the SHA-256 of the public key's required members, in order, as JSON. */
export function jwkThumbprint(jwk: {
  kty?: string;
  n?: Uint8Array;
  e?: Uint8Array;
  crv?: string;
  x?: Uint8Array;
  y?: Uint8Array;
}): string | undefined {
  const kty = jwk.kty?.replace(/-HSM$/, "");
  let members: Record<string, string> | undefined;
  if (kty === "RSA" && jwk.n && jwk.e) members = { e: b64url(jwk.e), kty: "RSA", n: b64url(jwk.n) };
  else if (kty === "EC" && jwk.crv && jwk.x && jwk.y)
    members = { crv: jwk.crv, kty: "EC", x: b64url(jwk.x), y: b64url(jwk.y) };
  if (!members) return undefined;
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

/** One kind's calls, as the drill makes them: its versions, its current version with public material, delete, purge. */
interface InspectClient {
  versions(name: string, o: Options): AsyncIterable<VersionProps>;
  /** The current version and its public material, where the kind has any (a secret has none a drill may read). */
  current?(name: string, o: Options): Promise<{ properties: VersionProps; thumbprint?: string | undefined }>;
  beginDelete(name: string, o: Options): Promise<{ pollUntilDone(): Promise<unknown> }>;
  purge(name: string, o: Options): Promise<unknown>;
}

function inspectClients(
  vault: VaultRef,
  credential: TokenCredential,
  budget: RateBudget,
): Record<Kind, InspectClient> {
  const options = {
    ...keyVaultClientOptions(vault.url),
    additionalPolicies: [{ policy: vaultPolicy(budget), position: "perRetry" as const }],
    retryOptions: { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
  };
  const secrets = new SecretClient(vault.url, credential, options);
  const keys = new KeyClient(vault.url, credential, options);
  const certificates = new CertificateClient(vault.url, credential, options);
  return {
    secrets: {
      versions: (name, o) => secrets.listPropertiesOfSecretVersions(name, o),
      beginDelete: (name, o) => secrets.beginDeleteSecret(name, o),
      purge: (name, o) => secrets.purgeDeletedSecret(name, o),
    },
    keys: {
      versions: (name, o) => keys.listPropertiesOfKeyVersions(name, o),
      current: async (name, o) => {
        const key = await keys.getKey(name, o);
        return {
          properties: key.properties,
          thumbprint: key.key ? jwkThumbprint(key.key as never) : undefined,
        };
      },
      beginDelete: (name, o) => keys.beginDeleteKey(name, o),
      purge: (name, o) => keys.purgeDeletedKey(name, o),
    },
    certificates: {
      versions: (name, o) => certificates.listPropertiesOfCertificateVersions(name, o),
      current: async (name, o) => {
        const cert = await certificates.getCertificate(name, o);
        const x5t = cert.properties.x509Thumbprint;
        return { properties: cert.properties, thumbprint: x5t ? b64url(x5t) : undefined };
      },
      beginDelete: (name, o) => certificates.beginDeleteCertificate(name, o),
      purge: (name, o) => certificates.purgeDeletedCertificate(name, o),
    },
  };
}

/**
 * What a restore drill reads of a vault — metadata and public material only: secrets by their
 * versions' properties (never a value), keys by their public key's thumbprint, certificates by
 * x5t — and how it deletes and purges what it restored. Paced by the vault's budget like every
 * other call to the vault.
 */
export class VaultInspector {
  private readonly kinds: Record<Kind, InspectClient>;

  constructor(
    readonly vault: VaultRef,
    credential: TokenCredential,
    budget: RateBudget,
  ) {
    this.kinds = inspectClients(vault, credential, budget);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return vaultCall(this.vault.name, fn);
  }

  /** undefined when the vault has no such object (404). */
  private async orAbsent<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(fn);
    } catch (e) {
      if (e instanceof KvBackupError && e.failure?.status === 404) return undefined;
      throw e;
    }
  }

  private versions(kind: Kind, name: string, signal?: SignalLike): Promise<VersionProps[] | undefined> {
    return this.orAbsent(async () => {
      const out: VersionProps[] = [];
      for await (const v of this.kinds[kind].versions(name, opts(signal))) out.push(v);
      return out;
    });
  }

  async facts(kind: Kind, name: string, signal?: SignalLike): Promise<ObjectFacts | undefined> {
    const versions = await this.versions(kind, name, signal);
    if (!versions || versions.length === 0) return undefined;
    const byCreated = [...versions].sort(
      (a, b) => (a.createdOn?.getTime() ?? 0) - (b.createdOn?.getTime() ?? 0),
    );
    let current: VersionProps = byCreated[byCreated.length - 1] as VersionProps;
    let thumbprint: string | undefined;
    const read = this.kinds[kind].current;
    if (read) {
      const found = await this.orAbsent(() => read(name, opts(signal)));
      if (!found) return undefined;
      current = found.properties;
      thumbprint = found.thumbprint;
    }
    return {
      enabled: current.enabled !== false,
      ...(current.contentType ? { contentType: current.contentType } : {}),
      ...tagsOf(current.tags),
      ...(current.updatedOn ? { updatedOn: current.updatedOn.toISOString() } : {}),
      versions: versions
        .map((v) => ({
          id: v.version ?? "",
          enabled: v.enabled !== false,
          ...(v.contentType ? { contentType: v.contentType } : {}),
          ...(v.updatedOn ? { updatedOn: v.updatedOn.toISOString() } : {}),
        }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
      ...(thumbprint ? { thumbprint } : {}),
    };
  }

  async delete(kind: Kind, name: string, signal?: SignalLike): Promise<boolean> {
    const poller = await this.orAbsent(() => this.kinds[kind].beginDelete(name, opts(signal)));
    if (!poller) return false;
    await this.call(() => poller.pollUntilDone());
    return true;
  }

  async purge(kind: Kind, name: string, signal?: SignalLike): Promise<boolean> {
    // The SDK's purge answers nothing: true once it went through, undefined for a 404 (not deleted).
    const done = await this.orAbsent(async () => {
      await this.kinds[kind].purge(name, opts(signal));
      return true;
    });
    return done === true;
  }
}
