import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AdminServer } from "./admin.js";
import { IdentityEndpoint, type StackIdentity } from "./identity/server.js";
import { KeyVaultEmulator } from "./keyvault/emulator.js";
import { BackupOperatorRole, RestoreOperatorRole } from "./keyvault/roles.js";
import { type SeedSummary, seedDemoVault } from "./seed.js";
import { type AzuriteProcess, DevAccount, startAzurite } from "./storage/azurite.js";
import { StorageFaultProxy, type StorageService } from "./storage/faultProxy.js";
import { createStackTls, type StackTls, writeTlsFiles } from "./tls.js";

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

export interface Stack {
  tls: StackTls;
  caFile: string;
  identity: IdentityEndpoint;
  emulator: KeyVaultEmulator;
  proxies: Record<StorageService, StorageFaultProxy>;
  /** Azurite's own endpoints, bypassing the fault proxy. */
  azurite: AzuriteProcess["endpoints"];
  admin: AdminServer;
  vaults: { demo: { name: string; url: string }; restore: { name: string; url: string } };
  /** app = the Function's system-assigned identity (backup + restore roles); admin = Key Vault Administrator; none = no roles. */
  identities: { app: StackIdentity; admin: StackIdentity; none: StackIdentity };
  seeded: SeedSummary | undefined;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export const StackVaults = { demo: "demo-vault", restore: "restore-vault" } as const;

/** Starts the whole local Azure: identity endpoint, Key Vault emulator, Azurite behind fault proxies, admin API. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // Absolute: Azurite runs in its own working directory and NODE_EXTRA_CA_CERTS is read by other processes.
  const dir = resolve(options.dir ?? ".local");
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
    const identity = new IdentityEndpoint();
    await identity.start();
    stoppers.push(() => identity.stop());
    const admin = identity.addUserAssigned("kvbackup-test-admin");
    const none = identity.addUserAssigned("kvbackup-no-roles");

    const emulator = new KeyVaultEmulator({
      tls: { cert: tls.certPem, key: tls.keyPem },
      tenantId: identity.tenantId,
      tokenKeys: () => [identity.signer.publicKey],
    });
    stoppers.push(() => emulator.stop());
    const demo = await emulator.createVault(StackVaults.demo);
    const restore = await emulator.createVault(StackVaults.restore);
    for (const vault of [demo.name, restore.name]) {
      emulator.assignRole(vault, {
        principalId: identity.systemAssigned.principalId,
        role: BackupOperatorRole,
      });
      emulator.assignRole(vault, {
        principalId: identity.systemAssigned.principalId,
        role: RestoreOperatorRole,
      });
      emulator.assignRole(vault, { principalId: admin.principalId, role: "Key Vault Administrator" });
    }
    const seeded = options.seed === false ? undefined : seedDemoVault(emulator, demo.name);

    const azurite = await startAzurite(files);
    stoppers.push(() => azurite.stop());
    const proxyTls = { cert: tls.certPem, key: tls.keyPem, ca: tls.caPem };
    const proxies = {
      blob: new StorageFaultProxy("blob", azurite.endpoints.blob, proxyTls),
      queue: new StorageFaultProxy("queue", azurite.endpoints.queue, proxyTls),
      table: new StorageFaultProxy("table", azurite.endpoints.table, proxyTls),
    };
    for (const p of Object.values(proxies)) {
      await p.start();
      stoppers.push(() => p.stop());
    }
    const adminServer = new AdminServer({ emulator, identity, proxies });
    await adminServer.start();
    stoppers.push(() => adminServer.stop());

    const account = DevAccount.name;
    const blob = `${proxies.blob.url}/${account}`;
    const queue = `${proxies.queue.url}/${account}`;
    const table = `${proxies.table.url}/${account}`;
    const connectionString = `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${DevAccount.key};BlobEndpoint=${blob};QueueEndpoint=${queue};TableEndpoint=${table};`;
    const env: Record<string, string> = {
      BACKUP_VAULTS: `${demo.name}=${demo.url}`,
      RESTORE_TARGET_VAULTS: `${restore.name}=${restore.url}`,
      BACKUP_STORAGE__blobServiceUri: blob,
      BACKUP_STORAGE__queueServiceUri: queue,
      BACKUP_STORAGE__tableServiceUri: table,
      BACKUP_STORAGE__credential: "managedidentity",
      BACKUP_CONTAINER: "keyvault-backups",
      BACKUP_INVENTORY_TABLE: "backupinventory",
      BACKUP_SCHEDULE: "0 0 2 * * *",
      BACKUP_WEEKLY_DAY: "Sunday",
      BACKUP_KINDS: "secrets,keys,certificates",
      BACKUP_RATE_PER_10S: "2000",
      // No App Service authentication in front of the local stack: the restore role check is off here only.
      RESTORE_REQUIRE_ROLE: "false",
      AzureWebJobsStorage: connectionString,
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
      NODE_EXTRA_CA_CERTS: files.ca,
      STACK_ADMIN_URL: adminServer.url,
      STACK_ADMIN_TOKEN: adminServer.token,
      STACK_ADMIN_CLIENT_ID: admin.clientId,
      STACK_NO_ROLES_CLIENT_ID: none.clientId,
      STACK_STORAGE_CONNECTION_STRING: connectionString,
    };
    if (options.writeEnv !== false) {
      // Single-quoted: connection strings hold ';', and the file is meant for `set -a; . stack.env`.
      const lines = Object.entries(env).map(([k, v]) => `${k}='${v}'`);
      writeFileSync(
        join(dir, "stack.env"),
        `# written by npm run stack; valid while it runs\n${lines.join("\n")}\n`,
        { mode: 0o600 },
      );
    }
    return {
      tls,
      caFile: files.ca,
      identity,
      emulator,
      proxies,
      azurite: azurite.endpoints,
      admin: adminServer,
      vaults: { demo, restore },
      identities: { app: identity.systemAssigned, admin, none },
      seeded,
      env,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
