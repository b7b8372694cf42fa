import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import {
  StorageSharedKeyCredential as BlobKey,
  BlobServiceClient,
  type ContainerClient,
} from "@azure/storage-blob";
import { QueueServiceClient, StorageSharedKeyCredential } from "@azure/storage-queue";
import { AdminServer } from "./admin.js";
import { ArmEmulator } from "./arm/armEmulator.js";
import { stackCaFile } from "./caBundle.js";
import { ManagedHsmEmulator } from "./hsm/hsmEmulator.js";
import { IdentityEndpoint, type StackIdentity } from "./identity/server.js";
import { KeyVaultEmulator } from "./keyvault/emulator.js";
import { type DeliveryFaults, EventPublisher } from "./keyvault/events.js";
import type { KeyMaterial } from "./keyvault/keyMaterial.js";
import { BackupOperatorRole, DrillOperatorRole, RestoreOperatorRole } from "./keyvault/roles.js";
import { type SeedSummary, seedDemoVault } from "./seed.js";
import { type AzuriteProcess, DevAccount, startAzurite } from "./storage/azurite.js";
import { CopyAccount, IsolatedCopy, newAccountKey } from "./storage/copyAccount.js";
import { deleteAccount } from "./storage/deleteAccount.js";
import {
  type CallerDirectory,
  OpenFirewall,
  StorageFaultProxy,
  type StorageFirewall,
  type StorageService,
} from "./storage/faultProxy.js";
import { answer } from "./storage/putBlobFromUrl.js";
import { storageError } from "./storage/storageErrors.js";
import { createStackTls, type StackTls, trustStackCa, writeTlsFiles } from "./tls.js";

export interface StackOptions {
  /** Folder for the CA, the server pair (for Azurite) and stack.env. Default ".local". */
  dir?: string;
  /** Reuse TLS made earlier (tests make it before workers start, for NODE_EXTRA_CA_CERTS). */
  tls?: StackTls;
  /** Seed demo-vault (default true). */
  seed?: boolean;
  /** Write stack.env into dir (default true). */
  writeEnv?: boolean;
}

/** The long-lived part of the local Azure: identity endpoint, Key Vault emulator, Azurite behind fault proxies, admin API. */
export interface StackBase {
  tls: StackTls;
  caFile: string;
  identity: IdentityEndpoint;
  emulator: KeyVaultEmulator;
  /** Azure Resource Manager for discovery: subscriptions, vaults with tags, RBAC at subscription scope. */
  arm: ArmEmulator;
  proxies: Record<StorageService, StorageFaultProxy>;
  /** Azurite's own endpoints, bypassing the fault proxy. */
  azurite: AzuriteProcess["endpoints"];
  admin: AdminServer;
  /** The storage account's firewall model (shared by the three proxies) and the Azure resources it knows by identity. */
  network: { firewall: StorageFirewall; resources: CallerDirectory };
  /** Managed HSMs added with addHsm, by name. */
  hsms: Map<string, ManagedHsmEmulator>;
  /** app = the Function's system-assigned identity (backup + restore roles); admin = Key Vault Administrator; none = no roles. */
  identities: { app: StackIdentity; admin: StackIdentity; none: StackIdentity };
  /** Key material shared by every vault seeded on this base (RSA generation is the slow part of seeding). */
  keyPool: Map<string, KeyMaterial>;
  /**
   * The isolated copy's account (issue 24), in the same Azurite: its own blob proxy, firewall model
   * (copy.network), role model (copy.roles), immutability switch (copy.immutable), key (copy.key, the
   * owners'), container, and copy.env (BACKUP_COPY_BLOB_URI, BACKUP_COPY_CONTAINER).
   */
  copy: IsolatedCopy;
  /** The primary account deleted for good: its data gone and its three endpoints refusing connections. */
  deletePrimaryAccount(): Promise<void>;
  stop(): Promise<void>;
}

export interface Stack extends StackBase {
  vaults: { demo: { name: string; url: string }; restore: { name: string; url: string } };
  seeded: SeedSummary | undefined;
  env: Record<string, string>;
}

export const StackVaults = { demo: "demo-vault", restore: "restore-vault" } as const;

/** Starts identity, emulator (no vaults yet), Azurite, the fault proxies and the admin API. */
export async function startBase(options: {
  dir: string;
  tls?: StackTls;
  /**
   * The managed-identity endpoint of another base, shared (one tenant, two storage worlds): a test
   * process's token cache (MSAL's is process-wide) then holds tokens every base accepts. Not stopped here.
   */
  identity?: IdentityEndpoint;
}): Promise<StackBase> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const tls = options.tls ?? createStackTls();
  const files = {
    ca: join(dir, "stack-ca.pem"),
    cert: join(dir, "stack-cert.pem"),
    key: join(dir, "stack-key.pem"),
  };
  writeTlsFiles(tls, files);
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
  };
  try {
    const shared = options.identity;
    const identity = shared ?? new IdentityEndpoint();
    if (!shared) {
      await identity.start();
      stoppers.push(() => identity.stop());
    }
    const admin = identity.addUserAssigned("kvbackup-test-admin");
    const none = identity.addUserAssigned("kvbackup-no-roles");
    const emulator = new KeyVaultEmulator({
      tls: { cert: tls.certPem, key: tls.keyPem },
      tenantId: identity.tenantId,
      tokenKeys: () => [identity.signer.publicKey],
    });
    stoppers.push(() => emulator.stop());
    const arm = new ArmEmulator({
      tls: { cert: tls.certPem, key: tls.keyPem },
      tokenKeys: () => [identity.signer.publicKey],
    });
    await arm.start();
    stoppers.push(() => arm.stop());
    const copyKey = newAccountKey();
    const azurite = await startAzurite(files, undefined, {
      accounts: [{ name: CopyAccount.name, key: copyKey }],
    });
    stoppers.push(() => azurite.stop());
    const proxyTls = { cert: tls.certPem, key: tls.keyPem, ca: tls.caPem };
    const network = { firewall: { ...OpenFirewall }, resources: new Map<string, string>() };
    const proxies = {
      blob: new StorageFaultProxy("blob", azurite.endpoints.blob, proxyTls, network),
      queue: new StorageFaultProxy("queue", azurite.endpoints.queue, proxyTls, network),
      table: new StorageFaultProxy("table", azurite.endpoints.table, proxyTls, network),
    };
    for (const p of Object.values(proxies)) {
      // One Azurite holds both accounts; in Azure they are different hosts, so the copy's name
      // reaches nothing here (else it would be a way round the copy's own firewall and roles).
      p.intercept = async (req, res, url) =>
        url.pathname.split("/")[1] === CopyAccount.name &&
        answer(req, res, storageError("ResourceNotFound", undefined, p.service));
      await p.start();
      stoppers.push(() => p.stop());
    }
    const copy = new IsolatedCopy(
      azurite.endpoints.blob,
      proxyTls,
      identity.systemAssigned.principalId,
      copyKey,
    );
    await copy.start();
    stoppers.push(() => copy.stop());
    const hsms = new Map<string, ManagedHsmEmulator>();
    const adminServer = new AdminServer({ emulator, identity, proxies, network, hsms, copy });
    await adminServer.start();
    stoppers.push(() => adminServer.stop());
    return {
      tls,
      caFile: files.ca,
      identity,
      emulator,
      arm,
      proxies,
      azurite: azurite.endpoints,
      admin: adminServer,
      network,
      hsms,
      identities: { app: identity.systemAssigned, admin, none },
      keyPool: new Map(),
      copy,
      deletePrimaryAccount: () => deleteAccount(azurite.endpoints, DevAccount, Object.values(proxies)),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * demo-vault (seeded unless told not to) and an empty restore-vault in the same world, with the
 * app's least-privilege roles. `sharedKeys`: seed from the base's key pool (tests make many vaults;
 * keys of one spec then share their material).
 */
export async function addDemoVaults(
  base: StackBase,
  seed = true,
  sharedKeys = false,
): Promise<Pick<Stack, "vaults" | "seeded">> {
  const demo = await base.emulator.createVault(StackVaults.demo);
  const restore = await base.emulator.createVault(StackVaults.restore);
  for (const vault of [demo.name, restore.name]) {
    if (sharedKeys) base.emulator.vault(vault).keyPool = base.keyPool;
    base.emulator.assignRole(vault, {
      principalId: base.identities.app.principalId,
      role: BackupOperatorRole,
    });
    base.emulator.assignRole(vault, {
      principalId: base.identities.app.principalId,
      role: RestoreOperatorRole,
    });
    base.emulator.assignRole(vault, {
      principalId: base.identities.admin.principalId,
      role: "Key Vault Administrator",
    });
  }
  const seeded = seed ? seedDemoVault(base.emulator, demo.name) : undefined;
  for (const vault of [demo.name, restore.name]) base.emulator.vault(vault).keyPool = undefined;
  return { vaults: { demo, restore }, seeded };
}

/** The two subscriptions of the local stack's Azure Resource Manager. */
export const StackSubscriptions = {
  a: "11111111-1111-4111-8111-00000000000a",
  b: "11111111-1111-4111-8111-00000000000b",
} as const;

/**
 * Discovery's world: demo-vault and team-a-kv (tagged backup=true) and scratch-kv (untagged) in
 * subscription A, team-b-kv (tagged) in B; the app reads A as Reader and B through a custom role
 * with only Microsoft.KeyVault/vaults/read. Returns the settings that turn discovery on.
 */
export async function addFleet(
  base: StackBase,
  demo: { name: string; url: string },
): Promise<Record<string, string>> {
  const { a, b } = StackSubscriptions;
  base.arm.addSubscription(a);
  base.arm.addSubscription(b);
  const add = (name: string, url: string, subscription: string, tags: Record<string, string>) =>
    base.arm.addVault({
      name,
      subscription,
      resourceGroup: "rg-kvbackup-local",
      location: "westeurope",
      tags,
      vaultUri: url,
    });
  add(demo.name, demo.url, a, { backup: "true", owner: "platform" });
  for (const [name, subscription, tags] of [
    ["team-a-kv", a, { backup: "true", owner: "team-a" }],
    ["scratch-kv", a, { owner: "team-a" }],
    ["team-b-kv", b, { backup: "true", owner: "team-b" }],
  ] as const) {
    const v = await base.emulator.createVault(name);
    base.emulator.assignRole(name, {
      principalId: base.identities.app.principalId,
      role: BackupOperatorRole,
    });
    base.emulator.assignRole(name, {
      principalId: base.identities.admin.principalId,
      role: "Key Vault Administrator",
    });
    for (let i = 1; i <= 3; i++)
      base.emulator.call(name, "PUT", `/secrets/${name}-secret-${i}`, { value: `${name} value ${i}` });
    add(name, v.url, subscription, { ...tags });
  }
  base.arm.assign({ principalId: base.identities.app.principalId, subscription: a, role: "Reader" });
  base.arm.assign({
    principalId: base.identities.app.principalId,
    subscription: b,
    role: { name: "Key Vault Discovery Reader", actions: ["Microsoft.KeyVault/vaults/read"] },
  });
  return { BACKUP_SUBSCRIPTIONS: `${a},${b}`, BACKUP_VAULT_TAG: "backup=true" };
}

export const StackHsm = "demo-hsm";

/**
 * The restore drill's scratch vault: empty, in demo-vault's security world unless told otherwise,
 * with the app's drill role on it only (restore, read metadata and public material, delete, purge).
 * Returns BACKUP_DRILL_VAULT.
 */
export async function addDrillVault(
  base: StackBase,
  name = "drill-vault",
  options: { securityWorld?: string; purgeProtection?: boolean } = {},
): Promise<{ vault: { name: string; url: string }; env: Record<string, string> }> {
  const vault = await base.emulator.createVault(name, options);
  base.emulator.assignRole(vault.name, {
    principalId: base.identities.app.principalId,
    role: DrillOperatorRole,
  });
  base.emulator.assignRole(vault.name, {
    principalId: base.identities.admin.principalId,
    role: "Key Vault Administrator",
  });
  return { vault, env: { BACKUP_DRILL_VAULT: `${vault.name}=${vault.url}` } };
}

/** The system topic that delivers the stack's vault events, as the infra makes one per vault. */
export const StackEventsTopic = `/subscriptions/${StackSubscriptions.a}/resourceGroups/kvbackup-local/providers/Microsoft.EventGrid/systemTopics/kvbackup-events`;

/**
 * Continuous protection's queue (issue 23): the queue and Event Grid's dead-letter container made
 * in Azurite (as the infra makes them), and the Key Vault emulator's new-version events delivered
 * to the queue as Event Grid delivers them — Base64 of the event's JSON, with the system topic's
 * managed identity, through the storage account's firewall model (which admits Event Grid only
 * when trusted Microsoft services are allowed), retried, then dead-lettered — with the delivery's
 * faults when asked. Returns the settings and the publisher (its counts, settled()).
 */
export async function addEventsQueue(
  base: StackBase,
  name = "keyvault-events",
  faults?: DeliveryFaults,
): Promise<{ publisher: EventPublisher; env: Record<string, string> }> {
  const topic = base.identity.addUserAssigned(`${name}-topic`);
  base.network.resources.set(topic.principalId, StackEventsTopic);
  const credential: TokenCredential = {
    getToken: async () => ({
      token: base.identity.mint(topic, "https://storage.azure.com"),
      expiresOnTimestamp: Date.now() + 3_600_000,
    }),
  };
  const deadLetters = `${name}-deadletter`;
  const publisher = await deliverEvents(
    base.emulator,
    {
      queueServiceUri: `${base.proxies.queue.url}/${DevAccount.name}`,
      caPem: base.tls.caPem,
      name,
      credential,
      deadLetters: { blobServiceUri: `${base.proxies.blob.url}/${DevAccount.name}`, container: deadLetters },
    },
    faults,
  );
  return { publisher, env: { BACKUP_EVENTS_QUEUE: name, BACKUP_EVENTS_DEADLETTER_CONTAINER: deadLetters } };
}

/** The HTTP status of a storage call: 2xx when it went through, the error's status, 0 without an answer. */
async function statusOf(call: () => Promise<{ _response: { status: number } }>): Promise<number> {
  try {
    return (await call())._response.status;
  } catch (e) {
    return (e as { statusCode?: number }).statusCode ?? 0;
  }
}

/**
 * The Key Vault emulator's events delivered to queue `name` of the storage behind queueServiceUri
 * (made when missing, with the account key), as Event Grid delivers them: with `credential` (the
 * system topic's identity) when given, else the account key; dead letters to `deadLetters` when
 * given. The process talks to that storage over the stack's TLS, so it trusts the stack's CA from
 * here on (a test worker already does, through NODE_EXTRA_CA_CERTS; `npm run stack` and the bench do not).
 */
export async function deliverEvents(
  emulator: KeyVaultEmulator,
  target: {
    queueServiceUri: string;
    caPem: string;
    name: string;
    credential?: TokenCredential;
    deadLetters?: { blobServiceUri: string; container: string };
  },
  faults?: DeliveryFaults,
): Promise<EventPublisher> {
  trustStackCa(target.caPem);
  const key = new StorageSharedKeyCredential(DevAccount.name, DevAccount.key);
  await new QueueServiceClient(target.queueServiceUri, key).getQueueClient(target.name).createIfNotExists();
  const queue = new QueueServiceClient(target.queueServiceUri, target.credential ?? key).getQueueClient(
    target.name,
  );
  const dl = target.deadLetters;
  let letters: ContainerClient | undefined;
  if (dl) {
    const blobKey = new BlobKey(DevAccount.name, DevAccount.key);
    await new BlobServiceClient(dl.blobServiceUri, blobKey)
      .getContainerClient(dl.container)
      .createIfNotExists();
    letters = new BlobServiceClient(dl.blobServiceUri, target.credential ?? blobKey).getContainerClient(
      dl.container,
    );
  }
  const publisher = new EventPublisher(
    {
      send: (message) => statusOf(() => queue.sendMessage(message)),
      ...(letters
        ? {
            deadLetter: (blob: string, body: string) =>
              statusOf(() =>
                (letters as ContainerClient).getBlockBlobClient(blob).upload(body, Buffer.byteLength(body)),
              ),
          }
        : {}),
    },
    faults,
  );
  emulator.events = publisher;
  return publisher;
}

/**
 * A Managed HSM with its own user-assigned identity (the one it writes backups with), registered
 * with the storage firewall model as the resource it is, seeded with keys, and the app given the
 * Managed HSM Backup role in its local RBAC. Returns BACKUP_MANAGED_HSMS.
 */
export async function addHsm(
  base: StackBase,
  name: string = StackHsm,
  options: { keys?: Record<string, number>; retryAfterSeconds?: number } = {},
): Promise<{ hsm: ManagedHsmEmulator; resourceId: string; env: Record<string, string> }> {
  const identity = base.identity.addUserAssigned(`${name}-identity`);
  const resourceId = `/subscriptions/${StackSubscriptions.a}/resourceGroups/kvbackup-local/providers/Microsoft.KeyVault/managedHSMs/${name}`;
  const hsm = new ManagedHsmEmulator({
    name,
    tls: { cert: base.tls.certPem, key: base.tls.keyPem, ca: base.tls.caPem },
    tenantId: base.identity.tenantId,
    tokenKeys: () => [base.identity.signer.publicKey],
    storageToken: () => base.identity.mint(identity, "https://storage.azure.com"),
    ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
  });
  await hsm.start();
  base.network.resources.set(identity.principalId, resourceId);
  hsm.assign(base.identities.app.principalId, "Managed HSM Backup");
  hsm.assign(base.identities.admin.principalId, "Managed HSM Administrator");
  for (const [key, versions] of Object.entries(
    options.keys ?? { "hsm-signing-key": 2, "hsm-wrapping-key": 1 },
  ))
    hsm.createKey(key, versions);
  base.hsms.set(name, hsm);
  const stop = base.stop;
  base.stop = async () => {
    await hsm.stop();
    await stop();
  };
  return { hsm, resourceId, env: { BACKUP_MANAGED_HSMS: `${name}=${hsm.url}` } };
}

/** Every setting the app reads, pointed at this stack (what stack.env holds). */
export function stackEnv(
  base: StackBase,
  vaults: Stack["vaults"],
  names: { container?: string; table?: string } = {},
): Record<string, string> {
  const account = DevAccount.name;
  const blob = `${base.proxies.blob.url}/${account}`;
  const queue = `${base.proxies.queue.url}/${account}`;
  const table = `${base.proxies.table.url}/${account}`;
  const connectionString = `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${DevAccount.key};BlobEndpoint=${blob};QueueEndpoint=${queue};TableEndpoint=${table};`;
  return {
    BACKUP_VAULTS: `${vaults.demo.name}=${vaults.demo.url}`,
    RESTORE_TARGET_VAULTS: `${vaults.restore.name}=${vaults.restore.url}`,
    BACKUP_STORAGE__blobServiceUri: blob,
    BACKUP_STORAGE__queueServiceUri: queue,
    BACKUP_STORAGE__tableServiceUri: table,
    BACKUP_STORAGE__credential: "managedidentity",
    BACKUP_CONTAINER: names.container ?? "keyvault-backups",
    BACKUP_INVENTORY_TABLE: names.table ?? "backupinventory",
    BACKUP_SCHEDULE: "0 0 2 * * *",
    BACKUP_WEEKLY_DAY: "Sunday",
    BACKUP_KINDS: "secrets,keys,certificates",
    BACKUP_RATE_PER_10S: "2000",
    BACKUP_ARM_ENDPOINT: base.arm.url,
    // No App Service authentication in front of the local stack: the restore role check is off here only.
    RESTORE_REQUIRE_ROLE: "false",
    AzureWebJobsStorage: connectionString,
    IDENTITY_ENDPOINT: base.identity.endpoint,
    IDENTITY_HEADER: base.identity.header,
    NODE_EXTRA_CA_CERTS: base.caFile,
    STACK_ADMIN_URL: base.admin.url,
    STACK_ADMIN_TOKEN: base.admin.token,
    STACK_ADMIN_CLIENT_ID: base.identities.admin.clientId,
    STACK_NO_ROLES_CLIENT_ID: base.identities.none.clientId,
    STACK_STORAGE_CONNECTION_STRING: connectionString,
  };
}

/** Starts the whole local Azure with demo-vault and restore-vault, and (unless told not to) writes stack.env. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = resolve(options.dir ?? ".local");
  const base = await startBase({ dir, ...(options.tls ? { tls: options.tls } : {}) });
  try {
    const added = await addDemoVaults(base, options.seed !== false);
    const env = {
      ...stackEnv(base, added.vaults),
      ...(await addFleet(base, added.vaults.demo)),
      // Retry-After 2 s instead of the service's 10 s keeps the demo quick; tests use 0.
      ...(await addHsm(base, StackHsm, { retryAfterSeconds: 2 })).env,
      ...(await addDrillVault(base)).env,
      ...(await addEventsQueue(base)).env,
      ...base.copy.env,
    };
    if (options.writeEnv !== false) {
      // Keeps a CA the shell trusts already (a TLS-inspecting proxy's) beside the stack's own.
      env.NODE_EXTRA_CA_CERTS = stackCaFile(
        base.caFile,
        join(dir, "stack-ca-bundle.pem"),
        process.env.NODE_EXTRA_CA_CERTS,
      );
      // Single-quoted: connection strings hold ';', and the file is meant for `set -a; . stack.env`.
      const lines = Object.entries(env).map(([k, v]) => `${k}='${v}'`);
      writeFileSync(
        join(dir, "stack.env"),
        `# written by npm run stack; valid while it runs\n${lines.join("\n")}\n`,
        { mode: 0o600 },
      );
    }
    return { ...base, ...added, env };
  } catch (e) {
    await base.stop();
    throw e;
  }
}
