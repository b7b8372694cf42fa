import { createHash } from "node:crypto";
import type { Kind } from "../config.js";
import { type Diagnosis, diagnose, tooManyVersions } from "../diagnosis.js";
import { KeyVaultCallError, type ObjectInfo, type VaultAdapter } from "../keyvault/vaultAdapter.js";
import type { BackupStore, StoredBlob } from "../storage/backupStore.js";
import { StorageCallError } from "../storage/storageError.js";
import type { SignalLike } from "./delay.js";
import type { ManifestFailure, ManifestItem, ManifestSkip } from "./manifest.js";

export type ObjectOutcome =
  | { outcome: "backedUp"; item: ManifestItem; resumed: boolean }
  | { outcome: "skipped"; skip: ManifestSkip }
  | { outcome: "failed"; failure: ManifestFailure };

export interface ObjectBackupDeps {
  adapter: VaultAdapter;
  store: BackupStore;
  vault: string;
  /** Key Vault's version limit for backups (500). */
  versionLimit: number;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

const itemOf = (o: ObjectInfo, blob: string, bytes: number, hash: string): ManifestItem => ({
  kind: o.kind,
  name: o.name,
  blob,
  bytes,
  sha256: hash,
  version: o.version,
  ...(o.updatedOn ? { updatedOn: o.updatedOn } : {}),
  enabled: o.enabled,
  ...(o.contentType ? { contentType: o.contentType } : {}),
  ...(o.tags ? { tags: o.tags } : {}),
});

const failed = (kind: Kind, name: string, diagnosis: Diagnosis, message: string): ObjectOutcome => ({
  outcome: "failed",
  failure: { kind, name, code: diagnosis.code, message: message.split("\n")[0] ?? message, diagnosis },
});

/**
 * Backs up one object: Key Vault backup -> SHA-256 -> one blob written once. A blob already in
 * the run (a resumed run) is kept, not backed up again. Every failure comes back as an outcome
 * with its diagnosis; only an abort escapes.
 */
export async function backupObject(
  deps: ObjectBackupDeps,
  o: ObjectInfo,
  blob: string,
  prior: StoredBlob | undefined,
  signal?: SignalLike,
): Promise<ObjectOutcome> {
  const label = `${o.kind.slice(0, -1)} '${o.name}'`;
  if (prior?.sha256)
    return { outcome: "backedUp", item: itemOf(o, blob, prior.bytes, prior.sha256), resumed: true };
  try {
    const bytes = await deps.adapter.backup(o.kind, o.name, signal);
    const hash = sha256(bytes);
    const written = await deps.store.putOnce(blob, bytes, hash, signal);
    if (!written) {
      // Written meanwhile by an earlier attempt of this run: keep that blob, record what it holds.
      const stored = (await deps.store.list(blob, signal)).get(blob);
      if (stored?.sha256)
        return { outcome: "backedUp", item: itemOf(o, blob, stored.bytes, stored.sha256), resumed: true };
    }
    return { outcome: "backedUp", item: itemOf(o, blob, bytes.length, hash), resumed: false };
  } catch (e) {
    if (e instanceof StorageCallError) {
      return failed(
        o.kind,
        o.name,
        diagnose(e.failure, { container: deps.store.containerName, object: label }),
        e.message,
      );
    }
    if (!(e instanceof KeyVaultCallError)) throw e;
    const f = e.failure;
    const d = diagnose(f, { vault: deps.vault, object: label });
    if (d.code === "ManagedByCertificate")
      return { outcome: "skipped", skip: { kind: o.kind, name: o.name, reason: "managed-by-certificate" } };
    if (d.code === "ObjectNotFound")
      return { outcome: "skipped", skip: { kind: o.kind, name: o.name, reason: "deleted-during-run" } };
    if (f.status === 400) {
      const versions = await deps.adapter.countVersions(o.kind, o.name, signal).catch(() => undefined);
      if (versions !== undefined && versions > deps.versionLimit)
        return failed(o.kind, o.name, tooManyVersions(label, versions), f.message);
    }
    return failed(o.kind, o.name, d, f.message);
  }
}
