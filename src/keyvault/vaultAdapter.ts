import type { TokenCredential } from "@azure/core-auth";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { type AzureFailure, isAbort, toAzureFailure } from "../domain/azureFailure.js";
import type { VaultRef } from "../domain/config.js";
import { azureCallError, KvBackupError } from "../domain/errors.js";
import type { ObjectInfo } from "../domain/objects.js";
import type { RateBudget } from "../domain/rateBudget.js";
import type { SignalLike } from "../domain/signal.js";
import type { Kind } from "../domain/vocabulary.js";
import { keyVaultClientOptions } from "./clientOptions.js";
import { errorBodies, type VaultPolicyHooks, vaultPolicy } from "./policy.js";

interface Properties {
  name?: string;
  enabled?: boolean;
  updatedOn?: Date;
  createdOn?: Date;
  contentType?: string;
  tags?: Record<string, string>;
  managed?: boolean;
}

type Options = { abortSignal?: SignalLike };
type Paged<T> = AsyncIterable<T> & { byPage(settings?: { maxPageSize?: number }): AsyncIterable<T[]> };

/** What the adapter needs of each kind's SDK client: one entry per kind, not a switch per method. */
interface KindClient {
  list(options: Options): Paged<Properties>;
  versions(name: string, options: Options): AsyncIterable<unknown>;
  deleted(options: Options): AsyncIterable<{ name?: string; properties?: { name?: string } }>;
  backup(name: string, options: Options): Promise<Uint8Array | undefined>;
  restore(bytes: Uint8Array, options: Options): Promise<unknown>;
}

const opts = (signal?: SignalLike): Options => (signal ? { abortSignal: signal } : {});

const infoOf = (kind: Kind, p: Properties & { name: string }): ObjectInfo => ({
  kind,
  name: p.name,
  enabled: p.enabled !== false,
  ...(p.updatedOn ? { updatedOn: p.updatedOn.toISOString() } : {}),
  ...(p.createdOn ? { createdOn: p.createdOn.toISOString() } : {}),
  ...(p.contentType ? { contentType: p.contentType } : {}),
  ...(p.tags && Object.keys(p.tags).length > 0 ? { tags: p.tags } : {}),
  managed: p.managed === true,
});

/**
 * One Key Vault SDK call, its failure read at the boundary: status, the error body's code and
 * inner code (kept by the vault policy), the vault's name and the kind of call.
 */
export async function vaultCall<T>(
  vault: string,
  fn: () => Promise<T>,
  operation?: AzureFailure["operation"],
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isAbort(e)) throw new KvBackupError("Aborted", "aborted", { cause: e });
    const request = (e as { request?: object }).request;
    const body = request ? errorBodies.get(request as never) : undefined;
    const failure = toAzureFailure(e, "keyvault", body?.innerCode);
    if (body?.code) failure.code = body.code;
    if (body?.message) failure.message = body.message;
    failure.resource = vault;
    if (operation) failure.operation = operation;
    throw azureCallError(failure);
  }
}

/** A name no vault holds: backing it up proves the right without touching an object. */
const ProbeName = "kvbackup-probe-does-not-exist";
/** Not a backup: restoring it proves the right (Key Vault authorizes before it reads the blob) and changes nothing. */
const ProbeBlob = new TextEncoder().encode("kvbackup-probe-not-a-backup");

/**
 * The Key Vault adapter: lists, backs up and restores secrets, keys and certificates of one vault
 * through the real SDK clients, every HTTP attempt paced by the vault's budget. Failures leave as
 * KvBackupError carrying the status, code and inner code they came with.
 */
export class VaultAdapter {
  private readonly kinds: Record<Kind, KindClient>;

  constructor(
    readonly vault: VaultRef,
    credential: TokenCredential,
    budget: RateBudget,
    hooks: VaultPolicyHooks = {},
  ) {
    const options = {
      ...keyVaultClientOptions(vault.url),
      additionalPolicies: [{ policy: vaultPolicy(budget, hooks), position: "perRetry" as const }],
      retryOptions: { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
    };
    const secrets = new SecretClient(vault.url, credential, options);
    const keys = new KeyClient(vault.url, credential, options);
    const certificates = new CertificateClient(vault.url, credential, options);
    this.kinds = {
      secrets: {
        list: (o) => secrets.listPropertiesOfSecrets(o),
        versions: (n, o) => secrets.listPropertiesOfSecretVersions(n, o),
        deleted: (o) => secrets.listDeletedSecrets(o),
        backup: (n, o) => secrets.backupSecret(n, o),
        restore: (b, o) => secrets.restoreSecretBackup(b, o),
      },
      keys: {
        list: (o) => keys.listPropertiesOfKeys(o),
        versions: (n, o) => keys.listPropertiesOfKeyVersions(n, o),
        deleted: (o) => keys.listDeletedKeys(o),
        backup: (n, o) => keys.backupKey(n, o),
        restore: (b, o) => keys.restoreKeyBackup(b, o),
      },
      certificates: {
        list: (o) => certificates.listPropertiesOfCertificates(o),
        versions: (n, o) => certificates.listPropertiesOfCertificateVersions(n, o),
        deleted: (o) => certificates.listDeletedCertificates(o),
        backup: (n, o) => certificates.backupCertificate(n, o),
        restore: (b, o) => certificates.restoreCertificateBackup(b, o),
      },
    };
  }

  private call<T>(fn: () => Promise<T>, operation?: AzureFailure["operation"]): Promise<T> {
    return vaultCall(this.vault.name, fn, operation);
  }

  /** Walks an SDK iterable inside call(), so its errors are classified too; visit returns false to stop. */
  private async each<T>(iterable: AsyncIterable<T>, visit: (item: T) => boolean): Promise<void> {
    await this.call(async () => {
      for await (const item of iterable) if (!visit(item)) break;
    }, "list");
  }

  /** Every object of a kind, a page at a time (pages come from nextLink, whatever their size). */
  async *list(kind: Kind, signal?: SignalLike): AsyncGenerator<ObjectInfo[]> {
    const iterator = this.kinds[kind].list(opts(signal)).byPage()[Symbol.asyncIterator]();
    for (;;) {
      const page = await this.call(() => iterator.next(), "list");
      if (page.done) return;
      yield page.value
        .filter((p): p is Properties & { name: string } => typeof p.name === "string")
        .map((p) => infoOf(kind, p));
    }
  }

  /** The bytes Key Vault's backup API returns (base64url-decoded by the SDK). */
  async backup(kind: Kind, name: string, signal?: SignalLike): Promise<Uint8Array> {
    const bytes = await this.call(() => this.kinds[kind].backup(name, opts(signal)), "backup");
    if (!bytes || bytes.length === 0)
      throw azureCallError({ service: "keyvault", message: `empty backup for ${kind}/${name}` });
    return bytes;
  }

  /** Restores a backup blob (the exact bytes the backup API returned). */
  async restore(kind: Kind, bytes: Uint8Array, signal?: SignalLike): Promise<void> {
    await this.call(() => this.kinds[kind].restore(bytes, opts(signal)), "restore");
  }

  async names(kind: Kind, signal?: SignalLike): Promise<Set<string>> {
    const names = new Set<string>();
    for await (const page of this.list(kind, signal)) for (const o of page) names.add(o.name.toLowerCase());
    return names;
  }

  async deletedNames(kind: Kind, signal?: SignalLike): Promise<Set<string>> {
    const names = new Set<string>();
    await this.each(this.kinds[kind].deleted(opts(signal)), (d) => {
      const name = d.name ?? d.properties?.name;
      if (name) names.add(name.toLowerCase());
      return true;
    });
    return names;
  }

  /** One list page of one item, and a backup of a name that does not exist (Key Vault authorizes before it looks: 404 means allowed). */
  async probeBackup(kind: Kind, signal?: SignalLike): Promise<void> {
    await this.each(this.kinds[kind].list(opts(signal)).byPage({ maxPageSize: 1 }), () => false);
    await this.refusedOnlyBy([404], () => this.backup(kind, ProbeName, signal));
  }

  /** One list page of one item, and a restore of a blob that is not a backup (400 means allowed). */
  async probeRestore(kind: Kind, signal?: SignalLike): Promise<void> {
    await this.each(this.kinds[kind].list(opts(signal)).byPage({ maxPageSize: 1 }), () => false);
    await this.refusedOnlyBy([400], () => this.restore(kind, ProbeBlob, signal));
  }

  private async refusedOnlyBy(statuses: number[], fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      const status = e instanceof KvBackupError ? e.failure?.status : undefined;
      if (status === undefined || !statuses.includes(status)) throw e;
    }
  }

  async countVersions(kind: Kind, name: string, signal?: SignalLike): Promise<number> {
    let n = 0;
    await this.each(this.kinds[kind].versions(name, opts(signal)), () => {
      n++;
      return true;
    });
    return n;
  }
}
