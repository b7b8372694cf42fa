import type { BlobStore, CopyAdded, CopyCheckResult, CopyPort } from "../../../src/backup/ports.js";
import type { KvBackupError } from "../../../src/domain/errors.js";
import type { BlobFacts } from "../../../src/domain/objects.js";
import { MemoryStorage, storageError } from "./memoryStorage.js";

/**
 * The isolated copy in memory: a second MemoryStorage that only ever gains blobs (added from the
 * primary's blobs or documents, never over one there), with a fault hook and what doctor's check sees.
 */
export class MemoryCopy implements CopyPort {
  readonly store = new MemoryStorage();
  readonly where = "https://copyacct.blob.core.windows.net/keyvault-backups";
  /** Every path added, in order (the manifest must come last). */
  readonly added: string[] = [];
  /** Strikes an add (the path) with an error. */
  fault: (path: string) => KvBackupError | undefined = () => undefined;
  method: CopyAdded["method"] = "server-side";
  /** What the app may do there (doctor's check): refused as it should be, or allowed. */
  rights: { remove: CopyCheckResult["remove"]; overwrite: CopyCheckResult["overwrite"] } = {
    remove: "refused",
    overwrite: "refused",
  };

  constructor(private readonly primary: MemoryStorage) {}

  /** When each blob was created in the copy (Storage's time; the writer cannot set it). */
  readonly created = new Map<string, string>();
  /** The copy's clock, for creation times: by default the test world's first moment (before anything a test does). */
  now: () => Date = () => new Date("2026-11-26T02:00:00Z");

  readonly blobs: BlobStore = {
    ...this.store.blobStore,
    list: async (prefix, signal) => {
      const listed = await this.store.blobStore.list(prefix, signal);
      for (const [name, b] of listed) {
        const createdOn = this.created.get(name);
        if (createdOn) listed.set(name, { ...b, createdOn });
      }
      return listed;
    },
  };

  get documents() {
    return this.store.documentStore;
  }

  async folders(prefix: string): Promise<string[]> {
    const out = new Set<string>();
    for (const name of [...this.store.blobs.keys(), ...this.store.documents.keys()])
      if (name.startsWith(prefix)) {
        const rest = name.slice(prefix.length);
        const slash = rest.indexOf("/");
        if (slash > 0) out.add(`${prefix}${rest.slice(0, slash + 1)}`);
      }
    return [...out].sort();
  }

  async add(path: string, facts?: BlobFacts): Promise<CopyAdded> {
    const e = this.fault(path);
    if (e) throw e;
    if (this.store.blobs.has(path) || this.store.documents.has(path))
      return { outcome: "present", method: this.method };
    const blob = this.primary.blobs.get(path);
    const doc = this.primary.documents.get(path);
    // Storage's copy carries no metadata over: what the app passes is what the copy's blob says.
    if (blob)
      this.store.blobs.set(path, {
        bytes: Uint8Array.from(blob.bytes),
        facts: structuredClone(facts ?? { sha256: "" }),
      });
    else if (doc)
      this.store.documents.set(path, { bytes: Uint8Array.from(doc.bytes), etag: `"c${this.added.length}"` });
    else throw storageError(404, "CannotVerifyCopySource");
    this.added.push(path);
    this.created.set(path, this.now().toISOString());
    return { outcome: "added", method: this.method };
  }

  async check(): Promise<CopyCheckResult> {
    return { read: "ok", add: "ok", ...this.rights };
  }
}
