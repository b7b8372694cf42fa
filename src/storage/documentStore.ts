import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { ChunkedDocument } from "../domain/manifest.js";
import type { SignalLike } from "../domain/signal.js";
import { isStorageStatus, signalOption, storageCall } from "./storageCall.js";

/** Above this, a document is uploaded as a stream of blocks. */
const LargeDocumentBytes = 8 * 1024 * 1024;

/** Small JSON documents in the container: manifests (written once) and restore states (rewritten under an ETag). */
export class DocumentStore {
  constructor(
    private readonly client: ContainerClient,
    /** Appended to the container's name in failures (the isolated copy's: " (isolated copy)"). */
    private readonly labelSuffix = "",
  ) {}

  private get label(): StorageTarget {
    return { kind: "container", name: `${this.client.containerName}${this.labelSuffix}` };
  }

  async read(path: string, signal?: SignalLike): Promise<{ bytes: Uint8Array; etag: string } | undefined> {
    try {
      const blob = this.client.getBlockBlobClient(path);
      const res = await storageCall(() => blob.download(0, undefined, signalOption(signal)), this.label);
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody ?? []) chunks.push(Buffer.from(c as Buffer));
      return { bytes: Buffer.concat(chunks), etag: res.etag ?? "" };
    } catch (e) {
      if (isStorageStatus(e, 404)) return undefined;
      throw e;
    }
  }

  async create(path: string, bytes: Uint8Array | ChunkedDocument, signal?: SignalLike): Promise<boolean> {
    if (bytes instanceof Uint8Array)
      return (await this.upload(path, bytes, { ifNoneMatch: "*" }, signal)) !== undefined;
    // One pass for the size and the MD5 storage checks on arrival; nothing of it is kept.
    const md5 = createHash("md5");
    let size = 0;
    for (const c of bytes.chunks()) {
      md5.update(c);
      size += typeof c === "string" ? Buffer.byteLength(c) : c.length;
    }
    // Small documents in one put; a large manifest streamed as blocks as its chunks are made.
    if (size <= LargeDocumentBytes) {
      const whole = Buffer.concat(
        [...bytes.chunks()].map((c) => (typeof c === "string" ? Buffer.from(c) : c)),
      );
      return (await this.upload(path, whole, { ifNoneMatch: "*" }, signal)) !== undefined;
    }
    const contentMD5 = md5.digest();
    try {
      await storageCall(
        () =>
          this.client
            .getBlockBlobClient(path)
            // Blocks of 1 MiB, 4 in flight: at most a few MiB of the document in memory at once
            // (4 MiB blocks held ~20 MB more at a 100,000-object commit).
            .uploadStream(Readable.from(bytes.chunks()), 1024 * 1024, 4, {
              blobHTTPHeaders: { blobContentMD5: contentMD5, blobContentType: "application/json" },
              conditions: { ifNoneMatch: "*" },
              ...signalOption(signal),
            }),
        this.label,
      );
      return true;
    } catch (e) {
      if (isStorageStatus(e, 409) || isStorageStatus(e, 412)) return false;
      throw e;
    }
  }

  async replace(
    path: string,
    bytes: Uint8Array,
    etag?: string,
    signal?: SignalLike,
  ): Promise<string | undefined> {
    return this.upload(path, bytes, etag ? { ifMatch: etag } : {}, signal);
  }

  private async upload(
    path: string,
    bytes: Uint8Array,
    conditions: { ifNoneMatch?: string; ifMatch?: string },
    signal?: SignalLike,
  ): Promise<string | undefined> {
    try {
      const res = await storageCall(
        () =>
          this.client.getBlockBlobClient(path).uploadData(bytes, {
            blobHTTPHeaders: {
              blobContentMD5: createHash("md5").update(bytes).digest(),
              blobContentType: "application/json",
            },
            conditions,
            ...signalOption(signal),
          }),
        this.label,
      );
      return res.etag ?? "";
    } catch (e) {
      if (isStorageStatus(e, 409) || isStorageStatus(e, 412)) return undefined;
      throw e;
    }
  }
}
