import { createHash, randomUUID } from "node:crypto";
import type { BlobLeaseClient, ContainerClient } from "@azure/storage-blob";
import type { SignalLike } from "../backup/delay.js";
import type { Manifest } from "../backup/manifest.js";
import { KvBackupError } from "../errors.js";
import { isStorageStatus, storageCall } from "./storageError.js";

export interface StoredBlob {
  name: string;
  bytes: number;
  sha256?: string;
}

/**
 * The backup container: the preflight, one blob per object (Content-MD5, SHA-256 in metadata,
 * written once), the manifest, and a lease per vault so two runs of one vault never overlap.
 */
export class BackupStore {
  /** leaseSeconds: 15-60, Azure's range for a finite lease. */
  constructor(
    private readonly container: ContainerClient,
    private readonly leaseSeconds = 60,
  ) {}

  get containerName(): string {
    return this.container.containerName;
  }

  /** Creates the container if missing, writes and deletes a probe blob: proves the network path and the role. */
  async preflight(signal?: SignalLike): Promise<void> {
    const options = signal ? { abortSignal: signal } : {};
    await storageCall(() => this.container.createIfNotExists(options));
    const probe = this.container.getBlockBlobClient(`_preflight/${randomUUID()}`);
    await storageCall(() =>
      probe.uploadData(Buffer.from("kvbackup preflight"), { ...options, conditions: { ifNoneMatch: "*" } }),
    );
    await storageCall(() => probe.delete(options));
  }

  /** Writes an object's backup once. Returns false when the blob already exists (a resumed run). */
  async putOnce(name: string, bytes: Uint8Array, sha256: string, signal?: SignalLike): Promise<boolean> {
    const md5 = createHash("md5").update(bytes).digest();
    try {
      await storageCall(() =>
        this.container.getBlockBlobClient(name).uploadData(bytes, {
          blobHTTPHeaders: { blobContentMD5: md5, blobContentType: "application/octet-stream" },
          metadata: { sha256 },
          conditions: { ifNoneMatch: "*" },
          ...(signal ? { abortSignal: signal } : {}),
        }),
      );
      return true;
    } catch (e) {
      if (isStorageStatus(e, 409)) return false;
      throw e;
    }
  }

  /** Blobs already under a run's prefix, with their recorded SHA-256 (resume without re-reading them). */
  async list(prefix: string, signal?: SignalLike): Promise<Map<string, StoredBlob>> {
    const found = new Map<string, StoredBlob>();
    await storageCall(async () => {
      for await (const b of this.container.listBlobsFlat({
        prefix,
        includeMetadata: true,
        ...(signal ? { abortSignal: signal } : {}),
      })) {
        const sha256 = b.metadata?.sha256;
        found.set(b.name, {
          name: b.name,
          bytes: b.properties.contentLength ?? 0,
          ...(sha256 ? { sha256 } : {}),
        });
      }
    });
    return found;
  }

  async read(name: string, signal?: SignalLike): Promise<Buffer> {
    return storageCall(() =>
      this.container
        .getBlockBlobClient(name)
        .downloadToBuffer(0, undefined, signal ? { abortSignal: signal } : {}),
    );
  }

  /** The manifest is the commit: written once, last. */
  async writeManifest(name: string, manifest: Manifest): Promise<void> {
    await this.uploadJson(name, manifest, true);
  }

  async readManifest(name: string): Promise<Manifest | undefined> {
    return this.getJson<Manifest>(name);
  }

  /** A small JSON document that may be rewritten (restore state). */
  async putJson(name: string, value: unknown): Promise<void> {
    await this.uploadJson(name, value, false);
  }

  private async uploadJson(name: string, value: unknown, once: boolean): Promise<void> {
    const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
    const md5 = createHash("md5").update(bytes).digest();
    await storageCall(() =>
      this.container.getBlockBlobClient(name).uploadData(bytes, {
        blobHTTPHeaders: { blobContentMD5: md5, blobContentType: "application/json" },
        ...(once ? { conditions: { ifNoneMatch: "*" } } : {}),
      }),
    );
  }

  async getJson<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse((await this.read(name)).toString("utf8")) as T;
    } catch (e) {
      if (isStorageStatus(e, 404)) return undefined;
      if (e instanceof SyntaxError)
        throw new KvBackupError("CorruptBlob", `${name} is not valid JSON`, { cause: e });
      throw e;
    }
  }

  /**
   * Takes the vault's lease (locks/{vault}.lock) for the length of a run, renewing it while held.
   * A second run of the same vault gets AlreadyRunning and touches nothing.
   */
  async lock(vault: string, onLost: () => void = () => undefined): Promise<{ release(): Promise<void> }> {
    const blob = this.container.getBlockBlobClient(`locks/${vault}.lock`);
    try {
      await storageCall(() => blob.uploadData(Buffer.from(vault), { conditions: { ifNoneMatch: "*" } }));
    } catch (e) {
      if (!isStorageStatus(e, 409)) throw e;
    }
    const lease: BlobLeaseClient = blob.getBlobLeaseClient();
    try {
      await storageCall(() => lease.acquireLease(this.leaseSeconds));
    } catch (e) {
      if (isStorageStatus(e, 409)) {
        throw new KvBackupError(
          "AlreadyRunning",
          `a backup of vault '${vault}' is already running (its lease is held); try again when it ends`,
          {
            cause: e,
            retryable: true,
          },
        );
      }
      throw e;
    }
    // Renewed three times per lease period. A lease taken away (409/412) or not renewed for a whole
    // period means another run may own the vault now: the caller is told and stops.
    let renewedAt = Date.now();
    let lost = false;
    const renew = setInterval(
      () => {
        storageCall(() => lease.renewLease())
          .then(() => {
            renewedAt = Date.now();
          })
          .catch((e: unknown) => {
            const taken = isStorageStatus(e, 409) || isStorageStatus(e, 412);
            if (!lost && (taken || Date.now() - renewedAt >= this.leaseSeconds * 1000)) {
              lost = true;
              clearInterval(renew);
              onLost();
            }
          });
      },
      (this.leaseSeconds * 1000) / 3,
    );
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        if (!lost) await lease.releaseLease().catch(() => undefined);
      },
    };
  }
}
