import type { TokenCredential } from "@azure/core-auth";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { type AzureFailure, isAbort, toAzureFailure } from "../azureFailure.js";
import type { SignalLike } from "../backup/delay.js";
import type { VaultLimiter } from "../backup/limiter.js";
import type { Kind, VaultRef } from "../config.js";
import { KvBackupError } from "../errors.js";
import { keyVaultClientOptions } from "./clientOptions.js";
import { innerCodes, type VaultPolicyHooks, vaultPolicy } from "./policy.js";

/** One object as listed: the metadata users search by, never a value. */
export interface ObjectInfo {
  kind: Kind;
  name: string;
  version: string;
  enabled: boolean;
  updatedOn?: string;
  contentType?: string;
  tags?: Record<string, string>;
  /** A certificate's key or secret: its certificate's backup covers it. */
  managed: boolean;
}

/** A failed Key Vault call, already read into what classification needs. */
export class KeyVaultCallError extends Error {
  constructor(readonly failure: AzureFailure) {
    super(failure.message);
    this.name = "KeyVaultCallError";
  }
}

interface Properties {
  name?: string;
  version?: string;
  enabled?: boolean;
  updatedOn?: Date;
  contentType?: string;
  tags?: Record<string, string>;
  managed?: boolean;
}

/**
 * The Key Vault adapter: lists and backs up secrets, keys and certificates of one vault through
 * the real SDK clients, every HTTP attempt paced by the vault's limiter. Errors leave as
 * KeyVaultCallError carrying status, code and inner code.
 */
export class VaultAdapter {
  private readonly secrets: SecretClient;
  private readonly keys: KeyClient;
  private readonly certificates: CertificateClient;

  constructor(
    readonly vault: VaultRef,
    credential: TokenCredential,
    limiter: VaultLimiter,
    hooks: VaultPolicyHooks = {},
  ) {
    const options = {
      ...keyVaultClientOptions(vault.url),
      additionalPolicies: [{ policy: vaultPolicy(limiter, hooks), position: "perRetry" as const }],
      retryOptions: { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
    };
    this.secrets = new SecretClient(vault.url, credential, options);
    this.keys = new KeyClient(vault.url, credential, options);
    this.certificates = new CertificateClient(vault.url, credential, options);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isAbort(e)) throw new KvBackupError("Aborted", "aborted", { cause: e });
      const request = (e as { request?: object }).request;
      const inner = request ? innerCodes.get(request as never) : undefined;
      throw new KeyVaultCallError(toAzureFailure(e, "keyvault", inner));
    }
  }

  private pages(kind: Kind, signal?: SignalLike): AsyncIterable<Properties[]> {
    const options = signal ? { abortSignal: signal } : {};
    switch (kind) {
      case "secrets":
        return this.secrets.listPropertiesOfSecrets(options).byPage();
      case "keys":
        return this.keys.listPropertiesOfKeys(options).byPage();
      case "certificates":
        return this.certificates.listPropertiesOfCertificates(options).byPage();
    }
  }

  /** Every object of a kind, a page at a time (pages come from nextLink, whatever their size). */
  async *list(kind: Kind, signal?: SignalLike): AsyncGenerator<ObjectInfo[]> {
    const iterator = this.pages(kind, signal)[Symbol.asyncIterator]();
    for (;;) {
      const page = await this.call(() => iterator.next());
      if (page.done) return;
      yield page.value
        .filter((p): p is Properties & { name: string } => typeof p.name === "string")
        .map((p) => ({
          kind,
          name: p.name,
          version: p.version ?? "",
          enabled: p.enabled !== false,
          ...(p.updatedOn ? { updatedOn: p.updatedOn.toISOString() } : {}),
          ...(p.contentType ? { contentType: p.contentType } : {}),
          ...(p.tags && Object.keys(p.tags).length > 0 ? { tags: p.tags } : {}),
          managed: p.managed === true,
        }));
    }
  }

  /** The bytes Key Vault's backup API returns (base64url-decoded by the SDK). */
  async backup(kind: Kind, name: string, signal?: SignalLike): Promise<Uint8Array> {
    const options = signal ? { abortSignal: signal } : {};
    const bytes = await this.call(() => {
      switch (kind) {
        case "secrets":
          return this.secrets.backupSecret(name, options);
        case "keys":
          return this.keys.backupKey(name, options);
        case "certificates":
          return this.certificates.backupCertificate(name, options);
      }
    });
    if (!bytes || bytes.length === 0) {
      throw new KeyVaultCallError({ service: "keyvault", message: `empty backup for ${kind}/${name}` });
    }
    return bytes;
  }

  /** Restores a backup blob (the exact bytes the backup API returned). */
  async restore(kind: Kind, bytes: Uint8Array, signal?: SignalLike): Promise<void> {
    const options = signal ? { abortSignal: signal } : {};
    await this.call<unknown>(() => {
      switch (kind) {
        case "secrets":
          return this.secrets.restoreSecretBackup(bytes, options);
        case "keys":
          return this.keys.restoreKeyBackup(bytes, options);
        case "certificates":
          return this.certificates.restoreCertificateBackup(bytes, options);
      }
    });
  }

  /** Lower-cased names of the active objects of a kind (names are case-insensitive in Key Vault). */
  async names(kind: Kind, signal?: SignalLike): Promise<Set<string>> {
    const names = new Set<string>();
    for await (const page of this.list(kind, signal)) for (const o of page) names.add(o.name.toLowerCase());
    return names;
  }

  /** Lower-cased names held by soft-deleted objects of a kind. */
  async deletedNames(kind: Kind, signal?: SignalLike): Promise<Set<string>> {
    const options = signal ? { abortSignal: signal } : {};
    const iterable: AsyncIterable<{ name?: string; properties?: { name?: string } }> =
      kind === "secrets"
        ? this.secrets.listDeletedSecrets(options)
        : kind === "keys"
          ? this.keys.listDeletedKeys(options)
          : this.certificates.listDeletedCertificates(options);
    const names = new Set<string>();
    await this.call(async () => {
      for await (const d of iterable) {
        const name = d.name ?? d.properties?.name;
        if (name) names.add(name.toLowerCase());
      }
    });
    return names;
  }

  /**
   * Proves list and backup rights without side effects: one list page of one item, and a backup of
   * a name that does not exist (Key Vault authorizes before it looks: 404 means allowed, 403 not).
   */
  async probe(kind: Kind, signal?: SignalLike): Promise<void> {
    const options = { ...(signal ? { abortSignal: signal } : {}) };
    const pages: AsyncIterable<unknown> =
      kind === "secrets"
        ? this.secrets.listPropertiesOfSecrets(options).byPage({ maxPageSize: 1 })
        : kind === "keys"
          ? this.keys.listPropertiesOfKeys(options).byPage({ maxPageSize: 1 })
          : this.certificates.listPropertiesOfCertificates(options).byPage({ maxPageSize: 1 });
    await this.call(async () => {
      for await (const _ of pages) break;
    });
    try {
      await this.backup(kind, "kvbackup-probe-does-not-exist", signal);
    } catch (e) {
      if (!(e instanceof KeyVaultCallError && e.failure.status === 404)) throw e;
    }
  }

  /** How many versions an object has (to name the 500-version limit when a backup is refused). */
  async countVersions(kind: Kind, name: string, signal?: SignalLike): Promise<number> {
    const options = signal ? { abortSignal: signal } : {};
    const iterable: AsyncIterable<unknown> =
      kind === "secrets"
        ? this.secrets.listPropertiesOfSecretVersions(name, options)
        : kind === "keys"
          ? this.keys.listPropertiesOfKeyVersions(name, options)
          : this.certificates.listPropertiesOfCertificateVersions(name, options);
    let n = 0;
    await this.call(async () => {
      for await (const _ of iterable) n++;
    });
    return n;
  }
}
