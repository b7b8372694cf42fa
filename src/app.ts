import { ArmVaultDirectory } from "./arm/vaultDirectory.js";
import {
  type BackupQueueJob,
  type Clock,
  DefaultTuning,
  type EngineDeps,
  type RestoreJob,
  systemClock,
  type Tuning,
} from "./backup/engine.js";
import { type Config, Queues } from "./domain/config.js";
import { firstLine, KvBackupError } from "./domain/errors.js";
import { credentials } from "./identity.js";
import { HsmAdapter } from "./keyvault/hsmAdapter.js";
import { VaultAdapter } from "./keyvault/vaultAdapter.js";
import { VaultInspector } from "./keyvault/vaultInspector.js";
import { BlobStore } from "./storage/blobStore.js";
import { BudgetSlots } from "./storage/budgetSlots.js";
import { storageClients } from "./storage/clients.js";
import { copyTarget } from "./storage/copyTarget.js";
import { DeadLetterStore } from "./storage/deadLetterStore.js";
import { DocumentStore } from "./storage/documentStore.js";
import { EventQueue } from "./storage/eventQueue.js";
import { HsmFolders } from "./storage/hsmFolders.js";
import { InventoryTable } from "./storage/inventoryTable.js";
import { JobQueue } from "./storage/jobQueue.js";
import { VaultLeases } from "./storage/leases.js";
import { otelTelemetry } from "./telemetry/otelTelemetry.js";

/** The engine's dependencies, made of the real adapters. */
export type App = EngineDeps;

export interface AppOverrides {
  tuning?: Partial<Tuning>;
  /** 15-60 s, and how often it is renewed; tests renew often to see a lost lease quickly. */
  leaseSeconds?: number;
  leaseRenewMs?: number;
  telemetry?: EngineDeps["telemetry"];
  /** Waits before re-sending a Key Vault 401 AKV10046 (transient); tests shorten them. */
  signingKeyRetryMs?: readonly number[];
  now?: () => Date;
  clock?: Clock;
}

/**
 * The composition root: validated settings in, every port wired to its Azure adapter out. Making
 * the clients opens no connection; the first call does.
 */
export function createApp(config: Config, overrides: AppOverrides = {}): App {
  const creds = credentials(config);
  const clients = storageClientsOrBadSettings(config, creds.storage);
  const container = clients.blob.getContainerClient(config.container);
  const inventory = new InventoryTable(clients.table(config.inventoryTable));
  return {
    config,
    vaults: (vault, budget, hooks) =>
      new VaultAdapter(vault, creds.keyVault, budget, {
        ...hooks,
        ...(overrides.signingKeyRetryMs ? { signingKeyRetryMs: overrides.signingKeyRetryMs } : {}),
      }),
    ...(config.subscriptions.length
      ? { directory: new ArmVaultDirectory(config.armEndpoint, creds.keyVault) }
      : {}),
    blobs: new BlobStore(container),
    inspect: (vault, budget) => new VaultInspector(vault, creds.keyVault, budget),
    drills: {
      put: (row, signal) => inventory.putDrill(row, signal),
      list: (q, signal) => inventory.listDrills(q, signal),
    },
    hsms: (hsm) => new HsmAdapter(hsm, creds.keyVault),
    hsmFolders: new HsmFolders(clients.blob),
    documents: new DocumentStore(container),
    leases: new VaultLeases(container, overrides.leaseSeconds, overrides.leaseRenewMs),
    budgetSlots: new BudgetSlots(container, overrides.leaseSeconds, overrides.leaseRenewMs),
    inventory,
    backupJobs: new JobQueue<BackupQueueJob>(clients.queue.getQueueClient(Queues.backup)),
    restoreJobs: new JobQueue<RestoreJob>(clients.queue.getQueueClient(Queues.restore)),
    ...(config.eventsQueue
      ? { events: new EventQueue(clients.queue.getQueueClient(config.eventsQueue)) }
      : {}),
    ...(config.eventsDeadLetters
      ? { deadLetters: new DeadLetterStore(clients.blob.getContainerClient(config.eventsDeadLetters)) }
      : {}),
    ...(config.copy
      ? {
          copy: copyTarget(config.copy, creds.copy, container, {
            credential: creds.storage,
            identity: config.storage.kind === "identity",
          }),
        }
      : {}),
    telemetry: overrides.telemetry ?? otelTelemetry,
    now: overrides.now ?? (() => new Date()),
    clock: overrides.clock ?? systemClock,
    tuning: { ...DefaultTuning, ...overrides.tuning },
    whoAmI: () => creds.storage.signedIn() ?? creds.keyVault.signedIn(),
  };
}

/** The SDKs check a connection string only when the clients are made: a refusal there is a bad setting, named. */
function storageClientsOrBadSettings(config: Config, credential: Parameters<typeof storageClients>[1]) {
  try {
    return storageClients(config.storage, credential);
  } catch (e) {
    const why = firstLine(e);
    throw new KvBackupError(
      "BadSettings",
      `Bad settings:\n  - BACKUP_STORAGE: not a usable connection string (${why})`,
    );
  }
}
