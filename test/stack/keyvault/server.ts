import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { verifyJwt } from "../identity/jwt.js";
import { listenLoopback } from "../loopback.js";
import { authorize } from "./authz.js";
import { type Caller, errors, KvError } from "./errors.js";
import { clientAddress, evaluateNetwork } from "./network.js";
import { match, type Route } from "./router.js";
import { certificateRoutes } from "./routes/certificates.js";
import { keyRoutes } from "./routes/keys.js";
import { secretRoutes } from "./routes/secrets.js";
import type { Vault } from "./vault.js";

const owed = new WeakMap<object, { drop: number; error: number }>();

/**
 * Faults at exactly their rate and evenly spaced (rate 0.5: every second request; 0.15: about one in
 * seven), the same in every run, so that no test passes or fails by chance.
 */
function due(config: object, fault: "drop" | "error", rate: number): boolean {
  if (rate <= 0) return false;
  let o = owed.get(config);
  if (!o) {
    o = { drop: 0, error: 0 };
    owed.set(config, o);
  }
  o[fault] += rate;
  if (o[fault] < 1) return false;
  o[fault] -= 1;
  return true;
}

/**
 * The versions the service answers. 2026-04-01 is what @azure/keyvault-secrets 4.12 sends by default
 * (its LATEST_API_VERSION); the service it was released against accepts it, so the emulator does too.
 * Its answers are the 2025-07-01 shapes (no 2026-04-01 spec is published to check against).
 */
export const SupportedApiVersions = [
  "7.0",
  "7.1",
  "7.2",
  "7.3",
  "7.4",
  "7.5",
  "7.6",
  "2025-07-01",
  "2026-04-01",
] as const;
export const LatestApiVersion = "2026-04-01";
const MaxBodyBytes = 4 * 1024 * 1024;
const routes: Route[] = [...secretRoutes, ...keyRoutes, ...certificateRoutes];

export interface ServerDeps {
  tls: { cert: string; key: string };
  tenantId: string;
  /** Keys that sign valid tokens (the local identity endpoint's). */
  tokenKeys: () => readonly KeyObject[];
  /** Sees every answer (tests validate them against the swagger). */
  notify?: (event: ResponseEvent) => void;
  /** Awaited before an authorized request is handled: a test holds one there (to kill its caller mid-call). */
  gate?: (vault: string, operation: string) => Promise<void> | undefined;
}

export interface ResponseEvent {
  vault: string;
  operation: string;
  apiVersion: string | null;
  status: number;
  body: unknown;
}

const count = (rec: Record<string, number>, key: string): void => {
  rec[key] = (rec[key] ?? 0) + 1;
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MaxBodyBytes) throw errors.badParameter("The request body is too large.");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "cache-control": "no-cache",
    pragma: "no-cache",
    expires: "-1",
    "x-content-type-options": "nosniff",
    "strict-transport-security": "max-age=31536000;includeSubDomains",
    "x-ms-keyvault-service-version": "1.9.2000.0-emulator",
    ...(text ? { "content-type": "application/json; charset=utf-8" } : {}),
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Runs one request through the service's order: route, api-version, token, network, throttle, RBAC, handler. */
async function handle(
  vault: Vault,
  deps: ServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { stats, config } = vault;
  const address = clientAddress(req.socket.remoteAddress);
  const headers: Record<string, string> = {
    "x-ms-request-id": randomUUID(),
    "x-ms-keyvault-region": config.location,
    "x-ms-keyvault-network-info": `conn_type=Ipv4;addr=${address};act_addr_fam=InterNetwork;`,
  };
  const clientRequestId = req.headers["x-ms-client-request-id"];
  if (typeof clientRequestId === "string") headers["x-ms-client-request-id"] = clientRequestId;
  const url = new URL(req.url ?? "/", vault.baseUrl || "https://127.0.0.1");
  const found = match(routes, req.method ?? "GET", url.pathname.replace(/\/+$/, "") || "/");
  const opName = found && found !== "methodNotAllowed" ? found.route.op.name : "Unknown";
  let status = 500;
  try {
    const raw = await readBody(req);
    const { latency, faults } = config;
    if (latency.fixedMs > 0 || latency.jitterMs > 0)
      await sleep(latency.fixedMs + Math.random() * latency.jitterMs);
    if (vault.canned) {
      status = vault.canned.status;
      send(res, status, vault.canned.body, { ...headers, ...vault.canned.headers });
      return;
    }
    if (due(config, "drop", faults.dropRate)) {
      stats.dropped++;
      status = 0;
      req.socket.destroy();
      return;
    }
    if (due(config, "error", faults.errorRate)) {
      throw faults.errorStatus === 503 ? errors.unavailable() : errors.internal();
    }
    if (!found) throw errors.routeNotFound();
    if (found === "methodNotAllowed") throw errors.methodNotAllowed();
    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion) throw errors.missingVersion();
    if (!(SupportedApiVersions as readonly string[]).includes(apiVersion))
      throw errors.badVersion(apiVersion, LatestApiVersion);

    const auth = req.headers.authorization;
    if (!auth) throw errors.unauthorized(deps.tenantId);
    const [scheme, token] = auth.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token) throw errors.unauthorized(deps.tenantId);
    const verified = verifyJwt(token, deps.tokenKeys(), {
      audiences: ["https://vault.azure.net", "https://vault.azure.net/"],
      issuerPrefix: "https://sts.windows.net/",
    });
    if (!verified.ok) {
      // Real texts (test/fixtures/errors/keyvault-real-bodies.json) where one was captured; the
      // not-yet-valid text is Managed HSM's, the closest real one (inferred for vaults).
      const reasons: Record<typeof verified.reason, string> = {
        malformed: "[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'.",
        signature:
          "AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '***'.",
        audience: `AKV10022: Invalid audience. Expected https://vault.azure.net, found: ${verified.claims?.aud ?? "?"}.`,
        issuer: `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${deps.tenantId}/, found ${verified.claims?.iss ?? "?"}.`,
        expired: "[TokenExpired] Error validating token: 'S2S12086'.",
        notYetValid: `Token not yet valid (Activity ID: ${randomUUID()})`,
      };
      throw errors.invalidToken(deps.tenantId, reasons[verified.reason]);
    }
    const caller: Caller = {
      appid: verified.claims.appid,
      oid: verified.claims.oid,
      tid: verified.claims.tid,
    };

    const decision = evaluateNetwork(config.network, address);
    if (decision === "publicAccessDisabled")
      throw errors.forbiddenByConnection(caller, config.name, config.location);
    if (decision === "firewall")
      throw errors.forbiddenByFirewall(address, caller, config.name, config.location);

    const op = found.route.op;
    const createLimited = op.throttleClass === "create" && !vault.createBucket.take();
    if (createLimited || !vault.bucket.take()) {
      stats.throttled++;
      const bucket = createLimited ? vault.createBucket : vault.bucket;
      throw errors.throttled(config.limits.retryAfter ? bucket.secondsUntilToken() : undefined);
    }
    authorize(config.authorization, caller, op, found.route.objectPath?.(found.params), {
      vault: config.name,
      location: config.location,
      subscriptionId: config.subscriptionId,
      resourceGroup: config.resourceGroup,
    });

    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw errors.badParameter("The request body is not valid JSON.");
      }
    }
    await deps.gate?.(config.name, op.name);
    vault.settle();
    const result = found.route.handler({
      vault,
      params: found.params,
      query: url.searchParams,
      body,
      apiVersion,
      caller,
    });
    status = result.status;
    send(res, result.status, result.body, { ...headers, ...result.headers });
    deps.notify?.({ vault: config.name, operation: opName, apiVersion, status, body: result.body });
  } catch (e) {
    const err = e instanceof KvError ? e : errors.internal();
    if (!(e instanceof KvError)) console.error("[kv-emulator] unexpected error", e);
    status = err.status;
    send(res, err.status, err.body(), { ...headers, ...err.headers });
    deps.notify?.({
      vault: config.name,
      operation: opName,
      apiVersion: url.searchParams.get("api-version"),
      status,
      body: err.body(),
    });
  } finally {
    count(stats.byOperation, opName);
    count(stats.byStatus, String(status));
    count(stats.byOperationStatus, `${opName} ${status}`);
  }
}

/** One HTTPS listener on 127.0.0.1 for one vault, as the service has one host name per vault. */
export async function startVaultServer(vault: Vault, deps: ServerDeps, port = 0): Promise<Server> {
  const server = createServer({ cert: deps.tls.cert, key: deps.tls.key }, (req, res) => {
    const { stats } = vault;
    stats.total++;
    stats.inflight++;
    stats.peakInflight = Math.max(stats.peakInflight, stats.inflight);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      stats.inflight--;
    };
    res.on("close", finish);
    handle(vault, deps, req, res).catch((e: unknown) => {
      console.error("[kv-emulator] request failed", e);
      if (!res.headersSent) send(res, 500, errors.internal().body(), {});
    });
  });
  server.keepAliveTimeout = 30_000;
  vault.baseUrl = `https://127.0.0.1:${await listenLoopback(server, port)}`;
  return server;
}
