import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeNow, listenLoopback } from "../loopback.js";
import { TokenSigner } from "./jwt.js";

/** One managed identity the local endpoint can issue tokens for. */
export interface StackIdentity {
  name: string;
  clientId: string;
  principalId: string;
  resourceId: string;
}

export const STACK_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";

export interface IdentityEndpointOptions {
  tenantId?: string;
  tokenLifetimeSeconds?: number;
}

/**
 * The App Service managed-identity protocol (api-version 2019-08-01) that @azure/identity uses
 * inside Azure Functions: GET {IDENTITY_ENDPOINT}?resource=..&api-version=2019-08-01[&client_id=..]
 * with the X-IDENTITY-HEADER secret. The system-assigned identity answers when no id is given.
 */
export class IdentityEndpoint {
  readonly signer = new TokenSigner();
  readonly header = randomBytes(24).toString("hex");
  readonly tenantId: string;
  readonly systemAssigned: StackIdentity;
  private readonly userAssigned = new Map<string, StackIdentity>();
  private readonly lifetime: number;
  private server: Server | undefined;
  private url = "";
  tokensIssued = 0;

  constructor(options: IdentityEndpointOptions = {}) {
    this.tenantId = options.tenantId ?? STACK_TENANT_ID;
    this.lifetime = options.tokenLifetimeSeconds ?? 3600;
    this.systemAssigned = this.makeIdentity("system-assigned");
  }

  private makeIdentity(name: string): StackIdentity {
    return {
      name,
      clientId: randomUUID(),
      principalId: randomUUID(),
      resourceId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/kvbackup-local/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
    };
  }

  /** Adds a user-assigned identity; tests use it to act as a principal with fewer rights. */
  addUserAssigned(name: string): StackIdentity {
    const identity = this.makeIdentity(name);
    this.userAssigned.set(identity.clientId, identity);
    return identity;
  }

  identities(): StackIdentity[] {
    return [this.systemAssigned, ...this.userAssigned.values()];
  }

  get endpoint(): string {
    if (!this.url) throw new Error("identity endpoint not started");
    return this.url;
  }

  /** Mints a token directly (same claims as over HTTP), for tests that need a crafted one. */
  mint(
    identity: StackIdentity,
    resource: string,
    overrides: { iat?: number; nbf?: number; exp?: number } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    this.tokensIssued++;
    return this.signer.sign({
      aud: resource.replace(/\/\.default$/, "").replace(/\/$/, ""),
      iss: `https://sts.windows.net/${this.tenantId}/`,
      oid: identity.principalId,
      sub: identity.principalId,
      tid: this.tenantId,
      appid: identity.clientId,
      idtyp: "app",
      iat: overrides.iat ?? now,
      nbf: overrides.nbf ?? now - 5,
      exp: overrides.exp ?? now + this.lifetime,
    });
  }

  private find(query: URLSearchParams): StackIdentity | undefined {
    const clientId = query.get("client_id");
    const objectId = query.get("object_id") ?? query.get("principal_id");
    const resId = query.get("mi_res_id");
    if (!clientId && !objectId && !resId) return this.systemAssigned;
    return this.identities().find(
      (i) =>
        (clientId && i.clientId === clientId) ||
        (objectId && i.principalId === objectId) ||
        (resId && i.resourceId.toLowerCase() === resId.toLowerCase()),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status: number, body: object): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (url.pathname === "/.well-known/jwks.json") {
      send(200, this.signer.jwks());
      return;
    }
    if (url.pathname !== "/msi/token" || req.method !== "GET") {
      send(404, { statusCode: 404, message: "Not found" });
      return;
    }
    if (req.headers["x-identity-header"] !== this.header) {
      send(401, {
        statusCode: 401,
        message: "Unauthorized: missing or invalid X-IDENTITY-HEADER",
        correlationId: randomUUID(),
      });
      return;
    }
    const apiVersion = url.searchParams.get("api-version");
    if (apiVersion !== "2019-08-01") {
      send(400, {
        statusCode: 400,
        message: `Unsupported api-version '${apiVersion ?? ""}'.`,
        correlationId: randomUUID(),
      });
      return;
    }
    const resource = url.searchParams.get("resource");
    if (!resource) {
      send(400, {
        statusCode: 400,
        message: "Required query parameter 'resource' is missing.",
        correlationId: randomUUID(),
      });
      return;
    }
    const identity = this.find(url.searchParams);
    if (!identity) {
      send(400, {
        statusCode: 400,
        message:
          "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
        correlationId: randomUUID(),
      });
      return;
    }
    const expiresOn = Math.floor(Date.now() / 1000) + this.lifetime;
    send(200, {
      access_token: this.mint(identity, resource),
      expires_on: String(expiresOn),
      resource,
      token_type: "Bearer",
      client_id: identity.clientId,
    });
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    const bound = await listenLoopback(server, port);
    this.url = `http://127.0.0.1:${bound}/msi/token`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeNow(server);
  }
}
