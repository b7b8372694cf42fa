import type { VaultRef } from "../domain/config.js";
import type { DrillRow, DrillSummary, ObjectFacts } from "../domain/drillRecord.js";
import type { RateBudget } from "../domain/rateBudget.js";
import type { VaultStatus } from "../domain/vaultStatus.js";

export type { CopyAdded, CopyCheckResult, CopySummary, DrillSummary };

import type { CopyAdded, CopyCheckResult, CopySummary } from "../domain/copyFacts.js";
import type { HsmJobState } from "../domain/hsmBackup.js";
import type { Counts, InventoryQuery, InventoryRow, Outcome } from "../domain/inventory.js";
import type { ChunkedDocument } from "../domain/manifest.js";
import type { BlobFacts, DiscoveredVault, ObjectInfo, StoredBlob, Written } from "../domain/objects.js";
import type { SignalLike } from "../domain/signal.js";
import type { Kind, RunStatus, Tier, Trigger } from "../domain/vocabulary.js";

/**
 * The engine's ports: what it needs of the world, as interfaces. Adapters (keyvault/, storage/,
 * telemetry/) implement them with the Azure SDKs; unit tests pass in-memory ones. Every failure
 * an adapter raises is a KvBackupError carrying the Azure failure it read.
 */

/** One vault, through the vault's budget. */
export interface VaultPort {
  /** Every object of a kind, a page at a time. */
  list(kind: Kind, signal?: SignalLike): AsyncIterable<ObjectInfo[]>;
  /** The bytes the backup API returned, exactly. */
  backup(kind: Kind, name: string, signal?: SignalLike): Promise<Uint8Array>;
  restore(kind: Kind, bytes: Uint8Array, signal?: SignalLike): Promise<void>;
  /** Lower-cased names of active objects (names are case-insensitive in Key Vault). */
  names(kind: Kind, signal?: SignalLike): Promise<Set<string>>;
  /** Lower-cased names held by soft-deleted objects. */
  deletedNames(kind: Kind, signal?: SignalLike): Promise<Set<string>>;
  countVersions(kind: Kind, name: string, signal?: SignalLike): Promise<number>;
  /** Proves the right to list and to back up, without side effects. */
  probeBackup(kind: Kind, signal?: SignalLike): Promise<void>;
  /** Proves the right to list and to restore, without side effects. */
  probeRestore(kind: Kind, signal?: SignalLike): Promise<void>;
}

export type VaultFactory = (
  vault: VaultRef,
  budget: RateBudget,
  hooks: { onThrottled?: () => void },
) => VaultPort;

/** Azure Resource Manager, for what discovery reads: the Key Vaults of a subscription. */
export interface VaultDirectory {
  list(subscription: string, signal?: SignalLike): Promise<DiscoveredVault[]>;
}

/** The backup container: object blobs, written once, with what they hold in their metadata. */
export interface BlobStore {
  readonly container: string;
  /** Creates the container if missing, writes and deletes a probe blob. */
  probe(signal?: SignalLike): Promise<void>;
  /** Writes a blob once (undefined when it exists already), or over an existing one when `replace`. */
  putOnce(
    path: string,
    bytes: Uint8Array,
    facts: BlobFacts,
    signal?: SignalLike,
    replace?: boolean,
  ): Promise<Written | undefined>;
  list(prefix: string, signal?: SignalLike): Promise<Map<string, StoredBlob>>;
  read(path: string, signal?: SignalLike): Promise<Uint8Array>;
  /**
   * Copies a blob inside the container, server-side, to a path that must not exist yet, with the
   * given facts as its metadata; with `sourceEtag`, only while the source is still that version.
   * Undefined when it was not copied: the source is gone or changed, or the target exists.
   */
  copy(
    from: string,
    to: string,
    facts: BlobFacts,
    signal?: SignalLike,
    sourceEtag?: string,
  ): Promise<Written | undefined>;
  /** Deletes a blob (true, also when it was gone); false when storage refuses (immutability, no delete right). */
  delete(path: string, signal?: SignalLike): Promise<boolean>;
}

/** Small JSON documents in the container: manifests (written once) and restore states (rewritten). */
export interface DocumentStore {
  /** The bytes, or undefined when there is no such document. */
  read(path: string, signal?: SignalLike): Promise<{ bytes: Uint8Array; etag: string } | undefined>;
  /** Writes once (the bytes, or a document made chunk by chunk); false when the document exists already. */
  create(path: string, bytes: Uint8Array | ChunkedDocument, signal?: SignalLike): Promise<boolean>;
  /** Replaces the document; with `etag`, only if it is still that version. The new etag, or undefined when it was not. */
  replace(path: string, bytes: Uint8Array, etag?: string, signal?: SignalLike): Promise<string | undefined>;
}

export interface Lease {
  release(): Promise<void>;
}

/**
 * A subscription's Key Vault budget as slots shared by every instance: tryAcquire looks at every
 * slot once and takes a free one, or answers undefined when all are held (the engine decides how
 * long to wait); onLost as for the vault lease.
 */
export interface BudgetSlots {
  tryAcquire(
    scope: string,
    slots: number,
    onLost: (reason?: unknown) => void,
    signal?: SignalLike,
  ): Promise<(Lease & { slot: number }) | undefined>;
}

/** One run per vault at a time, across instances; a lease lost mid-run calls onLost. */
export interface VaultLeases {
  /**
   * Throws AlreadyRunning when another run holds the vault. onLost is called when the lease is
   * taken away (no reason) or cannot be renewed because storage refuses (that refusal).
   */
  acquire(vault: string, onLost: (reason?: unknown) => void, signal?: SignalLike): Promise<Lease>;
}

export interface InventoryStore {
  /** Writes and deletes a probe row: proves the table path and the right to write. */
  probe(signal?: SignalLike): Promise<void>;
  put(row: InventoryRow, signal?: SignalLike): Promise<void>;
  list(query: InventoryQuery, signal?: SignalLike): Promise<InventoryRow[]>;
  get(runId: string, vault?: string, signal?: SignalLike): Promise<InventoryRow | undefined>;
}

export interface JobQueue<T> {
  readonly name: string;
  send(job: T, signal?: SignalLike): Promise<void>;
  /** Sends an invisible probe message, deletes it, peeks: proves send, delete and read. */
  probe(signal?: SignalLike): Promise<void>;
}

/** A message taken off a queue, hidden from others while it is worked on. */
export interface QueuedMessage {
  id: string;
  popReceipt: string;
  /** The message as the queue holds it (Event Grid's: Base64 of the event's JSON). */
  text: string;
  dequeueCount: number;
}

/**
 * The queue Event Grid delivers the vaults' new-version events to (BACKUP_EVENTS_QUEUE). The app
 * reads and removes; it never sends there, nor creates it (the infra does, for Event Grid).
 */
export interface EventQueue {
  readonly name: string;
  /** Up to `max` messages, each hidden for `hideSeconds` while it is worked on. */
  receive(max: number, hideSeconds: number, signal?: SignalLike): Promise<QueuedMessage[]>;
  /** Done with: the message leaves the queue. */
  remove(message: QueuedMessage, signal?: SignalLike): Promise<void>;
  /** The message's text put back on the queue, hidden for delaySeconds (an event deferred). */
  sendLater(text: string, delaySeconds: number, signal?: SignalLike): Promise<void>;
  /** A peek: proves the queue is there and readable. */
  probe(signal?: SignalLike): Promise<void>;
  /** About how many messages are on the queue, hidden ones included (the service's approximate count). */
  waiting(signal?: SignalLike): Promise<number>;
}

/** Event Grid's dead letters of the events queue (BACKUP_EVENTS_DEADLETTER_CONTAINER). */
export interface DeadLetters {
  readonly container: string;
  /** Up to `max` dead-letter blobs; `more` when there are others. */
  list(
    max: number,
    signal?: SignalLike,
  ): Promise<{ blobs: { blob: string; bytes: number; lastModified?: string }[]; more: boolean }>;
  /** The blob's text; undefined when it is gone since it was listed. */
  read(blob: string, bytes: number, signal?: SignalLike): Promise<string | undefined>;
  remove(blob: string, signal?: SignalLike): Promise<void>;
}

/**
 * The isolated copy (BACKUP_COPY_BLOB_URI): a container in another account where the app may read
 * and add blobs, never delete or overwrite. Paths mirror the primary container's exactly.
 */
export interface CopyPort {
  /** The copy's account endpoint and container, for people: "https://acct.blob.core.windows.net/keyvault-backups". */
  readonly where: string;
  /** The copy's container read as the primary's is: listing and reading (verify, restore from the copy). */
  readonly blobs: BlobStore;
  readonly documents: DocumentStore;
  /** The folders directly under `prefix` (each ends with "/"), for finding runs without the inventory. */
  folders(prefix: string, signal?: SignalLike): Promise<string[]>;
  /**
   * Adds the primary's blob at `path` to the same path in the copy, never over a blob there:
   * server-side (Put Blob From URL, the source read with the app's own token), or read and written
   * by the app when Storage cannot read the primary. `facts`: the primary blob's facts (its
   * metadata), written with it — a server-side copy does not carry metadata over.
   */
  add(path: string, facts?: BlobFacts, signal?: SignalLike): Promise<CopyAdded>;
  /** Proves the path and the rights: reads, adds a marker, and tries (expecting refusal) to delete and overwrite it. */
  check(signal?: SignalLike): Promise<CopyCheckResult>;
}

export interface RunInfo {
  runId: string;
  vault: string;
  tier: Tier;
  trigger: Trigger;
}

export interface RunSummary {
  status: RunStatus | "abandoned";
  counts: Counts;
  bytes: number;
  durationMs: number;
  firstFailureCode?: string;
}

/** One run's telemetry: a span with a child per kind, the metrics, and the closing event. */
export interface RunTelemetry {
  kind<T>(kind: Kind, fn: () => Promise<T>): Promise<T>;
  object(kind: Kind, outcome: Outcome, bytes?: number): void;
  throttled(): void;
  /** The run ended (any status): the event the alerts read. */
  end(summary: RunSummary): void;
  /** The run stopped without ending (aborted, lease lost): it will resume; no event. */
  interrupt(e: unknown): void;
}

export interface Telemetry {
  run(info: RunInfo): RunTelemetry;
  /** A restore drill ended: KeyVaultRestoreDrillCompleted, and kvbackup.last_proven_restore when it proved one. */
  drillEnded(summary: DrillSummary): void;
  /** The hourly status of every vault: one KeyVaultBackupStatus event each (what the alerts read). */
  fleetStatus(statuses: readonly VaultStatus[]): void;
  /** A run's isolated copy ended: KeyVaultBackupCopyCompleted (the copy alerts read it). */
  copyEnded(summary: CopySummary): void;
}

/**
 * One Managed HSM's backup administration (the data plane's /backup, /restore, /keys/{k}/restore and
 * their /pending status). The HSM reaches storage as itself (useManagedIdentity: its user-assigned
 * identity), never with the app's token.
 */
export interface HsmPort {
  /** The pre-backup check: can the HSM write into this container (a job; undefined when the service offers none). */
  preBackup(containerUri: string, signal?: SignalLike): Promise<HsmJobState>;
  startBackup(containerUri: string, signal?: SignalLike): Promise<HsmJobState>;
  backupStatus(jobId: string, signal?: SignalLike): Promise<HsmJobState>;
  /** Restores every version of one key from a backup folder (selective key restore). */
  startKeyRestore(
    containerUri: string,
    folder: string,
    key: string,
    signal?: SignalLike,
  ): Promise<HsmJobState>;
  /** Restores the whole HSM from a backup folder: every key it holds now is replaced. */
  startFullRestore(containerUri: string, folder: string, signal?: SignalLike): Promise<HsmJobState>;
  restoreStatus(jobId: string, signal?: SignalLike): Promise<HsmJobState>;
}

export type HsmFactory = (hsm: VaultRef) => HsmPort;

/** The per-tier containers the HSMs write into: their URIs, made when missing, and their folders' files. */
export interface HsmFolders {
  containerUri(container: string): string;
  ensure(container: string, signal?: SignalLike): Promise<void>;
  /** Every file under folder/, with its bytes and SHA-256 (read back). */
  files(
    container: string,
    folder: string,
    signal?: SignalLike,
  ): Promise<{ name: string; bytes: number; sha256: string }[]>;
}

/**
 * What a restore drill needs of a vault beyond VaultPort: an object's facts (metadata and public
 * material only — never a secret value), and deleting + purging what the drill restored.
 */
export interface VaultInspector {
  facts(kind: Kind, name: string, signal?: SignalLike): Promise<ObjectFacts | undefined>;
  /** Deletes the object and waits until it is in the deleted set (gone already: false). */
  delete(kind: Kind, name: string, signal?: SignalLike): Promise<boolean>;
  /** Purges a deleted object (not deleted: false). */
  purge(kind: Kind, name: string, signal?: SignalLike): Promise<boolean>;
}

export type InspectorFactory = (vault: VaultRef, budget: RateBudget) => VaultInspector;

/** Drill rows in the inventory table (type "drill"), beside the runs. */
export interface DrillStore {
  put(row: DrillRow, signal?: SignalLike): Promise<void>;
  list(
    query: { vault?: string | undefined; top?: number | undefined },
    signal?: SignalLike,
  ): Promise<DrillRow[]>;
}
