import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { verifyJwt } from "../identity/jwt.js";
import { closeNow, listenLoopback } from "../loopback.js";

/**
 * Azure Resource Manager, for what discovery reads: Vaults - List By Subscription
 * (GET /subscriptions/{id}/providers/Microsoft.KeyVault/vaults?api-version=..&$top=..), paged with
 * nextLink and $skiptoken, behind Entra tokens and subscription-scope RBAC (Reader, or a custom role
 * with Microsoft.KeyVault/vaults/read). Error bodies are ARM's: {"error":{"code","message"}}.
 */

export interface ArmVault {
  name: string;
  subscription: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  /** properties.vaultUri: the Key Vault emulator's URL for the vault (with a trailing slash, as ARM writes it). */
  vaultUri: string;
}

/** An assignment at subscription scope: Reader (every read action), or the actions of a custom role. */
export interface ArmRoleAssignment {
  principalId: string;
  subscription: string;
  role: "Reader" | { name: string; actions: readonly string[] };
}

/** api-versions of Microsoft.KeyVault/vaults this emulator answers (the SDK's default among them). */
export const ArmApiVersions = ["2023-07-01", "2024-11-01", "2025-05-01", "2026-02-01"] as const;
const ListAction = "Microsoft.KeyVault/vaults/read";

class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const actionAllowed = (actions: readonly string[], action: string): boolean =>
  actions.some((a) => {
    const re = new RegExp(
      `^${a
        .split("*")
        .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
        .join(".*")}$`,
      "i",
    );
    return re.test(action);
  });

export interface ArmEmulatorOptions {
  tls: { cert: string; key: string };
  tokenKeys: () => readonly KeyObject[];
  /** Vaults per page before nextLink (ARM pages by its own rules; small pages make paging visible). */
  pageSize?: number;
}

export class ArmEmulator {
  readonly subscriptions = new Map<string, { displayName: string }>();
  readonly vaults: ArmVault[] = [];
  readonly assignments: ArmRoleAssignment[] = [];
  readonly stats = { requests: 0, byStatus: {} as Record<string, number> };
  /** Resource provider registrations that are not "Registered", by "subscription/namespace" (lower case). */
  private readonly registrations = new Map<string, string>();
  /** Every request answered with this error until cleared (a fault for tests). */
  fault: { status: number; code: string; message: string } | undefined;
  private server: Server | undefined;
  url = "";

  constructor(private readonly options: ArmEmulatorOptions) {}

  /** Forgets every subscription, vault and assignment (a test file's, before the next file's). */
  reset(): void {
    this.subscriptions.clear();
    this.vaults.splice(0);
    this.assignments.splice(0);
    this.registrations.clear();
    this.fault = undefined;
  }

  addSubscription(id: string, displayName = `kvbackup-local-${id.slice(-4)}`): void {
    this.subscriptions.set(id.toLowerCase(), { displayName });
  }

  addVault(v: ArmVault): void {
    this.vaults.push({ ...v, subscription: v.subscription.toLowerCase() });
  }

  assign(a: ArmRoleAssignment): void {
    this.assignments.push({ ...a, subscription: a.subscription.toLowerCase() });
  }

  unassign(principalId: string, subscription: string): void {
    const keep = this.assignments.filter(
      (a) => !(a.principalId === principalId && a.subscription === subscription.toLowerCase()),
    );
    this.assignments.splice(0, this.assignments.length, ...keep);
  }

  async start(port = 0): Promise<string> {
    this.server = createServer({ cert: this.options.tls.cert, key: this.options.tls.key }, (req, res) =>
      this.handle(req, res),
    );
    const bound = await listenLoopback(this.server as unknown as import("node:http").Server, port);
    this.url = `https://127.0.0.1:${bound}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await closeNow(this.server as unknown as import("node:http").Server);
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "x-ms-request-id": randomUUID(),
      "x-ms-correlation-request-id": randomUUID(),
    });
    res.end(JSON.stringify(body));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    try {
      if (this.fault) throw new ArmError(this.fault.status, this.fault.code, this.fault.message);
      const url = new URL(req.url ?? "/", this.url);
      const caller = this.authenticate(req);
      const provider = url.pathname.match(/^\/subscriptions\/([^/]+)\/providers\/([A-Za-z.]+)\/?$/);
      if (req.method === "GET" && provider) {
        this.send(res, 200, this.provider(decodeURIComponent(provider[1] as string), provider[2] as string));
        return;
      }
      const m = url.pathname.match(/^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/?$/i);
      if (req.method !== "GET" || !m)
        throw new ArmError(404, "NotFound", `The resource path '${url.pathname}' was not found.`);
      this.checkApiVersion(url.searchParams.get("api-version"));
      const subscription = decodeURIComponent(m[1] as string).toLowerCase();
      if (!this.subscriptions.has(subscription))
        throw new ArmError(
          404,
          "SubscriptionNotFound",
          `The subscription '${subscription}' could not be found.`,
        );
      this.authorize(caller, subscription);
      this.send(res, 200, this.page(url, subscription));
    } catch (e) {
      if (e instanceof ArmError) this.send(res, e.status, { error: { code: e.code, message: e.message } });
      else this.send(res, 500, { error: { code: "InternalServerError", message: String(e) } });
    }
  }

  /** Providers - Get: a resource provider's registration in a subscription (Registered unless set otherwise). */
  private provider(subscription: string, namespace: string): object {
    const sub = subscription.toLowerCase();
    if (!this.subscriptions.has(sub))
      throw new ArmError(
        404,
        "SubscriptionNotFound",
        `The subscription '${subscription}' could not be found.`,
      );
    return {
      id: `/subscriptions/${sub}/providers/${namespace}`,
      namespace,
      registrationState: this.registrations.get(`${sub}/${namespace.toLowerCase()}`) ?? "Registered",
      registrationPolicy: "RegistrationRequired",
      resourceTypes: [],
    };
  }

  /** A resource provider's registration state in a subscription ("NotRegistered", "Registering", ...). */
  setRegistration(subscription: string, namespace: string, state: string): void {
    this.registrations.set(`${subscription.toLowerCase()}/${namespace.toLowerCase()}`, state);
  }

  private authenticate(req: IncomingMessage): { oid: string; appid: string } {
    const auth = req.headers.authorization;
    if (!auth)
      throw new ArmError(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
      );
    const [scheme, token] = auth.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token)
      throw new ArmError(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      );
    const audiences = [
      "https://management.core.windows.net/",
      "https://management.core.windows.net",
      "https://management.azure.com/",
      "https://management.azure.com",
      this.url,
      `${this.url}/`,
    ];
    const v = verifyJwt(token, this.options.tokenKeys(), {
      audiences,
      issuerPrefix: "https://sts.windows.net/",
    });
    if (!v.ok) {
      if (v.reason === "audience")
        throw new ArmError(
          401,
          "InvalidAuthenticationTokenAudience",
          `The access token has been obtained for wrong audience or resource '${v.claims?.aud ?? ""}'. It should exactly match with one of the allowed audiences ${audiences
            .slice(0, 4)
            .map((a) => `'${a}'`)
            .join(",")}.`,
        );
      if (v.reason === "expired")
        throw new ArmError(
          401,
          "ExpiredAuthenticationToken",
          `The access token expiry UTC time is earlier than current UTC time '${new Date().toUTCString()}'.`,
        );
      throw new ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.");
    }
    return { oid: v.claims.oid, appid: v.claims.appid };
  }

  private checkApiVersion(version: string | null): void {
    if (!version)
      throw new ArmError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    if (!(ArmApiVersions as readonly string[]).includes(version))
      throw new ArmError(
        400,
        "NoRegisteredProviderFound",
        `No registered resource provider found for location 'global' and API version '${version}' for type 'vaults'. The supported api-versions are '${ArmApiVersions.join(", ")}'.`,
      );
  }

  private authorize(caller: { oid: string; appid: string }, subscription: string): void {
    const granted = this.assignments.some(
      (a) =>
        a.principalId === caller.oid &&
        a.subscription === subscription &&
        (a.role === "Reader" ? true : actionAllowed(a.role.actions, ListAction)),
    );
    if (!granted)
      throw new ArmError(
        403,
        "AuthorizationFailed",
        `The client '${caller.appid}' with object id '${caller.oid}' does not have authorization to perform action '${ListAction}' over scope '/subscriptions/${subscription}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
  }

  /** One page: $top caps it, $skiptoken is the index to start at; nextLink carries both on. */
  private page(url: URL, subscription: string): { value: unknown[]; nextLink?: string } {
    const all = this.vaults.filter((v) => v.subscription === subscription);
    const top = Number(url.searchParams.get("$top") ?? "") || undefined;
    const start = Number(url.searchParams.get("$skiptoken") ?? "0") || 0;
    const size = Math.min(this.options.pageSize ?? 2, top ?? Number.POSITIVE_INFINITY);
    const slice = all.slice(start, start + size);
    const value = slice.map((v) => this.resource(v));
    const end = start + slice.length;
    if (end >= all.length || (top !== undefined && end >= top)) return { value };
    const next = new URL(url.toString());
    next.searchParams.set("$skiptoken", String(end));
    return { value, nextLink: next.toString() };
  }

  private resource(v: ArmVault): unknown {
    return {
      id: `/subscriptions/${v.subscription}/resourceGroups/${v.resourceGroup}/providers/Microsoft.KeyVault/vaults/${v.name}`,
      name: v.name,
      type: "Microsoft.KeyVault/vaults",
      location: v.location,
      tags: v.tags,
      properties: {
        sku: { family: "A", name: "standard" },
        tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        accessPolicies: [],
        enabledForDeployment: false,
        enabledForDiskEncryption: false,
        enabledForTemplateDeployment: false,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        enableRbacAuthorization: true,
        vaultUri: v.vaultUri.endsWith("/") ? v.vaultUri : `${v.vaultUri}/`,
        provisioningState: "Succeeded",
        publicNetworkAccess: "Enabled",
      },
    };
  }
}
