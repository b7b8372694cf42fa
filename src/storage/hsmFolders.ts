import { createHash } from "node:crypto";
import type { BlobServiceClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { SignalLike } from "../domain/signal.js";
import { createIfMissing, signalOption, storageCall } from "./storageCall.js";

/**
 * The containers Managed HSMs write their full backups into ({BACKUP_CONTAINER}-hsm-{tier}): the app
 * makes them when missing, hands their URI to the HSM, and reads back what the HSM wrote.
 */
export class HsmFolders {
  constructor(private readonly service: BlobServiceClient) {}

  containerUri(container: string): string {
    return this.service.getContainerClient(container).url;
  }

  async ensure(container: string, signal?: SignalLike): Promise<void> {
    await createIfMissing(
      () => this.service.getContainerClient(container).createIfNotExists(signalOption(signal)),
      { kind: "container", name: container },
    );
  }

  async files(
    container: string,
    folder: string,
    signal?: SignalLike,
  ): Promise<{ name: string; bytes: number; sha256: string }[]> {
    const client = this.service.getContainerClient(container);
    const label: StorageTarget = { kind: "container", name: container };
    const names = await storageCall(async () => {
      const out: string[] = [];
      for await (const b of client.listBlobsFlat({ prefix: `${folder}/`, ...signalOption(signal) }))
        out.push(b.name);
      return out;
    }, label);
    const files: { name: string; bytes: number; sha256: string }[] = [];
    for (const name of names.sort()) {
      const bytes = await storageCall(
        () => client.getBlobClient(name).downloadToBuffer(0, undefined, signalOption(signal)),
        label,
      );
      files.push({ name, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
    }
    return files;
  }
}
