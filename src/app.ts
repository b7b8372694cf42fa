import type { BackupJob, EngineDeps } from "./backup/runVault.js";
import { type Config, Queues } from "./config.js";
import { credentials } from "./identity.js";
import { VaultAdapter } from "./keyvault/vaultAdapter.js";
import { BackupStore } from "./storage/backupStore.js";
import { storageClients } from "./storage/clients.js";
import { Inventory } from "./storage/inventory.js";
import { JobQueue } from "./storage/jobQueue.js";

/** Everything the triggers and the CLI need, made once from the validated settings. */
export interface App {
  config: Config;
  store: BackupStore;
  inventory: Inventory;
  backupJobs: JobQueue<BackupJob>;
  restoreJobs: JobQueue<{ restoreId: string }>;
  engine: EngineDeps;
}

export function createApp(
  config: Config,
  overrides: Partial<Pick<EngineDeps, "concurrency" | "versionLimit" | "onProgress">> & {
    leaseSeconds?: number;
  } = {},
): App {
  const creds = credentials(config);
  const clients = storageClients(config.storage, creds.storage);
  const { leaseSeconds, ...engineOverrides } = overrides;
  const store = new BackupStore(clients.blob.getContainerClient(config.container), leaseSeconds);
  const inventory = new Inventory(clients.table(config.inventoryTable));
  return {
    config,
    store,
    inventory,
    backupJobs: new JobQueue<BackupJob>(clients.queue.getQueueClient(Queues.backup)),
    restoreJobs: new JobQueue<{ restoreId: string }>(clients.queue.getQueueClient(Queues.restore)),
    engine: {
      config,
      store,
      inventory,
      adapter: (vault, limiter, hooks) => new VaultAdapter(vault, creds.keyVault, limiter, hooks),
      ...engineOverrides,
    },
  };
}
