import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { CopyConfig } from "../domain/config.js";
import { type CopyAdded, type CopyCheckResult, CopyLabel } from "../domain/copyFacts.js";
import { isKvBackupError, KvBackupError } from "../domain/errors.js";
import type { BlobFacts } from "../domain/objects.js";
import type { SignalLike } from "../domain/signal.js";
import { BlobStore, metadataOf } from "./blobStore.js";
import { DocumentStore } from "./documentStore.js";
import { isStorageStatus, signalOption, storageCall } from "./storageCall.js";

/** How long a copy streams after Storage refused to read the primary, before it tries server-side again. */
const StreamForMs = 10 * 60_000;

/** The blob doctor adds to the copy once a day ({CopyMarker}-{yyyy-mm-dd}) and then tries to delete and overwrite (both must be refused). */
export const CopyMarker = "_kvbackup/copy-marker";

/** The app's token for Storage, for the source read of a server-side copy; undefined with a connection string. */
export type SourceToken = (signal?: SignalLike) => Promise<AccessToken | null>;

/** "Storage could not read the copy's source": the primary's firewall refuses Storage's own backend. */
const sourceRefused = (e: unknown): e is KvBackupError =>
  isKvBackupError(e) &&
  (e.failure?.code === "CannotVerifyCopySource" ||
    // Older service versions answer a source they cannot read without that code.
    (e.failure?.status === 403 && /copy source/i.test(e.failure?.message ?? "")));

/**
 * The isolated copy's container in another account (CopyPort). The app's identity there may read
 * and add (Key Vault Backup Copy Writer), so every write is conditional (If-None-Match: *): a blob
 * already there is "present", never written over.
 */
export class CopyTarget {
  readonly blobs: BlobStore;
  readonly documents: DocumentStore;
  /** Why blobs are streamed: no token for the source (always), or Storage refused to read the primary (for a while). */
  private streamOnly: string | undefined;
  /** Until when a refusal of Storage's source read is believed (then server-side is tried again: rules change). */
  private streamUntil = Number.POSITIVE_INFINITY;

  constructor(
    private readonly copy: ContainerClient,
    private readonly source: ContainerClient,
    private readonly token: SourceToken | undefined,
  ) {
    this.blobs = new BlobStore(copy, CopyLabel);
    this.documents = new DocumentStore(copy, CopyLabel);
    if (!token)
      this.streamOnly =
        "the backup account is reached with a connection string: no token to authorise Storage's read";
  }

  get where(): string {
    return this.copy.url;
  }

  private get label(): StorageTarget {
    return { kind: "container", name: `${this.copy.containerName}${CopyLabel}` };
  }

  async folders(prefix: string, signal?: SignalLike): Promise<string[]> {
    const found: string[] = [];
    await storageCall(async () => {
      for await (const item of this.copy.listBlobsByHierarchy("/", { prefix, ...signalOption(signal) }))
        if (item.kind === "prefix") found.push(item.name);
    }, this.label);
    return found;
  }

  async add(path: string, facts?: BlobFacts, signal?: SignalLike): Promise<CopyAdded> {
    if (this.streamOnly && Date.now() > this.streamUntil) this.streamOnly = undefined;
    if (!this.streamOnly) {
      try {
        return { outcome: await this.serverSide(path, facts, signal), method: "server-side" };
      } catch (e) {
        if (!sourceRefused(e)) throw e;
        this.streamUntil = Date.now() + StreamForMs;
        this.streamOnly = `Storage could not read the backup account (${e.failure?.code ?? e.failure?.status}): its firewall admits the Function's subnet, not Storage's own copy service`;
        const outcome = await this.streamed(path, signal);
        return { outcome, method: "streamed", fellBack: this.streamOnly };
      }
    }
    return { outcome: await this.streamed(path, signal), method: "streamed" };
  }

  /** Put Blob From URL: the copy account reads the primary's blob with the app's own bearer token. */
  private async serverSide(
    path: string,
    facts?: BlobFacts,
    signal?: SignalLike,
  ): Promise<CopyAdded["outcome"]> {
    const token = await (this.token as SourceToken)(signal);
    if (!token) throw new KvBackupError("StorageFailed", "no token for the copy's source read");
    try {
      await storageCall(
        () =>
          this.copy.getBlockBlobClient(path).syncUploadFromURL(this.source.getBlobClient(path).url, {
            sourceAuthorization: { scheme: "Bearer", value: token.token },
            ...(facts?.sha256 ? { metadata: metadataOf(facts) } : {}),
            conditions: { ifNoneMatch: "*" },
            ...signalOption(signal),
          }),
        this.label,
      );
      return "added";
    } catch (e) {
      if (isStorageStatus(e, 409, "BlobAlreadyExists") || isStorageStatus(e, 412)) return "present";
      throw e;
    }
  }

  /** Read from the primary (through the Function's own network path), written to the copy once. */
  private async streamed(path: string, signal?: SignalLike): Promise<CopyAdded["outcome"]> {
    const from = this.source.getBlockBlobClient(path);
    const source = { kind: "container", name: this.source.containerName } as const;
    // One read: the bytes and, from the same response, the properties and metadata they were written with.
    const { props, bytes } = await storageCall(async () => {
      const props = await from.download(0, undefined, signalOption(signal));
      const chunks: Buffer[] = [];
      for await (const c of props.readableStreamBody ?? []) chunks.push(Buffer.from(c as Buffer));
      return { props, bytes: Buffer.concat(chunks) };
    }, source);
    try {
      await storageCall(
        () =>
          this.copy.getBlockBlobClient(path).uploadData(bytes, {
            blobHTTPHeaders: {
              ...(props.contentMD5 ? { blobContentMD5: props.contentMD5 } : {}),
              blobContentType: props.contentType ?? "application/octet-stream",
            },
            ...(props.metadata ? { metadata: props.metadata } : {}),
            conditions: { ifNoneMatch: "*" },
            ...signalOption(signal),
          }),
        this.label,
      );
      return "added";
    } catch (e) {
      if (isStorageStatus(e, 409) || isStorageStatus(e, 412)) return "present";
      throw e;
    }
  }

  async check(signal?: SignalLike, today = new Date()): Promise<CopyCheckResult> {
    // One marker a day: the first check of the day proves the add right by adding it (a blob there
    // already proves nothing, and whether Storage answers an add-only identity's If-None-Match over
    // an existing blob with 409 or 403 is not documented); later checks that day find it.
    const marker = this.copy.getBlockBlobClient(`${CopyMarker}-${today.toISOString().slice(0, 10)}`);
    const step = async <T>(fn: () => Promise<T>): Promise<T | KvBackupError> => {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof KvBackupError) return e;
        throw e;
      }
    };
    const read = await step(async () => {
      await storageCall(
        () =>
          this.copy
            .listBlobsFlat({ ...signalOption(signal) })
            .byPage({ maxPageSize: 1 })
            .next(),
        this.label,
      );
      return "ok" as const;
    });
    const body = Buffer.from("kvbackup: the app may add here, never delete or overwrite\n");
    const add = await step(async () => {
      const there = await storageCall(() => marker.exists(signalOption(signal)), this.label);
      if (!there)
        await storageCall(
          () => marker.uploadData(body, { conditions: { ifNoneMatch: "*" }, ...signalOption(signal) }),
          this.label,
        );
      return "ok" as const;
    });
    if (add !== "ok") return { read, add, remove: "skipped", overwrite: "skipped" };
    // Both must be refused by the role (403): Storage checks the role before the container's
    // immutability, so a 409 (BlobImmutableDueToPolicy) means the role let the call through, and
    // only the retention stopped it — until the version's retention ends.
    const refusedOr = async <T>(done: T, fn: () => Promise<unknown>) =>
      step(async () => {
        try {
          await storageCall(fn, this.label);
          return done;
        } catch (e) {
          if (isStorageStatus(e, 403, "AuthorizationPermissionMismatch")) return "refused" as const;
          if (isStorageStatus(e, 409)) return "retained" as const;
          throw e;
        }
      });
    const overwrite = await refusedOr("overwritten" as const, () =>
      marker.uploadData(body, signalOption(signal)),
    );
    const remove = await refusedOr("deleted" as const, () => marker.delete(signalOption(signal)));
    return { read, add, remove, overwrite };
  }
}

/**
 * The isolated copy as the app reaches it: `credential` on the copy's account (the app's storage
 * identity, or in another tenant its app registration there); the primary's blobs are the source,
 * read by Storage with the backup account's identity's token (with a connection string there is
 * none: every blob is streamed through the app).
 */
export function copyTarget(
  copy: CopyConfig,
  credential: TokenCredential,
  primary: ContainerClient,
  /** The backup account's identity, whose token authorises Storage's read of the source (none with a connection string). */
  source: { credential: TokenCredential; identity: boolean },
): CopyTarget {
  const client = new BlobServiceClient(copy.blobServiceUri, credential).getContainerClient(copy.container);
  const token: SourceToken | undefined = source.identity
    ? (signal) =>
        source.credential.getToken(
          "https://storage.azure.com/.default",
          signal ? { abortSignal: signal } : {},
        )
    : undefined;
  return new CopyTarget(client, primary, token);
}
