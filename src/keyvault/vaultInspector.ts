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

/**
 * What a restore drill reads of a vault — metadata and public material only: secrets by their
 * versions' properties (never a value), keys by their public key's thumbprint, certificates by
 * x5t — and how it deletes and purges what it restored. Paced by the vault's budget like every
 * other call to the vault.
 */
export class VaultInspector {
  private readonly secrets: SecretClient;
  private readonly keys: KeyClient;
  private readonly certificates: CertificateClient;

  constructor(
    readonly vault: VaultRef,
    credential: TokenCredential,
    budget: RateBudget,
  ) {
    const options = {
      ...keyVaultClientOptions(vault.url),
      additionalPolicies: [{ policy: vaultPolicy(budget), position: "perRetry" as const }],
      retryOptions: { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
    };
    this.secrets = new SecretClient(vault.url, credential, options);
    this.keys = new KeyClient(vault.url, credential, options);
    this.certificates = new CertificateClient(vault.url, credential, options);
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

  private async versions(kind: Kind, name: string, signal?: SignalLike): Promise<VersionProps[] | undefined> {
    const list = (): AsyncIterable<VersionProps> =>
      kind === "secrets"
        ? this.secrets.listPropertiesOfSecretVersions(name, opts(signal))
        : kind === "keys"
          ? this.keys.listPropertiesOfKeyVersions(name, opts(signal))
          : this.certificates.listPropertiesOfCertificateVersions(name, opts(signal));
    return this.orAbsent(async () => {
      const out: VersionProps[] = [];
      for await (const v of list()) out.push(v);
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
    if (kind === "keys") {
      const key = await this.orAbsent(() => this.keys.getKey(name, opts(signal)));
      if (!key) return undefined;
      current = key.properties;
      thumbprint = key.key ? jwkThumbprint(key.key as never) : undefined;
    } else if (kind === "certificates") {
      const cert = await this.orAbsent(() => this.certificates.getCertificate(name, opts(signal)));
      if (!cert) return undefined;
      current = cert.properties;
      thumbprint = cert.properties.x509Thumbprint ? b64url(cert.properties.x509Thumbprint) : undefined;
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
    const poller = await this.orAbsent<{ pollUntilDone(): Promise<unknown> }>(() =>
      kind === "secrets"
        ? this.secrets.beginDeleteSecret(name, opts(signal))
        : kind === "keys"
          ? this.keys.beginDeleteKey(name, opts(signal))
          : this.certificates.beginDeleteCertificate(name, opts(signal)),
    );
    if (!poller) return false;
    await this.call(() => poller.pollUntilDone());
    return true;
  }

  async purge(kind: Kind, name: string, signal?: SignalLike): Promise<boolean> {
    const done = await this.orAbsent(() =>
      kind === "secrets"
        ? this.secrets.purgeDeletedSecret(name, opts(signal))
        : kind === "keys"
          ? this.keys.purgeDeletedKey(name, opts(signal))
          : this.certificates.purgeDeletedCertificate(name, opts(signal)),
    );
    return done !== undefined;
  }
}
