import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { CopyWriterRole } from "../../../src/domain/permissions.js";
import { trustStackCa } from "../tls.js";
import {
  type CallerDirectory,
  OpenFirewall,
  StorageFaultProxy,
  type StorageFirewall,
  tokenOid,
} from "./faultProxy.js";
import { answer, isPutBlobFromUrl, putBlobFromUrl } from "./putBlobFromUrl.js";
import { storageError } from "./storageErrors.js";

/** The isolated copy's storage account in the local stack, and the container its owners make. */
export const CopyAccount = { name: "kvbackupcopy", container: "keyvault-backups" } as const;

/** A storage account key made at run time (64 random bytes, base64), never committed nor written to stack.env. */
export const newAccountKey = (): string => randomBytes(64).toString("base64");

const containers = (what: string): string =>
  `Microsoft.Storage/storageAccounts/blobServices/containers/${what}`;
const blobs = (what: string): string => containers(`blobs/${what}`);

/** What a request does, as the role model and the immutability model need to know it. */
type Intent =
  | { kind: "read" | "delete" | "modify" | "container" | "account"; needs: string[] }
  /** Put Blob, Put Block, Put Block List, Put Blob From URL, Copy Blob: new content for the blob. */
  | { kind: "commit" | "stage"; needs: [] };

function intentOf(method: string, url: URL, blob: string | undefined, container: string | undefined): Intent {
  const comp = url.searchParams.get("comp");
  if (!container) return { kind: "account", needs: [containers("read")] };
  if (!blob) {
    // Listing and the container's properties are what a reader of the container does (the model's
    // simplification: Azure checks containers/read there, a control-plane action); the rest needs
    // container write or delete, which no data role grants.
    if (method === "GET" || method === "HEAD")
      return comp === "list" || !comp
        ? { kind: "container", needs: [blobs("read")] }
        : { kind: "container", needs: [containers("read")] };
    return { kind: "container", needs: [containers(method === "DELETE" ? "delete" : "write")] };
  }
  if (method === "GET" || method === "HEAD")
    return { kind: "read", needs: [blobs(comp === "tags" ? "tags/read" : "read")] };
  if (method === "DELETE") return { kind: "delete", needs: [blobs("delete")] };
  if (method === "PUT" && (!comp || comp === "blocklist")) return { kind: "commit", needs: [] };
  if (method === "PUT" && comp === "block") return { kind: "stage", needs: [] };
  // Metadata, properties, tags, tier, lease, snapshot, immutability policy, legal hold.
  return { kind: "modify", needs: [blobs(comp === "tags" ? "tags/write" : "write")] };
}

const grants = (granted: readonly string[], needed: string): boolean =>
  granted.some((g) => g === needed || g === "*" || (g.endsWith("/*") && needed.startsWith(g.slice(0, -1))));

/**
 * The isolated copy's account: its own blob proxy and firewall model, a role model (principal id ->
 * data actions, the app holding CopyWriterRole) and version-level immutability on the copy's
 * container. Shared Key (the owners) skips the role model; immutability binds everyone.
 */
export class IsolatedCopy {
  readonly account = CopyAccount.name;
  readonly container = CopyAccount.container;
  readonly network: { firewall: StorageFirewall; resources: CallerDirectory } = {
    firewall: { ...OpenFirewall },
    resources: new Map(),
  };
  /** Principal id (token oid) -> data actions. An identity without an entry may do nothing here. */
  readonly roles = new Map<string, readonly string[]>();
  /**
   * Version-level immutability on the copy's container (on by default, as the owners lock it): no
   * delete, no metadata change, and no overwrite — in Azure an overwrite by the owners makes a new
   * version and keeps the old one immutable; Azurite has no versions, so the model refuses it.
   */
  immutable = true;
  readonly proxy: StorageFaultProxy;
  private readonly owner: BlobServiceClient;

  constructor(
    azuriteBlob: string,
    private readonly tls: { cert: string; key: string; ca: string },
    private readonly app: string,
    /** The account key (newAccountKey()): the copy's owners (tests) hold it, never the app. */
    readonly key: string,
  ) {
    this.proxy = new StorageFaultProxy("blob", azuriteBlob, tls, this.network);
    this.proxy.intercept = (req, res, url) => this.handle(req, res, url);
    this.owner = new BlobServiceClient(
      `${azuriteBlob}/${this.account}`,
      new StorageSharedKeyCredential(this.account, this.key),
    );
    this.reset();
  }

  /** The account's blob endpoint through its proxy (BACKUP_COPY_BLOB_URI). */
  get url(): string {
    return `${this.proxy.url}/${this.account}`;
  }

  /** The settings that point the app at the copy. */
  get env(): Record<string, string> {
    return { BACKUP_COPY_BLOB_URI: this.url, BACKUP_COPY_CONTAINER: this.container };
  }

  /** As the owners left it: firewall open, the app's CopyWriterRole only, immutability on, no fault rules. */
  reset(): void {
    Object.assign(this.network.firewall, OpenFirewall, { resourceInstances: [] });
    this.roles.clear();
    this.roles.set(this.app, CopyWriterRole.dataActions);
    this.immutable = true;
    this.proxy.clearRules();
  }

  /** Starts the proxy and makes the container with the key, as the owners' template does. */
  async start(): Promise<void> {
    await this.proxy.start();
    trustStackCa(this.tls.ca);
    await this.owner.getContainerClient(this.container).createIfNotExists();
  }

  stop(): Promise<void> {
    return this.proxy.stop();
  }

  private async exists(container: string, blob: string): Promise<boolean> {
    return this.owner.getContainerClient(container).getBlobClient(blob).exists();
  }

  private async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const method = req.method ?? "GET";
    const clientId =
      typeof req.headers["x-ms-client-request-id"] === "string"
        ? req.headers["x-ms-client-request-id"]
        : undefined;
    const refuse = (fault: Parameters<typeof storageError>[0]) =>
      answer(req, res, storageError(fault, clientId));
    const [account, container, ...rest] = url.pathname.split("/").filter(Boolean);
    // Another account's name on this host is no account at all here.
    if (account !== this.account) return refuse("ResourceNotFound");
    const blob = rest.length ? rest.map(decodeURIComponent).join("/") : undefined;
    const intent = intentOf(method, url, blob, container);
    const createOnly = req.headers["if-none-match"] === "*";
    const exists =
      container && blob && (intent.kind === "commit" || intent.kind === "stage")
        ? await this.exists(container, blob)
        : false;
    const oid = tokenOid(req.headers.authorization);
    if (oid !== undefined) {
      const granted = this.roles.get(oid) ?? [];
      // A blob that is not there may be added (add/action) or written; over one only write will do —
      // unless If-None-Match: * makes the request unable to overwrite, when adding is all it asks.
      const needs =
        intent.kind === "commit" || intent.kind === "stage"
          ? exists && !createOnly
            ? [blobs("write")]
            : [blobs("add/action"), blobs("write")]
          : intent.needs;
      if (!needs.some((n) => grants(granted, n))) return refuse("AuthorizationPermissionMismatch");
    }
    if (intent.kind === "commit" && exists && createOnly) return refuse("BlobAlreadyExists");
    if (this.immutable && container === this.container && blob) {
      const overwrite = intent.kind === "commit" && exists;
      const metadata = intent.kind === "modify" && url.searchParams.get("comp") === "metadata";
      if (intent.kind === "delete" || overwrite || metadata) return refuse("BlobImmutableDueToPolicy");
    }
    if (container && blob && isPutBlobFromUrl(method, url, req.headers))
      return putBlobFromUrl(
        req,
        res,
        this.owner.getContainerClient(container).getBlockBlobClient(blob),
        this.tls.ca,
      );
    return false;
  }
}
