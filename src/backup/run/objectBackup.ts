import { blobInTheWay, tooManyVersions } from "../../diagnosis/local.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { firstLine } from "../../domain/errors.js";
import {
  CopiedFromEvents,
  type ManifestFailure,
  type ManifestItem,
  type ManifestSkip,
} from "../../domain/manifest.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import { type BlobFacts, type ObjectInfo, type StoredBlob, sameListedState } from "../../domain/objects.js";
import type { SignalLike } from "../../domain/signal.js";
import { objectLabel } from "../../domain/vocabulary.js";
import { diagnosisOf, isKeyVaultFailure } from "../failures.js";
import type { BlobStore, VaultPort } from "../ports.js";

export type ObjectOutcome =
  | { outcome: "backedUp"; item: ManifestItem; resumed: boolean; copied?: boolean }
  | { outcome: "skipped"; skip: ManifestSkip }
  | { outcome: "failed"; failure: ManifestFailure };

export interface ObjectBackupDeps {
  vault: VaultPort;
  blobs: BlobStore;
  vaultName: string;
  /** Key Vault's version limit for backups (500). */
  versionLimit: number;
}

/** The object as the base run (an incremental run's previous run) holds it. */
export interface BaseItem {
  runId: string;
  item: ManifestItem;
  /**
   * The base blob as listed, for a base item without an ETag (a manifest of an earlier version):
   * copied only while it still says it holds what the base manifest recorded.
   */
  stored?: StoredBlob | undefined;
}

/** Continuous protection's newest backup of the object (an event backup), as listed. */
export interface EventSource {
  blob: string;
  bytes: number;
  /** What the blob's metadata says it holds. */
  sha256: string;
  etag?: string | undefined;
  /** The eventTime of the event it answered (Key Vault's clock): it was taken after then. */
  eventAt: string;
}

/** How long after a version's creation (Key Vault's whole second) its event's time may fall. */
const EventLagMs = 2_000;

/**
 * The event backup holds the object as it is now: its event was for the object's current version
 * (the event's time falls in the second Key Vault says that version was made, or just after), and
 * nothing changed since (the listing's last change is that same second). Not "the event came after
 * the last change": a restore of an older backup moves the listing's times back, and an event of
 * a newer, rolled-back state would pass for it. Like an incremental run's base, a change within
 * the same second looks the same (Key Vault's timestamps have one-second resolution): the weekly
 * full run covers it.
 */
export function eventHolds(source: EventSource, o: ObjectInfo): boolean {
  const created = Date.parse(o.createdOn ?? "");
  const updated = Date.parse(o.updatedOn ?? "");
  const event = Date.parse(source.eventAt);
  if (Number.isNaN(created) || Number.isNaN(updated) || Number.isNaN(event)) return false;
  const second = (t: number): number => Math.floor(t / 1000);
  return (
    second(updated) === second(created) && event >= second(created) * 1000 && event < created + EventLagMs
  );
}

type Described = StoredBlob & Required<Pick<BlobFacts, "sha256" | "object">>;

/** What the manifest says of an object: the facts stored with its blob, so a resumed run records what the blob holds. */
function itemOf(
  blob: string,
  bytes: number,
  facts: BlobFacts & { object: NonNullable<BlobFacts["object"]> },
  etag: string | undefined,
): ManifestItem {
  const o = facts.object;
  return {
    kind: o.kind,
    name: o.name,
    blob,
    bytes,
    sha256: facts.sha256,
    ...(o.updatedOn !== undefined ? { updatedOn: o.updatedOn } : {}),
    enabled: o.enabled,
    ...(o.contentType !== undefined ? { contentType: o.contentType } : {}),
    ...(o.tags ? { tags: o.tags } : {}),
    ...(facts.copiedFrom ? { copiedFrom: facts.copiedFrom } : {}),
    ...(etag ? { etag } : {}),
  };
}

const failed = (o: ObjectInfo, diagnosis: Diagnosis, message: string): ObjectOutcome => ({
  outcome: "failed",
  failure: { kind: o.kind, name: o.name, code: diagnosis.code, message, diagnosis },
});

const resumable = (prior: StoredBlob | undefined): prior is Described =>
  prior?.sha256 !== undefined && prior.object !== undefined;

/** A blob of an earlier attempt is kept only while the object lists as it did then; a changed object is backed up again. */
const current = (prior: StoredBlob | undefined, o: ObjectInfo): prior is Described =>
  resumable(prior) && sameListedState(prior.object, o);

/**
 * The base blob may be copied forward. With the ETag the base run recorded, storage itself checks
 * at the copy that the blob is still exactly that version (any write since changes it). Without one
 * (a base written by an earlier version of kvbackup), the listed blob must still say it holds what
 * the base manifest recorded (its SHA-256 in its metadata, its size); a blob rewritten with the same
 * size and forged metadata is beyond that check: verify, and the weekly full run, catch it.
 */
const copyable = (base: BaseItem): boolean =>
  base.item.etag !== undefined ||
  (base.stored?.sha256 === base.item.sha256 && base.stored.bytes === base.item.bytes);

/**
 * A blob that already holds the object as it is now — its copy in the base run (unchanged since),
 * or continuous protection's backup of its current state — copied server-side into this run's
 * folder (no Key Vault transaction), the item carrying the listing's facts, the source's hash and
 * where it came from. Only the listed version of the source is copied (its ETag). Undefined when it
 * cannot be (aged out, rewritten since, a blob in the way): the object is then backed up from Key Vault.
 */
async function copyHeld(
  deps: ObjectBackupDeps,
  o: ObjectInfo,
  blob: string,
  source: { blob: string; bytes: number; sha256: string; etag?: string | undefined; copiedFrom: string },
  signal?: SignalLike,
): Promise<ObjectOutcome | undefined> {
  const { managed: _managed, ...object } = o;
  const facts: BlobFacts = { sha256: source.sha256, object, copiedFrom: source.copiedFrom };
  const copied = await deps.blobs.copy(source.blob, blob, facts, signal, source.etag);
  if (!copied) return undefined;
  return {
    outcome: "backedUp",
    item: itemOf(blob, source.bytes, { ...facts, object }, copied.etag),
    resumed: false,
    copied: true,
  };
}

/**
 * Backs up one object: Key Vault backup -> SHA-256 -> one blob, written once, carrying the object's
 * metadata. A blob already in the run (a resumed run) is kept and recorded from what it says of
 * itself; an object unchanged since the base run is copied from it, one whose current state an event
 * backup holds is copied from that. Key Vault failures come back as
 * outcomes with their diagnosis; a storage failure or an abort escapes: the run cannot go on
 * without its container.
 */
export async function backupObject(
  deps: ObjectBackupDeps,
  o: ObjectInfo,
  blob: string,
  prior: StoredBlob | undefined,
  signal?: SignalLike,
  base?: BaseItem,
  event?: EventSource,
): Promise<ObjectOutcome> {
  if (current(prior, o))
    return { outcome: "backedUp", item: itemOf(blob, prior.bytes, prior, prior.etag), resumed: true };
  let copyTried = false;
  if (base && prior === undefined && sameListedState(base.item, o) && copyable(base)) {
    copyTried = true;
    const copied = await copyHeld(deps, o, blob, { ...base.item, copiedFrom: base.runId }, signal);
    if (copied) return copied;
  }
  if (!copyTried && event && prior === undefined && eventHolds(event, o)) {
    copyTried = true;
    const copied = await copyHeld(deps, o, blob, { ...event, copiedFrom: CopiedFromEvents }, signal);
    if (copied) return copied;
  }
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
  // A failed copy may have left a blob behind: it is replaced too.
  const written = await deps.blobs.putOnce(blob, bytes, facts, signal, prior !== undefined || copyTried);
  if (written)
    return { outcome: "backedUp", item: itemOf(blob, bytes.length, facts, written.etag), resumed: false };
  // Storage kept the blob in the way (immutability): the manifest records what that blob holds, or nothing.
  const stored = (await deps.blobs.list(blob, signal)).get(blob);
  if (resumable(stored))
    return { outcome: "backedUp", item: itemOf(blob, stored.bytes, stored, stored.etag), resumed: true };
  const d = blobInTheWay(blob);
  return failed(o, d, d.cause);
}
