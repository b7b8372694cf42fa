import type { Caller } from "./diagnosis.js";
import { normalVaultName } from "./rules.js";
import type { Kind, WeekDay } from "./vocabulary.js";

export interface VaultRef {
  name: string;
  url: string;
  /** The subscription the vault lives in, when discovery found it there (its Key Vault budget is that subscription's). */
  subscription?: string;
}

export type StorageConfig =
  | { kind: "connectionString"; connectionString: string }
  | {
      kind: "identity";
      blobServiceUri: string;
      queueServiceUri: string;
      tableServiceUri: string;
      clientId?: string;
    };

export interface CopyConfig {
  /** The copy account's blob endpoint (no trailing slash). */
  blobServiceUri: string;
  container: string;
  /** BACKUP_COPY_MAX_LAG_HOURS: past this the copy is at risk (report, health, alert). */
  maxLagHours: number;
  /**
   * A copy in another tenant (BACKUP_COPY_TENANT_ID, BACKUP_COPY_CLIENT_ID): the app signs in there
   * as this multi-tenant app registration, presenting its managed identity's token as the client
   * assertion (a federated identity credential trusts it). Absent: the app's own identity.
   */
  tenant?: { tenantId: string; clientId: string };
}

/** The validated settings (src/config.ts makes them from the environment, once). */
export interface Config {
  vaults: readonly VaultRef[];
  restoreTargets: readonly VaultRef[];
  /** Managed HSMs whose full backups the app starts and records (BACKUP_MANAGED_HSMS). */
  hsms: readonly VaultRef[];
  /** The restore drill's empty scratch vault (BACKUP_DRILL_VAULT); no drills without it. */
  drillVault?: VaultRef;
  /** NCRONTAB of the drill timer (BACKUP_DRILL_SCHEDULE). */
  drillSchedule: string;
  /**
   * The queue in the backup account that Event Grid delivers the vaults' new-version events to
   * (BACKUP_EVENTS_QUEUE): continuous protection on. Preview: see docs/continuous-protection.md.
   */
  eventsQueue?: string;
  /**
   * The container Event Grid dead-letters undeliverable events into
   * (BACKUP_EVENTS_DEADLETTER_CONTAINER): doctor and /api/health count them; `kvbackup events
   * --replay-dead-letters` backs up what they name.
   */
  eventsDeadLetters?: string;
  /**
   * The isolated copy (BACKUP_COPY_BLOB_URI, BACKUP_COPY_CONTAINER): an append-only second account in
   * another subscription that each committed run is copied to (docs/isolated-copy.md).
   */
  copy?: CopyConfig;
  storage: StorageConfig;
  container: string;
  inventoryTable: string;
  schedule: string;
  weeklyDay: WeekDay;
  kinds: readonly Kind[];
  ratePer10s: number;
  /** Key Vault transactions all runs together may spend per subscription per 10 s, across instances. */
  subscriptionRatePer10s: number;
  /** Subscriptions whose Key Vaults are discovered (through Azure Resource Manager) and backed up. */
  subscriptions: readonly string[];
  /** Discovery keeps only vaults with this tag (name case-insensitive, value exact). */
  vaultTag?: { name: string; value: string };
  /** Azure Resource Manager: https://management.azure.com, a sovereign cloud's, or the local stack's. */
  armEndpoint: string;
  /** Daily runs back up only what changed since the vault's newest committed run and copy the rest. */
  incremental: boolean;
  /** POST /api/restores requires the Backup.Restore app role (from App Service authentication). */
  restoreRequireRole: boolean;
  /** App Service authentication is on for this app (WEBSITE_AUTH_ENABLED): only then is x-ms-client-principal trustworthy. */
  appServiceAuth: boolean;
  /** Who makes the calls: the Function in Azure, or an operator's machine (the CLI). */
  caller: Caller;
  clientId?: string;
  appInsightsConnectionString?: string;
}

export const Queues = { backup: "backup-jobs", restore: "restore-jobs" } as const;

/** A vault this app may send a token to: BACKUP_VAULTS, plus RESTORE_TARGET_VAULTS when asked. */
export function findVault(
  config: Pick<Config, "vaults" | "restoreTargets">,
  name: string,
  opts: { includeRestoreTargets?: boolean } = {},
): VaultRef | undefined {
  const n = normalVaultName(name);
  return (
    config.vaults.find((v) => v.name === n) ??
    (opts.includeRestoreTargets ? config.restoreTargets.find((v) => v.name === n) : undefined)
  );
}

/** A Managed HSM of BACKUP_MANAGED_HSMS, by name (case-insensitive). */
export function findHsm(config: Pick<Config, "hsms">, name: string): VaultRef | undefined {
  const n = normalVaultName(name);
  return config.hsms.find((h) => h.name === n);
}

/** What a queue probe (doctor, /api/health) sends: a message the workers recognise and ignore. */
export const QueueProbe = { kvbackupProbe: true } as const;
export const isQueueProbe = (message: unknown): boolean => {
  let raw = message;
  if (typeof message === "string")
    try {
      raw = JSON.parse(message);
    } catch {
      return false;
    }
  return (
    typeof raw === "object" && raw !== null && (raw as { kvbackupProbe?: unknown }).kvbackupProbe === true
  );
};
