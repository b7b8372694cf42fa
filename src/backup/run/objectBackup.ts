import { blobInTheWay, tooManyVersions } from "../../diagnosis/local.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import type { ManifestFailure, ManifestItem, ManifestSkip } from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { BlobFacts, ObjectInfo, StoredBlob } from "../../domain/objects.js";
import type { SignalLike } from "../../domain/signal.js";
import { objectLabel } from "../../domain/vocabulary.js";
import { diagnosisOf, firstLine, isKeyVaultFailure } from "../failures.js";
import type { BlobStore, VaultPort } from "../ports.js";

export type ObjectOutcome =
  | { outcome: "backedUp"; item: ManifestItem; resumed: boolean }
  | { outcome: "skipped"; skip: ManifestSkip }
  | { outcome: "failed"; failure: ManifestFailure };

export interface ObjectBackupDeps {
  vault: VaultPort;
  blobs: BlobStore;
  vaultName: string;
  /** Key Vault's version limit for backups (500). */
  versionLimit: number;
}

/** What the manifest says of an object: the facts stored with its blob, so a resumed run records what the blob holds. */
function itemOf(
  blob: string,
  bytes: number,
  facts: BlobFacts & { object: NonNullable<BlobFacts["object"]> },
): ManifestItem {
  const o = facts.object;
  return {
    kind: o.kind,
    name: o.name,
    blob,
    bytes,
    sha256: facts.sha256,
    ...(o.updatedOn ? { updatedOn: o.updatedOn } : {}),
    enabled: o.enabled,
    ...(o.contentType ? { contentType: o.contentType } : {}),
    ...(o.tags ? { tags: o.tags } : {}),
  };
}

const failed = (o: ObjectInfo, diagnosis: Diagnosis, message: string): ObjectOutcome => ({
  outcome: "failed",
  failure: { kind: o.kind, name: o.name, code: diagnosis.code, message, diagnosis },
});

const resumable = (prior: StoredBlob | undefined): prior is StoredBlob & Required<BlobFacts> =>
  prior?.sha256 !== undefined && prior.object !== undefined;

const tagsOf = (tags: Record<string, string> | undefined): string =>
  JSON.stringify(Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * A blob of an earlier attempt is kept only while the object lists as it did then (its last change,
 * enabled, content type, tags); a changed object is backed up again. Key Vault's timestamps have
 * one-second resolution, so a value changed in the same second as the object's previous change,
 * with nothing else changed, cannot be told apart.
 */
const current = (prior: StoredBlob | undefined, o: ObjectInfo): prior is StoredBlob & Required<BlobFacts> =>
  resumable(prior) &&
  prior.object.updatedOn === o.updatedOn &&
  prior.object.enabled === o.enabled &&
  prior.object.contentType === o.contentType &&
  tagsOf(prior.object.tags) === tagsOf(o.tags);

/**
 * Backs up one object: Key Vault backup -> SHA-256 -> one blob, written once, carrying the object's
 * metadata. A blob already in the run (a resumed run) is kept and recorded from what it says of
 * itself. Key Vault failures come back as outcomes with their diagnosis; a storage failure or an
 * abort escapes: the run cannot go on without its container.
 */
export async function backupObject(
  deps: ObjectBackupDeps,
  o: ObjectInfo,
  blob: string,
  prior: StoredBlob | undefined,
  signal?: SignalLike,
): Promise<ObjectOutcome> {
  if (current(prior, o))
    return { outcome: "backedUp", item: itemOf(blob, prior.bytes, prior), resumed: true };
  const label = objectLabel(o.kind, o.name);
  let bytes: Uint8Array;
  try {
    bytes = await deps.vault.backup(o.kind, o.name, signal);
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    const d = diagnosisOf(e, { vault: deps.vaultName, object: label }) as Diagnosis;
    if (d.code === "ManagedByCertificate")
      return { outcome: "skipped", skip: { kind: o.kind, name: o.name, reason: "managed-by-certificate" } };
    if (d.code === "ObjectNotFound")
      return { outcome: "skipped", skip: { kind: o.kind, name: o.name, reason: "deleted-during-run" } };
    if (e.failure?.status === 400) {
      const versions = await deps.vault.countVersions(o.kind, o.name, signal).catch(() => undefined);
      if (versions !== undefined && versions > deps.versionLimit)
        return failed(o, tooManyVersions(label, versions), firstLine(e));
    }
    return failed(o, d, firstLine(e));
  }
  const { managed: _managed, ...object } = o;
  const facts = { sha256: sha256Hex(bytes), object };
  // A blob of an earlier attempt that does not say what it holds, or holds an older state, is replaced.
  const written = await deps.blobs.putOnce(blob, bytes, facts, signal, prior !== undefined);
  if (written) return { outcome: "backedUp", item: itemOf(blob, bytes.length, facts), resumed: false };
  // Storage kept the blob in the way (immutability): the manifest records what that blob holds, or nothing.
  const stored = (await deps.blobs.list(blob, signal)).get(blob);
  if (resumable(stored))
    return { outcome: "backedUp", item: itemOf(blob, stored.bytes, stored), resumed: true };
  const d = blobInTheWay(blob);
  return failed(o, d, d.cause);
}
