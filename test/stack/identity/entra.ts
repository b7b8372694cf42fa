import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { closeNow, listenLoopback } from "../loopback.js";
import { TokenSigner, verifyJwt } from "./jwt.js";

/** A multi-tenant app registration's service principal in this tenant, and the identity it trusts. */
export interface FederatedApp {
  clientId: string;
  /** The service principal's object id in this tenant (what roles are assigned to). */
  principalId: string;
  /** Its federated identity credential: the issuer and subject of the assertion it accepts. */
  federated: { issuer: string; subject: string };
}

const ExchangeAudience = "api://AzureADTokenExchange";

/**
 * Another Microsoft Entra tenant, as far as a client-credentials sign-in with a client assertion
 * goes (what @azure/identity's ClientAssertionCredential asks through MSAL): the tenant's OpenID
 * configuration and its token endpoint. An app registration signs in with another identity's token
 * as its assertion ("managed identity as a federated identity credential"): accepted only when the
 * assertion is signed by that identity's issuer (`trust`), for the exchange audience, and its
 * issuer and subject are the registration's federated credential. Errors as Entra words them
 * (AADSTS70021x: no matching federated identity record).
 */
export class EntraTenant {
  readonly tenantId = randomUUID();
  readonly signer = new TokenSigner();
  readonly apps = new Map<string, FederatedApp>();
  private server: Server | undefined;
  url = "";
  tokensIssued = 0;

  constructor(
    private readonly tls: { cert: string; key: string },
    /** The keys an assertion may be signed with (the app's tenant's managed-identity endpoint). */
    private readonly trust: () => KeyObject[],
  ) {}

  addApp(subject: { issuer: string; subject: string }): FederatedApp {
    const app = { clientId: randomUUID(), principalId: randomUUID(), federated: subject };
    this.apps.set(app.clientId, app);
    return app;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(body));
  }

  private refuse(res: ServerResponse, status: number, error: string, code: number, text: string): void {
    this.json(res, status, {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const [tenant, ...rest] = url.pathname.split("/").filter(Boolean);
    const path = rest.join("/");
    if (tenant !== this.tenantId)
      return this.refuse(res, 400, "invalid_request", 90002, `Tenant '${tenant}' not found.`);
    const base = `${this.url}/${tenant}`;
    if (req.method === "GET" && path === "v2.0/.well-known/openid-configuration")
      return this.json(res, 200, {
        issuer: `${base}/v2.0`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        response_modes_supported: ["query", "fragment", "form_post"],
        token_endpoint_auth_methods_supported: [
          "client_secret_post",
          "private_key_jwt",
          "client_secret_basic",
        ],
      });
    if (req.method !== "POST" || path !== "oauth2/v2.0/token")
      return this.refuse(res, 404, "invalid_request", 900561, "The endpoint only accepts POST requests.");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    const app = this.apps.get(form.get("client_id") ?? "");
    if (!app)
      return this.refuse(
        res,
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${form.get("client_id")}' was not found in the directory.`,
      );
    const assertion = form.get("client_assertion") ?? "";
    const checked = verifyJwt(assertion, this.trust(), { audiences: [ExchangeAudience], issuerPrefix: "" });
    if (!checked.ok)
      return this.refuse(
        res,
        401,
        "invalid_client",
        700212,
        `No matching federated identity record found for presented assertion audience or signature (${checked.reason}).`,
      );
    if (checked.claims.iss !== app.federated.issuer)
      return this.refuse(
        res,
        400,
        "invalid_client",
        700211,
        `No matching federated identity record found for presented assertion issuer '${checked.claims.iss}'.`,
      );
    if (checked.claims.sub !== app.federated.subject)
      return this.refuse(
        res,
        400,
        "invalid_client",
        700213,
        `No matching federated identity record found for presented assertion subject '${checked.claims.sub}'.`,
      );
    const scope = (form.get("scope") ?? "").split(" ").find((s) => s.endsWith("/.default")) ?? "";
    const now = Math.floor(Date.now() / 1000);
    this.tokensIssued++;
    this.json(res, 200, {
      token_type: "Bearer",
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: this.signer.sign({
        aud: scope.replace(/\/\.default$/, ""),
        iss: `https://sts.windows.net/${this.tenantId}/`,
        oid: app.principalId,
        sub: app.principalId,
        tid: this.tenantId,
        appid: app.clientId,
        idtyp: "app",
        iat: now,
        nbf: now - 5,
        exp: now + 3599,
      }),
    });
  }

  async start(): Promise<string> {
    const server = createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server = server;
    this.url = `https://127.0.0.1:${await listenLoopback(server)}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeNow(server);
  }
}
