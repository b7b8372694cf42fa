import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { ArmEmulator } from "../stack/arm/armEmulator.js";
import { IdentityEndpoint, type StackIdentity } from "../stack/identity/server.js";
import { KeyVaultEmulator } from "../stack/keyvault/emulator.js";
import { BackupOperatorRole, RestoreOperatorRole } from "../stack/keyvault/roles.js";
import { DevAccount, startAzurite } from "../stack/storage/azurite.js";
import { createStackTls, writeTlsFiles } from "../stack/tls.js";
import { type Mariadb, mariadbAvailable, startMariadb } from "./mariadb.js";

export type StorageMode = "sql" | "memory";

/**
 * The benchmark's local Azure: identity endpoint, Key Vault emulator and ARM emulator in this
 * process, Azurite in its own (blob metadata in a private MariaDB when storage is "sql"). The
 * app talks to Azurite directly: the storage fault proxies of `npm run stack` would add a hop in
 * this process — the one that also serves Key Vault — and no fault is injected here anyway.
 */
export interface BenchStack {
  emulator: KeyVaultEmulator;
  arm: ArmEmulator;
  identity: IdentityEndpoint;
  app: StackIdentity;
  storage: { mode: StorageMode; mariadb?: string; azuritePid?: number; mariadbPid?: number };
  /** Settings every kvbackup process of the bench gets (vaults are added per scenario). */
  env: Record<string, string>;
  addVault(
    name: string,
    options?: { subscription?: string; world?: string },
  ): Promise<{ name: string; url: string }>;
  stop(): Promise<void>;
}

export async function startBenchStack(dir: string, mode: StorageMode): Promise<BenchStack> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const tls = createStackTls();
  const files = {
    ca: join(root, "bench-ca.pem"),
    cert: join(root, "bench-cert.pem"),
    key: join(root, "bench-key.pem"),
  };
  writeTlsFiles(tls, files);
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stoppers.reverse()) await s().catch((e) => console.error("[bench] stop:", e));
    stoppers.length = 0;
  };
  try {
    const identity = new IdentityEndpoint();
    await identity.start();
    stoppers.push(() => identity.stop());
    const emulator = new KeyVaultEmulator({
      tls: { cert: tls.certPem, key: tls.keyPem },
      tenantId: identity.tenantId,
      tokenKeys: () => [identity.signer.publicKey],
    });
    stoppers.push(() => emulator.stop());
    const arm = new ArmEmulator({
      tls: { cert: tls.certPem, key: tls.keyPem },
      tokenKeys: () => [identity.signer.publicKey],
      pageSize: 100,
    });
    await arm.start();
    stoppers.push(() => arm.stop());
    let mariadb: Mariadb | undefined;
    if (mode === "sql") {
      if (!mariadbAvailable())
        throw new Error("--storage sql needs /usr/sbin/mariadbd (Debian: mariadb-server)");
      mariadb = await startMariadb(join(root, "mariadb"));
      stoppers.push(() => (mariadb as Mariadb).stop());
    }
    // Blob content on tmpfs: Azurite fdatasyncs every upload to its extent files otherwise.
    const tmpRoot = existsSync("/dev/shm") ? { tmpRoot: "/dev/shm" } : {};
    const azurite = await startAzurite(
      files,
      60_000,
      mariadb ? { sqlMetadata: mariadb.url, ...tmpRoot } : {},
    );
    stoppers.push(() => azurite.stop());
    const app = identity.systemAssigned;
    const blob = `${azurite.endpoints.blob}/${DevAccount.name}`;
    const queue = `${azurite.endpoints.queue}/${DevAccount.name}`;
    const table = `${azurite.endpoints.table}/${DevAccount.name}`;
    const env: Record<string, string> = {
      BACKUP_STORAGE__blobServiceUri: blob,
      BACKUP_STORAGE__queueServiceUri: queue,
      BACKUP_STORAGE__tableServiceUri: table,
      BACKUP_STORAGE__credential: "managedidentity",
      BACKUP_CONTAINER: "keyvault-backups",
      BACKUP_INVENTORY_TABLE: "backupinventory",
      BACKUP_KINDS: "secrets,keys,certificates",
      BACKUP_ARM_ENDPOINT: arm.url,
      RESTORE_REQUIRE_ROLE: "false",
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
      NODE_EXTRA_CA_CERTS: files.ca,
    };
    return {
      emulator,
      arm,
      identity,
      app,
      storage: {
        mode,
        ...(mariadb ? { mariadb: mariadb.version, mariadbPid: mariadb.pid } : {}),
        ...(azurite.pid ? { azuritePid: azurite.pid } : {}),
      },
      env,
      async addVault(name, options = {}) {
        const v = await emulator.createVault(name, { securityWorld: options.world ?? "bench" });
        for (const role of [BackupOperatorRole, RestoreOperatorRole])
          emulator.assignRole(name, { principalId: app.principalId, role });
        if (options.subscription) {
          if (!arm.subscriptions.has(options.subscription)) {
            arm.addSubscription(options.subscription);
            arm.assign({ principalId: app.principalId, subscription: options.subscription, role: "Reader" });
          }
          arm.addVault({
            name,
            subscription: options.subscription,
            resourceGroup: "rg-bench",
            location: "westeurope",
            tags: { backup: "true" },
            vaultUri: v.url,
          });
        }
        return v;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
