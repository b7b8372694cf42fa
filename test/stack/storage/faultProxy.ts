import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, request, type Server } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { closeNow, listenLoopback } from "../loopback.js";
import { type StorageFault, storageError } from "./storageErrors.js";

export type StorageService = "blob" | "queue" | "table";

/** Names Azure gives blob operations, derived from method and query (enough to aim a rule). */
export function blobOperation(method: string, url: URL): string {
  const comp = url.searchParams.get("comp");
  const restype = url.searchParams.get("restype");
  const segments = url.pathname.split("/").filter(Boolean);
  const onContainer = restype === "container";
  if (restype === "service")
    return comp === "properties"
      ? `${method === "PUT" ? "Set" : "Get"}BlobServiceProperties`
      : "ServiceOperation";
  if (segments.length <= 1 && comp === "list") return "ListContainers";
  if (onContainer) {
    if (comp === "list") return "ListBlobs";
    if (comp === "lease") return "LeaseContainer";
    if (comp === "acl") return method === "PUT" ? "SetContainerAcl" : "GetContainerAcl";
    if (comp === "metadata") return "SetContainerMetadata";
    return (
      (
        {
          PUT: "CreateContainer",
          DELETE: "DeleteContainer",
          GET: "GetContainerProperties",
          HEAD: "GetContainerProperties",
        } as Record<string, string>
      )[method] ?? "ContainerOperation"
    );
  }
  if (comp === "blobs") return "FindBlobsByTags";
  if (comp === "block") return "PutBlock";
  if (comp === "blocklist") return method === "PUT" ? "PutBlockList" : "GetBlockList";
  if (comp === "lease") return "LeaseBlob";
  if (comp === "metadata") return "SetBlobMetadata";
  if (comp === "tags") return method === "PUT" ? "SetBlobTags" : "GetBlobTags";
  if (comp === "properties") return "SetBlobProperties";
  return (
    (
      { PUT: "PutBlob", GET: "GetBlob", HEAD: "GetBlobProperties", DELETE: "DeleteBlob" } as Record<
        string,
        string
      >
    )[method] ?? "BlobOperation"
  );
}

export interface FaultRule {
  id?: string;
  service?: StorageService;
  account?: string;
  /** Path after the account, e.g. "/keyvault-backups/daily/". */
  pathPrefix?: string;
  method?: string;
  /** A blob operation name from blobOperation(), e.g. "PutBlob". */
  operation?: string;
  /** Match by how the request authenticates: "sharedKey" reproduces an account with shared key access disabled. */
  auth?: "sharedKey" | "bearer" | "sas";
  /** Answer with this fault instead of forwarding (omit to only add latency). */
  fault?: StorageFault;
  /** Answer with exactly this (a real error body from the fixtures) instead of forwarding. */
  response?: { status: number; headers?: Record<string, string>; body: string | Buffer };
  latencyMs?: number;
  /** Apply this many times, then the rule retires (default: forever). */
  times?: number;
}

/**
 * The storage account's network rules as Azure evaluates them for the callers the stack has: the
 * Function (its integration subnet: a virtual network rule), a Managed HSM writing as itself (admitted
 * by a resource instance rule naming it, or by the trusted-services bypass), nobody else.
 */
export interface StorageFirewall {
  defaultAction: "Allow" | "Deny";
  /** A virtual network rule for the Function's subnet: admits the app (the Function, the CLI in the stack). */
  functionSubnet: boolean;
  /** Resource instance rules: resource ids of Azure resources admitted by their identity. */
  resourceInstances: string[];
  /** "Allow trusted Microsoft services" (bypass AzureServices): admits every trusted resource. */
  trustedServices: boolean;
}

export const OpenFirewall: StorageFirewall = {
  defaultAction: "Allow",
  functionSubnet: false,
  resourceInstances: [],
  trustedServices: false,
};

/** Who is calling, from the token's object id: an Azure resource the stack registered, or the app. */
export type CallerDirectory = Map<string, string>;

/** Set only by the stack's proxies, on a copy's source read: the caller is another account's storage backend. */
export const StorageServiceCaller = { header: "x-stack-caller", value: "storage-service" } as const;

/** The object id (oid) of a bearer token's principal, undefined for any other authorization. */
export function tokenOid(authorization: string | undefined): string | undefined {
  if (!authorization?.startsWith("Bearer ")) return undefined;
  try {
    const payload = authorization.slice(7).split(".")[1] ?? "";
    return (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { oid?: string }).oid;
  } catch {
    return undefined;
  }
}

interface ActiveRule extends FaultRule {
  id: string;
  hits: number;
}

/**
 * A TLS proxy in front of one Azurite service that answers by rule with the real Azure 403s
 * (firewall, RBAC, shared key disabled) or 503 ServerBusy, or adds latency; everything else is forwarded.
 * This is how tests reproduce "storage firewall enabled from selected networks".
 */
export class StorageFaultProxy {
  private server: Server | undefined;
  private rules: ActiveRule[] = [];
  url = "";
  forwarded = 0;
  faulted = 0;
  /** Refused by the firewall model, by caller: "app" or the resource id. */
  readonly refusedBy = new Map<string, number>();
  /** The account's own behaviour past the firewall and the rules (the copy's): true = answered, nothing forwarded. */
  intercept: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>) | undefined;
  /** Awaited before a request is forwarded (method, path): a test holds one there (to kill its caller mid-call). */
  gate: ((method: string, path: string) => Promise<void> | undefined) | undefined;

  constructor(
    readonly service: StorageService,
    private readonly target: string,
    private readonly tls: { cert: string; key: string; ca: string },
    /** Shared by the account's three proxies: one account, one firewall. */
    private readonly network: { firewall: StorageFirewall; resources: CallerDirectory } = {
      firewall: { ...OpenFirewall },
      resources: new Map(),
    },
  ) {}

  /** Storage's network check, before authentication: undefined = admitted, else who was refused. */
  private refused(headers: IncomingMessage["headers"]): string | undefined {
    const fw = this.network.firewall;
    if (fw.defaultAction === "Allow") return undefined;
    // Another account's copy service reading a source (Put Blob From URL) calls from that storage
    // backend's dynamic addresses: no network rule names them and the trusted-services bypass does not
    // cover them, so a firewalled source fails the copy with CannotVerifyCopySource
    // (Azure/azure-storage-azcopy#755, #1003, #3057).
    if (headers[StorageServiceCaller.header] === StorageServiceCaller.value) return "storage-service";
    const oid = tokenOid(headers.authorization);
    const resource = oid ? this.network.resources.get(oid) : undefined;
    // Event Grid delivers through a storage firewall only with the system topic's system-assigned
    // identity, and only when trusted Microsoft services are allowed (learn.microsoft.com/azure/
    // event-grid/handler-storage-queues); no resource instance rule is documented for it.
    if (resource && /\/providers\/Microsoft\.EventGrid\//i.test(resource))
      return fw.trustedServices ? undefined : resource;
    if (resource) {
      const named = fw.resourceInstances.some((r) => r.toLowerCase() === resource.toLowerCase());
      return named || fw.trustedServices ? undefined : resource;
    }
    return fw.functionSubnet ? undefined : "app";
  }

  addRule(rule: FaultRule): string {
    const id = rule.id ?? randomUUID();
    this.rules.push({ ...rule, id, hits: 0 });
    return id;
  }

  removeRule(id: string): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clearRules(): void {
    this.rules = [];
  }

  listRules(): readonly (FaultRule & { hits: number })[] {
    return this.rules.map((r) => ({ ...r }));
  }

  private find(method: string, url: URL, authorization: string | undefined): ActiveRule | undefined {
    const auth = authorization?.startsWith("SharedKey")
      ? "sharedKey"
      : authorization?.startsWith("Bearer")
        ? "bearer"
        : url.searchParams.has("sig")
          ? "sas"
          : undefined;
    const [account = "", ...rest] = url.pathname.split("/").filter(Boolean);
    const path = `/${rest.join("/")}`;
    return this.rules.find(
      (r) =>
        (r.times === undefined || r.hits < r.times) &&
        (!r.service || r.service === this.service) &&
        (!r.account || r.account === account) &&
        (!r.pathPrefix || path.startsWith(r.pathPrefix)) &&
        (!r.method || r.method.toUpperCase() === method) &&
        (!r.operation || (this.service === "blob" && blobOperation(method, url) === r.operation)) &&
        (!r.auth || r.auth === auth),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const refused = this.refused(req.headers);
    if (refused) {
      this.refusedBy.set(refused, (this.refusedBy.get(refused) ?? 0) + 1);
      this.faulted++;
      req.resume();
      const clientId = req.headers["x-ms-client-request-id"];
      const e = storageError(
        "AuthorizationFailure",
        typeof clientId === "string" ? clientId : undefined,
        this.service,
      );
      res.writeHead(e.status, e.statusText, e.headers);
      res.end(e.body);
      return;
    }
    const rule = this.find(method, url, req.headers.authorization);
    if (rule) {
      rule.hits++;
      if (rule.latencyMs) await sleep(rule.latencyMs);
      if (rule.response) {
        this.faulted++;
        req.resume();
        const body = Buffer.isBuffer(rule.response.body)
          ? rule.response.body
          : Buffer.from(rule.response.body, "utf8");
        res.writeHead(rule.response.status, {
          "content-length": String(body.length),
          ...rule.response.headers,
        });
        res.end(body);
        return;
      }
      if (rule.fault) {
        this.faulted++;
        req.resume();
        const clientId = req.headers["x-ms-client-request-id"];
        const e = storageError(rule.fault, typeof clientId === "string" ? clientId : undefined, this.service);
        res.writeHead(e.status, e.statusText, e.headers);
        res.end(e.body);
        return;
      }
    }
    if (await this.intercept?.(req, res, url)) return;
    await this.gate?.(method, url.pathname);
    this.forwarded++;
    const target = new URL(this.target);
    const { [StorageServiceCaller.header]: _caller, ...headers } = req.headers;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: req.url,
        headers: { ...headers, host: target.host },
        ca: this.tls.ca,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }

  async start(port = 0): Promise<string> {
    const server = createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
    this.server = server;
    const bound = await listenLoopback(server, port);
    this.url = `https://127.0.0.1:${bound}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeNow(server);
  }
}
