import { createHash } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import type { SignalLike } from "../domain/signal.js";
import { isStorageStatus, signalOption, storageCall } from "./storageCall.js";

/** Small JSON documents in the container: manifests (written once) and restore states (rewritten under an ETag). */
export class DocumentStore {
  constructor(private readonly client: ContainerClient) {}

  private get label(): string {
    return `container '${this.client.containerName}'`;
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

  async create(path: string, bytes: Uint8Array, signal?: SignalLike): Promise<boolean> {
    return (await this.upload(path, bytes, { ifNoneMatch: "*" }, signal)) !== undefined;
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
