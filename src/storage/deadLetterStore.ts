import type { ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import { KvBackupError } from "../domain/errors.js";
import type { SignalLike } from "../domain/signal.js";
import { isStorageStatus, signalOption, storageCall } from "./storageCall.js";

/** A dead-letter blob larger than this is not read (Event Grid writes one event, or a few, per blob). */
const MaxBlobBytes = 1024 * 1024;

/** Event Grid's dead-letter container (BACKUP_EVENTS_DEADLETTER_CONTAINER): listed, read, removed once replayed. */
export class DeadLetterStore {
  constructor(private readonly client: ContainerClient) {}

  get container(): string {
    return this.client.containerName;
  }

  private get label(): StorageTarget {
    return { kind: "container", name: this.client.containerName };
  }

  async list(
    max: number,
    signal?: SignalLike,
  ): Promise<{ blobs: { blob: string; bytes: number; lastModified?: string }[]; more: boolean }> {
    const blobs: { blob: string; bytes: number; lastModified?: string }[] = [];
    let more = false;
    await storageCall(async () => {
      for await (const page of this.client
        .listBlobsFlat(signalOption(signal))
        .byPage({ maxPageSize: 1000 })) {
        for (const b of page.segment.blobItems) {
          if (blobs.length >= max) {
            more = true;
            return;
          }
          blobs.push({
            blob: b.name,
            bytes: b.properties.contentLength ?? 0,
            ...(b.properties.lastModified ? { lastModified: b.properties.lastModified.toISOString() } : {}),
          });
        }
      }
    }, this.label);
    return { blobs, more };
  }

  /** The blob's text; undefined when it is gone since it was listed (another replay removed it). */
  async read(blob: string, bytes: number, signal?: SignalLike): Promise<string | undefined> {
    if (bytes > MaxBlobBytes)
      throw new KvBackupError("BadRequest", `dead letter ${blob} is ${bytes} bytes: not read (over 1 MiB)`);
    try {
      const buffer = await storageCall(
        () => this.client.getBlobClient(blob).downloadToBuffer(0, undefined, signalOption(signal)),
        this.label,
      );
      return buffer.toString("utf8");
    } catch (e) {
      if (isStorageStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Removes a dead letter once what it names is backed up; gone already is fine. */
  async remove(blob: string, signal?: SignalLike): Promise<void> {
    try {
      await storageCall(() => this.client.getBlobClient(blob).delete(signalOption(signal)), this.label);
    } catch (e) {
      if (!isStorageStatus(e, 404)) throw e;
    }
  }
}
