import type { KeyObject } from "node:crypto";
import type { Server } from "node:https";
import { closeNow } from "../loopback.js";
import type { AccessPolicy, AuthorizationMode, RoleAssignment } from "./authz.js";
import { KvError } from "./errors.js";
import type { EventPublisher } from "./events.js";
import type { KeyMaterial } from "./keyMaterial.js";
import { match, type Route } from "./router.js";
import { certificateRoutes } from "./routes/certificates.js";
import { keyRoutes } from "./routes/keys.js";
import { secretRoutes } from "./routes/secrets.js";
import { SecurityWorld } from "./securityWorld.js";
import { LatestApiVersion, type ResponseEvent, startVaultServer } from "./server.js";
import {
  type CannedResponse,
  type NetworkRules,
  Vault,
  type VaultConfig,
  type VaultFaults,
  type VaultLatency,
  type VaultLimits,
  type VaultStats,
} from "./vault.js";

export interface CreateVaultOptions {
  /** Vaults in the same world can restore each other's backups (same subscription and geography). */
  securityWorld?: string;
  location?: string;
  /** Default: RBAC with no assignments. */
  authorization?: "rbac" | "accessPolicy";
  network?: Partial<NetworkRules>;
  limits?: Partial<VaultLimits>;
  latency?: Partial<VaultLatency>;
  faults?: Partial<VaultFaults>;
  timing?: Partial<VaultConfig["timing"]>;
  maxBackupVersions?: number;
  /** Purge protection: deleted objects cannot be purged (403), as on a vault created with it. */
  purgeProtection?: boolean;
  shortPages?: boolean;
  port?: number;
}

export interface EmulatorDeps {
  tls: { cert: string; key: string };
  tenantId: string;
  tokenKeys: () => readonly KeyObject[];
}

const allRoutes: Route[] = [...secretRoutes, ...keyRoutes, ...certificateRoutes];
const SystemCaller = { appid: "emulator", oid: "emulator", tid: "emulator" };

/** The Key Vault emulator's control surface: vaults, their rules, faults and counters. */
export class KeyVaultEmulator {
  private readonly vaults = new Map<string, { vault: Vault; server: Server }>();
  private readonly worlds = new Map<string, SecurityWorld>();
  private readonly observers = new Set<(e: ResponseEvent) => void>();

  constructor(private readonly deps: EmulatorDeps) {}

  /** Calls fn with every HTTP answer of every vault until the returned function is called. */
  observe(fn: (e: ResponseEvent) => void): () => void {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }

  private world(name: string): SecurityWorld {
    let w = this.worlds.get(name);
    if (!w) {
      w = new SecurityWorld(name);
      this.worlds.set(name, w);
    }
    return w;
  }

  async createVault(name: string, options: CreateVaultOptions = {}): Promise<{ name: string; url: string }> {
    if (!/^[a-zA-Z][a-zA-Z0-9-]{2,23}$/.test(name))
      throw new Error(`invalid vault name '${name}' (3-24 chars, letters, digits, -)`);
    if (this.vaults.has(name)) throw new Error(`vault '${name}' already exists`);
    const authorization: AuthorizationMode =
      options.authorization === "accessPolicy"
        ? { kind: "accessPolicy", policies: [] }
        : { kind: "rbac", assignments: [] };
    const config: VaultConfig = {
      name,
      location: options.location ?? "westeurope",
      subscriptionId: "00000000-0000-0000-0000-000000000000",
      resourceGroup: "kvbackup-local",
      world: this.world(options.securityWorld ?? "default"),
      authorization,
      network: { publicNetworkAccess: "Enabled", defaultAction: "Allow", ipRules: [], ...options.network },
      limits: { perTenSeconds: 4000, createPerTenSeconds: 300, retryAfter: false, ...options.limits },
      latency: { fixedMs: 0, jitterMs: 0, ...options.latency },
      faults: { errorRate: 0, errorStatus: 503, dropRate: 0, ...options.faults },
      timing: {
        deleteMs: 0,
        purgeMs: 0,
        recoverMs: 0,
        recoverableDays: 90,
        certificateMs: 0,
        ...options.timing,
      },
      maxBackupVersions: options.maxBackupVersions ?? 500,
      purgeProtection: options.purgeProtection ?? false,
      shortPages: options.shortPages ?? false,
    };
    const vault = new Vault(config);
    vault.onNewVersion = (v) => this.events?.publish(v);
    const server = await startVaultServer(
      vault,
      {
        ...this.deps,
        notify: (e) => {
          for (const fn of this.observers) fn(e);
        },
        gate: (v, operation) => this.gate?.(v, operation),
      },
      options.port ?? 0,
    );
    this.vaults.set(name, { vault, server });
    return { name, url: vault.baseUrl };
  }

  /** Where the vaults' "new version" events go (Event Grid's delivery to a queue); none: nowhere. */
  events: EventPublisher | undefined;

  /** Awaited before each authorized request is handled (vault, operation name): a test's way to hold a call. */
  gate: ((vault: string, operation: string) => Promise<void> | undefined) | undefined;

  vault(name: string): Vault {
    const entry = this.vaults.get(name);
    if (!entry) throw new Error(`no vault '${name}'`);
    return entry.vault;
  }

  list(): { name: string; url: string }[] {
    return [...this.vaults.values()].map(({ vault }) => ({ name: vault.name, url: vault.baseUrl }));
  }

  assignRole(vaultName: string, assignment: RoleAssignment): void {
    const { authorization } = this.vault(vaultName).config;
    if (authorization.kind !== "rbac") throw new Error(`vault '${vaultName}' uses access policies`);
    authorization.assignments.push(assignment);
  }

  removeRoles(vaultName: string, principalId: string): void {
    const { authorization } = this.vault(vaultName).config;
    if (authorization.kind === "rbac")
      authorization.assignments = authorization.assignments.filter((a) => a.principalId !== principalId);
    else authorization.policies = authorization.policies.filter((p) => p.objectId !== principalId);
  }

  setAccessPolicy(vaultName: string, policy: AccessPolicy): void {
    const { authorization } = this.vault(vaultName).config;
    if (authorization.kind !== "accessPolicy") throw new Error(`vault '${vaultName}' uses RBAC`);
    authorization.policies = [
      ...authorization.policies.filter((p) => p.objectId !== policy.objectId),
      policy,
    ];
  }

  setNetwork(vaultName: string, rules: Partial<NetworkRules>): void {
    Object.assign(this.vault(vaultName).config.network, rules);
  }

  setLimits(vaultName: string, limits: Partial<VaultLimits>): void {
    this.vault(vaultName).setLimits(limits);
  }

  setLatency(vaultName: string, latency: Partial<VaultLatency>): void {
    Object.assign(this.vault(vaultName).config.latency, latency);
  }

  setFaults(vaultName: string, faults: Partial<VaultFaults>): void {
    Object.assign(this.vault(vaultName).config.faults, faults);
  }

  setTiming(vaultName: string, timing: Partial<VaultConfig["timing"]>): void {
    Object.assign(this.vault(vaultName).config.timing, timing);
  }

  setShortPages(vaultName: string, on: boolean): void {
    this.vault(vaultName).config.shortPages = on;
  }

  /** Every request to the vault gets this answer (a real error body from the fixtures), until cleared with undefined. */
  respondWith(vaultName: string, response: CannedResponse | undefined): void {
    this.vault(vaultName).canned = response;
  }

  /** Reuse key material across seeded keys and certificates (benchmarks seed thousands). */
  useKeyPool(vaultName: string, on: boolean): void {
    this.vault(vaultName).keyPool = on ? new Map<string, KeyMaterial>() : undefined;
  }

  stats(vaultName: string): VaultStats {
    return structuredClone(this.vault(vaultName).stats);
  }

  resetStats(vaultName: string): void {
    this.vault(vaultName).resetStats();
  }

  /**
   * Runs an operation as the emulator itself (no token, no network rules, no throttling, no counters):
   * how tests and the stack seed data without spending the vault's budget.
   */
  invoke(
    vaultName: string,
    method: string,
    path: string,
    body?: unknown,
  ): { status: number; body?: unknown } {
    const vault = this.vault(vaultName);
    const url = new URL(path, vault.baseUrl);
    const found = match(allRoutes, method, url.pathname.replace(/\/+$/, ""));
    if (!found || found === "methodNotAllowed") throw new Error(`no route for ${method} ${path}`);
    vault.settle();
    try {
      const result = found.route.handler({
        vault,
        params: found.params,
        query: url.searchParams,
        body,
        apiVersion: LatestApiVersion,
        caller: SystemCaller,
      });
      vault.settle();
      return result;
    } catch (e) {
      if (e instanceof KvError) return { status: e.status, body: e.body() };
      throw e;
    }
  }

  /** invoke() that throws on an error status. */
  call(vaultName: string, method: string, path: string, body?: unknown): unknown {
    const r = this.invoke(vaultName, method, path, body);
    if (r.status >= 400) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Closes and forgets every vault (a test file's vaults, before the next file makes its own). */
  async removeAll(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    const servers = [...this.vaults.values()].map((v) => v.server);
    this.vaults.clear();
    await Promise.all(servers.map((s) => closeNow(s)));
  }
}
