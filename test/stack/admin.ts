import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ManagedHsmEmulator } from "./hsm/hsmEmulator.js";
import type { IdentityEndpoint } from "./identity/server.js";
import type { KeyVaultEmulator } from "./keyvault/emulator.js";
import { closeNow, listenLoopback } from "./loopback.js";
import type { IsolatedCopy } from "./storage/copyAccount.js";
import type {
  CallerDirectory,
  FaultRule,
  StorageFaultProxy,
  StorageFirewall,
  StorageService,
} from "./storage/faultProxy.js";

export interface AdminTargets {
  emulator: KeyVaultEmulator;
  identity: IdentityEndpoint;
  proxies: Record<StorageService, StorageFaultProxy>;
  network: { firewall: StorageFirewall; resources: CallerDirectory };
  hsms: Map<string, ManagedHsmEmulator>;
  /** The isolated copy's account: its own firewall model, set with /storage/copy/firewall. */
  copy: Pick<IsolatedCopy, "network">;
}

type Handler = (body: Record<string, unknown>, m: RegExpMatchArray) => Promise<unknown> | unknown;

/**
 * The stack's control API over HTTP on loopback, for processes other than the one that started it
 * (the same operations as the in-process API). Every call needs the admin token from stack.env.
 */
export class AdminServer {
  readonly token = randomBytes(24).toString("hex");
  private server: Server | undefined;
  url = "";
  private readonly routes: [string, RegExp, Handler][];

  constructor(t: AdminTargets) {
    const kv = t.emulator;
    const proxy = (m: RegExpMatchArray): StorageFaultProxy => {
      const p = t.proxies[m[1] as StorageService];
      if (!p) throw new Error(`unknown storage service '${m[1]}'`);
      return p;
    };
    const hsmOf = (m: RegExpMatchArray): ManagedHsmEmulator => {
      const h = t.hsms.get(m[1] as string);
      if (!h) throw new Error(`unknown Managed HSM '${m[1]}'`);
      return h;
    };
    this.routes = [
      ["GET", /^\/vaults$/, () => kv.list()],
      ["POST", /^\/vaults$/, (b) => kv.createVault(String(b.name), (b.options ?? {}) as object)],
      ["POST", /^\/vaults\/([^/]+)\/roles$/, (b, m) => kv.assignRole(m[1] as string, b as never)],
      [
        "DELETE",
        /^\/vaults\/([^/]+)\/roles\/([^/]+)$/,
        (_b, m) => kv.removeRoles(m[1] as string, m[2] as string),
      ],
      [
        "PUT",
        /^\/vaults\/([^/]+)\/access-policies$/,
        (b, m) => kv.setAccessPolicy(m[1] as string, b as never),
      ],
      ["PATCH", /^\/vaults\/([^/]+)\/network$/, (b, m) => kv.setNetwork(m[1] as string, b)],
      ["PATCH", /^\/vaults\/([^/]+)\/limits$/, (b, m) => kv.setLimits(m[1] as string, b)],
      ["PATCH", /^\/vaults\/([^/]+)\/latency$/, (b, m) => kv.setLatency(m[1] as string, b)],
      ["PATCH", /^\/vaults\/([^/]+)\/faults$/, (b, m) => kv.setFaults(m[1] as string, b)],
      ["PATCH", /^\/vaults\/([^/]+)\/timing$/, (b, m) => kv.setTiming(m[1] as string, b)],
      [
        "PATCH",
        /^\/vaults\/([^/]+)\/paging$/,
        (b, m) => kv.setShortPages(m[1] as string, b.shortPages === true),
      ],
      ["GET", /^\/vaults\/([^/]+)\/stats$/, (_b, m) => kv.stats(m[1] as string)],
      ["DELETE", /^\/vaults\/([^/]+)\/stats$/, (_b, m) => kv.resetStats(m[1] as string)],
      [
        "POST",
        /^\/vaults\/([^/]+)\/invoke$/,
        (b, m) => kv.invoke(m[1] as string, String(b.method), String(b.path), b.body),
      ],
      ["GET", /^\/identities$/, () => t.identity.identities()],
      ["POST", /^\/identities$/, (b) => t.identity.addUserAssigned(String(b.name))],
      ["GET", /^\/storage\/(blob|queue|table)\/rules$/, (_b, m) => proxy(m).listRules()],
      [
        "POST",
        /^\/storage\/(blob|queue|table)\/rules$/,
        (b, m) => ({ id: proxy(m).addRule(b as FaultRule) }),
      ],
      ["DELETE", /^\/storage\/(blob|queue|table)\/rules$/, (_b, m) => proxy(m).clearRules()],
      ["GET", /^\/storage\/firewall$/, () => t.network.firewall],
      ["PUT", /^\/storage\/firewall$/, (b) => setFirewall(t.network.firewall, b)],
      ["GET", /^\/storage\/copy\/firewall$/, () => t.copy.network.firewall],
      ["PUT", /^\/storage\/copy\/firewall$/, (b) => setFirewall(t.copy.network.firewall, b)],
      [
        "GET",
        /^\/hsms$/,
        () => [...t.hsms.entries()].map(([name, h]) => ({ name, url: h.url, keys: [...h.keys.keys()] })),
      ],
      [
        "POST",
        /^\/hsms\/([^/]+)\/keys$/,
        (b, m) => hsmOf(m).createKey(String(b.name), Number(b.versions ?? 1)) && { name: b.name },
      ],
      [
        "DELETE",
        /^\/hsms\/([^/]+)\/keys\/([^/]+)$/,
        (_b, m) => ({ deleted: hsmOf(m).keys.delete(m[2] as string) }),
      ],
    ];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body ?? null);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(text);
    };
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return reply(401, { error: "admin token required" });
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const hit = this.routes
      .map(([method, re, h]) => ({ method, m: path.match(re), h }))
      .find((r) => r.m && r.method === req.method);
    if (!hit?.m) return reply(404, { error: `no admin route ${req.method} ${path}` });
    let raw = "";
    for await (const chunk of req) raw += chunk;
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return reply(400, { error: "body is not JSON" });
    }
    try {
      reply(200, (await hit.h(body, hit.m)) ?? { ok: true });
    } catch (e) {
      reply(400, { error: e instanceof Error ? e.message : String(e) });
    }
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    const bound = await listenLoopback(server, port);
    this.url = `http://127.0.0.1:${bound}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeNow(server);
  }
}

/**
 * PUT /storage/firewall (the primary account) and /storage/copy/firewall (the isolated copy's, where
 * functionSubnet is the private endpoint or VNet rule the copy's owners made for the app)
 * {defaultAction, functionSubnet, resourceInstances, trustedServices}: the account's network rules.
 */
function setFirewall(fw: StorageFirewall, b: Record<string, unknown>): StorageFirewall {
  if (b.defaultAction !== "Allow" && b.defaultAction !== "Deny")
    throw new Error("defaultAction: Allow or Deny");
  const instances = b.resourceInstances ?? [];
  if (!Array.isArray(instances) || !instances.every((r) => typeof r === "string"))
    throw new Error("resourceInstances: resource ids");
  Object.assign(fw, {
    defaultAction: b.defaultAction,
    functionSubnet: b.functionSubnet === true,
    resourceInstances: instances,
    trustedServices: b.trustedServices === true,
  });
  return fw;
}
