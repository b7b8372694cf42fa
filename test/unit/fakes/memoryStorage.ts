import { createHash } from "node:crypto";
import type { BackupJob, RestoreJob } from "../../../src/backup/deps.js";
import type {
  BlobStore,
  BudgetSlots,
  DeadLetters,
  DocumentStore,
  DrillStore,
  EventQueue,
  InventoryStore,
  JobQueue,
  Lease,
  VaultLeases,
} from "../../../src/backup/ports.js";
import type { DrillRow } from "../../../src/domain/drillRecord.js";
import { azureCallError, KvBackupError } from "../../../src/domain/errors.js";
import type { InventoryQuery, InventoryRow } from "../../../src/domain/inventory.js";
import { type BlobFacts, type StoredBlob, strongEtag } from "../../../src/domain/objects.js";

const writes = new WeakMap<object, number>();
let written = 0;

/**
 * A blob's ETag, as storage changes it with every write: each write (a new entry in the map, even of
 * the same bytes and metadata) is a new version, and so is an entry a test edits in place.
 */
const etagOf = (b: { bytes: Uint8Array; facts: BlobFacts }): string => {
  let n = writes.get(b);
  if (n === undefined) {
    n = ++written;
    writes.set(b, n);
  }
  return `"${n}-${createHash("sha256").update(b.bytes).update(JSON.stringify(b.facts)).digest("hex").slice(0, 16)}"`;
};

export const storageError = (status: number, code: string): KvBackupError =>
  azureCallError({ service: "storage", status, code, message: `${code} (test)` });

/** Where a storage fault may strike; a test sets `fault` to pick calls and answer with an error. */
export type StorageOp =
  | "probe"
  | "put"
  | "list"
  | "read"
  | "delete"
  | "copy"
  | "docRead"
  | "docWrite"
  | "lease"
  | "rowWrite"
  | "rowRead"
  | "tableProbe"
  | "send"
  | "receive"
  | "remove"
  | "queueProbe"
  | "deadLetters";

/** The container, the documents, the leases, the inventory and the queues, in memory, with one fault hook. */
export class MemoryStorage {
  readonly blobs = new Map<string, { bytes: Uint8Array; facts: BlobFacts }>();
  readonly documents = new Map<string, { bytes: Uint8Array; etag: string }>();
  readonly rows = new Map<string, InventoryRow>();
  readonly held = new Map<string, (reason?: unknown) => void>();
  readonly queues: { backup: BackupJob[]; restore: RestoreJob[] } = { backup: [], restore: [] };
  /** Every row write, in order (a test asserts one row per runId and how it moved). */
  readonly rowWrites: InventoryRow[] = [];
  fault: (op: StorageOp, path?: string) => KvBackupError | undefined = () => undefined;
  /** A container under an immutability policy: blobs are neither replaced nor deleted. */
  immutable = false;
  /** Server-side copies made (incremental runs). */
  copies = 0;
  private etags = 0;

  private check(op: StorageOp, path?: string): void {
    const e = this.fault(op, path);
    if (e) throw e;
  }

  readonly blobStore: BlobStore = {
    container: "keyvault-backups",
    probe: async () => this.check("probe"),
    putOnce: async (path, bytes, facts, _signal, replace) => {
      this.check("put", path);
      if (this.blobs.has(path) && (!replace || this.immutable)) return undefined;
      const blob = { bytes: Uint8Array.from(bytes), facts: structuredClone(facts) };
      this.blobs.set(path, blob);
      return { etag: etagOf(blob) };
    },
    list: async (prefix) => {
      this.check("list", prefix);
      const out = new Map<string, StoredBlob>();
      for (const [name, b] of this.blobs)
        if (name.startsWith(prefix))
          out.set(name, {
            name,
            bytes: b.bytes.length,
            etag: etagOf(b),
            ...structuredClone(b.facts),
          });
      for (const [name, d] of this.documents)
        if (name.startsWith(prefix)) out.set(name, { name, bytes: d.bytes.length });
      return out;
    },
    read: async (path) => {
      this.check("read", path);
      const b = this.blobs.get(path);
      if (!b) throw storageError(404, "BlobNotFound");
      return Uint8Array.from(b.bytes);
    },
    copy: async (from, to, facts, _signal, sourceEtag) => {
      this.check("copy", to);
      this.copies++;
      const source = this.blobs.get(from);
      if (!source || this.blobs.has(to)) return undefined;
      // x-ms-source-if-match: a source that is no longer that version answers 412.
      if (sourceEtag !== undefined && etagOf(source) !== strongEtag(sourceEtag)) return undefined;
      const blob = { bytes: Uint8Array.from(source.bytes), facts: structuredClone(facts) };
      this.blobs.set(to, blob);
      return { etag: etagOf(blob) };
    },
    delete: async (path) => {
      if (this.immutable) return false;
      this.check("delete", path);
      this.blobs.delete(path);
      return true;
    },
  };

  readonly documentStore: DocumentStore = {
    read: async (path) => {
      this.check("docRead", path);
      const d = this.documents.get(path);
      return d ? { bytes: Uint8Array.from(d.bytes), etag: d.etag } : undefined;
    },
    create: async (path, given) => {
      this.check("docWrite", path);
      if (this.documents.has(path)) return false;
      const bytes =
        given instanceof Uint8Array
          ? given
          : Buffer.concat([...given.chunks()].map((c) => (typeof c === "string" ? Buffer.from(c) : c)));
      this.documents.set(path, { bytes: Uint8Array.from(bytes), etag: `e${++this.etags}` });
      return true;
    },
    replace: async (path, bytes, etag) => {
      this.check("docWrite", path);
      if (etag && this.documents.get(path)?.etag !== etag) return undefined;
      const next = `e${++this.etags}`;
      this.documents.set(path, { bytes: Uint8Array.from(bytes), etag: next });
      return next;
    },
  };

  readonly leases: VaultLeases = {
    acquire: async (vault, onLost): Promise<Lease> => {
      this.check("lease", vault);
      if (this.held.has(vault))
        throw new KvBackupError("AlreadyRunning", `a backup of vault '${vault}' is already running`, {
          retryable: true,
        });
      this.held.set(vault, onLost);
      return { release: async () => void this.held.delete(vault) };
    },
  };

  /** Budget slots held, by scope: slot -> its holder's onLost. */
  readonly slots = new Map<string, Map<number, (reason?: unknown) => void>>();
  /** Every look that found all slots held, for tests to see that a run waited. */
  budgetWaits = 0;

  /** Slots as the blob leases would be: one holder each; every slot held answers undefined. */
  readonly budgetSlots: BudgetSlots = {
    tryAcquire: async (scope, slots, onLost) => {
      this.check("lease", `budget/${scope}`);
      const held = this.slots.get(scope) ?? new Map();
      this.slots.set(scope, held);
      const free = [...Array(slots).keys()].find((i) => !held.has(i));
      if (free === undefined) {
        this.budgetWaits++;
        return undefined;
      }
      held.set(free, onLost);
      return {
        slot: free,
        release: async () => {
          if (held.get(free) === onLost) held.delete(free);
        },
      };
    },
  };

  /** What a lease taken away (or, with a reason, one storage refuses to renew) looks like to the run holding it. */
  loseLease(vault: string, reason?: unknown): void {
    const onLost = this.held.get(vault);
    this.held.delete(vault);
    onLost?.(reason);
  }

  readonly inventory: InventoryStore = {
    probe: async () => this.check("tableProbe"),
    put: async (row) => {
      this.check("rowWrite", row.runId);
      this.rows.set(row.runId, structuredClone(row));
      this.rowWrites.push(structuredClone(row));
    },
    list: async (q: InventoryQuery) => {
      this.check("rowRead");
      return [...this.rows.values()]
        .filter(
          (r) =>
            (!q.vault || r.vault === q.vault) &&
            (!q.status || r.status === q.status) &&
            (!q.since || r.startedAt >= q.since) &&
            (!q.until || r.startedAt <= q.until),
        )
        .sort((a, b) => (a.runId < b.runId ? 1 : -1))
        .slice(0, q.top ?? 50)
        .map((r) => structuredClone(r));
    },
    get: async (runId, vault) => {
      this.check("rowRead", runId);
      const r = this.rows.get(runId);
      return r && (!vault || r.vault === vault) ? structuredClone(r) : undefined;
    },
  };

  /** Drill rows (type "drill"), by drillId. */
  readonly drillRows = new Map<string, DrillRow>();
  readonly drills: DrillStore = {
    put: async (row) => {
      this.check("rowWrite", row.drillId);
      this.drillRows.set(row.drillId, structuredClone(row));
    },
    list: async (q) =>
      [...this.drillRows.values()]
        .filter((r) => !q.vault || r.vault === q.vault)
        .sort((a, b) => (a.drillId < b.drillId ? 1 : -1))
        .slice(0, q.top ?? 50)
        .map((r) => structuredClone(r)),
  };

  queue<T extends BackupJob | RestoreJob>(name: "backup" | "restore"): JobQueue<T> {
    const list = this.queues[name] as T[];
    return {
      name: `${name}-jobs`,
      send: async (job) => {
        this.check("send", name);
        list.push(structuredClone(job));
      },
      probe: async () => this.check("queueProbe", name),
    };
  }

  /** The events queue: what Event Grid delivered; a message received is hidden until removed (or revealed). */
  readonly eventMessages: {
    id: string;
    popReceipt: string;
    text: string;
    dequeueCount: number;
    hidden: boolean;
  }[] = [];

  /** Messages ever put on the events queue: each gets an id of its own, as the service gives. */
  private messagesSent = 0;

  /** Delivers a message as Event Grid would (its text as the queue holds it). */
  deliver(text: string): void {
    const id = `m${++this.messagesSent}`;
    this.eventMessages.push({ id, popReceipt: `p-${id}`, text, dequeueCount: 0, hidden: false });
  }

  readonly eventQueue: EventQueue = {
    name: "keyvault-events",
    receive: async (max) => {
      this.check("receive", "keyvault-events");
      const out = this.eventMessages.filter((m) => !m.hidden).slice(0, max);
      for (const m of out) {
        m.hidden = true;
        m.dequeueCount++;
      }
      return out.map(({ id, popReceipt, text, dequeueCount }) => ({ id, popReceipt, text, dequeueCount }));
    },
    remove: async (message) => {
      this.check("remove", "keyvault-events");
      const i = this.eventMessages.findIndex((m) => m.id === message.id);
      if (i >= 0) this.eventMessages.splice(i, 1);
    },
    sendLater: async (text) => {
      this.check("send", "keyvault-events");
      const id = `m${++this.messagesSent}`;
      this.eventMessages.push({ id, popReceipt: `p-${id}`, text, dequeueCount: 0, hidden: true });
    },
    probe: async () => this.check("queueProbe", "keyvault-events"),
    waiting: async () => this.eventMessages.length,
  };

  /** Event Grid's dead-letter container: blob name -> its text. */
  readonly deadLetterBlobs = new Map<string, string>();

  readonly deadLetterStore: DeadLetters = {
    container: "keyvault-events-deadletter",
    list: async (max) => {
      this.check("deadLetters", "keyvault-events-deadletter");
      const names = [...this.deadLetterBlobs.keys()].sort();
      return {
        blobs: names
          .slice(0, max)
          .map((blob) => ({ blob, bytes: Buffer.byteLength(this.deadLetterBlobs.get(blob) ?? "") })),
        more: names.length > max,
      };
    },
    read: async (blob) => {
      this.check("deadLetters", blob);
      const text = this.deadLetterBlobs.get(blob);
      if (text === undefined) return undefined;
      return text;
    },
    remove: async (blob) => {
      this.check("deadLetters", blob);
      this.deadLetterBlobs.delete(blob);
    },
  };
}
