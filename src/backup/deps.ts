import type { Config } from "../domain/config.js";
import type { SignedIn } from "../domain/signedIn.js";
import type { Kind, Mode, Tier, Trigger } from "../domain/vocabulary.js";
import type {
  BlobStore,
  BudgetSlots,
  CopyPort,
  DeadLetters,
  DocumentStore,
  DrillStore,
  EventQueue,
  HsmFactory,
  HsmFolders,
  InspectorFactory,
  InventoryStore,
  JobQueue,
  Telemetry,
  VaultDirectory,
  VaultFactory,
  VaultLeases,
} from "./ports.js";
import type { Clock } from "./wait.js";

/*
 * The jobs that exist, as one tagged union. The tags are the queue message's own fields (`hsm:
 * true`, `drill: true`, `restoreId`), so messages already queued by an earlier version still read.
 */

interface RunJobBase {
  runId: string;
  /** The Key Vault, or the Managed HSM for an HSM job. */
  vault: string;
  tier: Tier;
  trigger: Trigger;
}

/** A backup of one Key Vault. */
export interface VaultJob extends RunJobBase {
  hsm?: undefined;
  drill?: undefined;
  kinds?: Kind[] | undefined;
  /** Asked for: "full" backs up everything; "incremental" only what changed. Unset: daily runs follow BACKUP_INCREMENTAL, others are full. */
  mode?: Mode | undefined;
}

/** A full backup of the Managed HSM named `vault` (the HSM writes it into the backup account). */
export interface HsmJob extends RunJobBase {
  hsm: true;
  drill?: undefined;
  kinds?: undefined;
  mode?: undefined;
}

/** A restore drill of the vault's latest committed run; runId is the drill's id. */
export interface DrillJob extends RunJobBase {
  drill: true;
  hsm?: undefined;
  kinds?: undefined;
  mode?: undefined;
}

/** A restore the HTTP API accepted: its request and progress live in the restore's document. */
export interface RestoreJob {
  restoreId: string;
}

/** What runBackup runs: a vault's backup or an HSM's. */
export type BackupJob = VaultJob | HsmJob;
/** What the backup-jobs queue carries. */
export type BackupQueueJob = BackupJob | DrillJob;
/** Every job: backup-jobs' and restore-jobs'. */
export type Job = BackupQueueJob | RestoreJob;

/** Knobs with production defaults; tests turn them to make slow things quick. */
export interface Tuning {
  /** Objects in flight at once per backup (each waits for the vault's budget anyway). */
  concurrency: number;
  /**
   * Objects in flight at once in an incremental run: most are server-side copies, which spend no
   * Key Vault budget and wait on Storage's latency, not on the vault's pace.
   */
  copyConcurrency: number;
  /**
   * Restores per 10 s per vault at most: Key Vault's create class (300 per 10 s for secrets,
   * learn.microsoft.com/azure/key-vault/general/service-limits). Whether restores count there is
   * not documented; pacing as if they do avoids a 429 storm against a limit the vault does have.
   */
  restoreRatePer10s: number;
  /** Objects in flight at once per restore. */
  restoreConcurrency: number;
  /** Key Vault's version limit for backups; 500 in Azure. */
  versionLimit: number;
  /** How long a 409 that may be transient (a purge still running) is retried on restore. */
  conflictRetryMs: number;
  /** How long a run waits for a slot of its subscription's budget before giving the job back (retried later). */
  budgetWaitMs: number;
  /** How often a run waiting for a budget slot looks again (jittered ±25 %, so instances do not look in step). */
  budgetPollMs: number;
  /**
   * How long a process keeps a vault's event hold (its events lock and a budget slot) after its
   * last event of that vault, so the next ones need not take them again.
   */
  eventHoldLingerMs: number;
  /** How long an event that could not have its vault's hold waits on the queue before it is tried again. */
  eventDeferSeconds: number;
  /**
   * How long a queued drill waits for the scratch vault while another drill holds it (every vault's
   * drill uses the one scratch vault, so the timer's drills run one after another), and how often
   * it looks. Under the Functions timeout; past it the job is given back and delivered again.
   */
  drillWaitMs: number;
  drillPollMs: number;
  /** How often a Managed HSM job's status is read (the service's Retry-After wins when longer). */
  hsmPollMs: number;
  /** How long a run waits for an HSM job before it records it as still running and fails. */
  hsmJobTimeoutMs: number;
}

export const DefaultTuning: Tuning = {
  concurrency: 16,
  copyConcurrency: 16,
  restoreConcurrency: 8,
  restoreRatePer10s: 300,
  versionLimit: 500,
  conflictRetryMs: 60_000,
  budgetWaitMs: 10 * 60_000,
  budgetPollMs: 2_000,
  eventHoldLingerMs: 5_000,
  eventDeferSeconds: 30,
  drillWaitMs: 10 * 60_000,
  drillPollMs: 5_000,
  hsmPollMs: 5_000,
  hsmJobTimeoutMs: 20 * 60_000,
};

/** Everything the engine needs, passed to every entry point as one object. */
export interface EngineDeps {
  config: Config;
  vaults: VaultFactory;
  /** Discovery's directory (Azure Resource Manager); present when BACKUP_SUBSCRIPTIONS is set. */
  directory?: VaultDirectory;
  blobs: BlobStore;
  /** Restore drills: an object's facts (metadata, public material), delete and purge. */
  inspect: InspectorFactory;
  /** Drill rows (type "drill") in the inventory table. */
  drills: DrillStore;
  /** Managed HSM administration, one port per HSM of BACKUP_MANAGED_HSMS. */
  hsms: HsmFactory;
  /** The containers HSMs write their full backups into, one per tier. */
  hsmFolders: HsmFolders;
  documents: DocumentStore;
  leases: VaultLeases;
  /** The subscription budget's slots (BACKUP_SUBSCRIPTION_RATE_PER_10S), shared across instances. */
  budgetSlots: BudgetSlots;
  inventory: InventoryStore;
  backupJobs: JobQueue<BackupQueueJob>;
  /** Continuous protection's events (BACKUP_EVENTS_QUEUE); absent when it is off. */
  events?: EventQueue;
  /** Event Grid's dead letters of those events (BACKUP_EVENTS_DEADLETTER_CONTAINER); absent when not set. */
  deadLetters?: DeadLetters;
  restoreJobs: JobQueue<RestoreJob>;
  /** The isolated copy (BACKUP_COPY_BLOB_URI); absent when it is not set. */
  copy?: CopyPort;
  telemetry: Telemetry;
  /** The calendar: what date it is, for records, schedules and ages. A test may fix it. */
  now: () => Date;
  /** The clock every wait runs on (keepTrying, the vaults' pace): only moves forward. */
  clock: Clock;
  tuning: Tuning;
  /** Who the calls were made as, once a token was had (doctor and /api/health say so). */
  whoAmI?: () => SignedIn | undefined;
}
