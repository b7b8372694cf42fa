/**
 * The engine's front door: every entry point the triggers, the CLI and the app's wiring use, and
 * the types they exchange. Nothing outside src/backup imports any other file of it (the import
 * rules test holds that), so what is behind this door can move without touching them.
 */

// Backups: plan and queue them, run one vault's, read the runs.
export { enqueueBackups, planBackups, type QueuedRun, scheduleBackups } from "./backupJobs.js";
export { sourceVault } from "./catalog/findRun.js";
export { listRuns } from "./catalog/listRuns.js";
export { showRun } from "./catalog/showRun.js";
export { type EventsVerifyResult, verifyEvents } from "./catalog/verifyEvents.js";
export { verifyRef } from "./catalog/verifyRun.js";
export { type CopyPass, copyPass } from "./copy/copyPass.js";
export { fromCopy, requireCopy, unvouched } from "./copy/fromCopy.js";
// What the engine is given: its ports, settings and tuning, and the jobs it is asked to do.
export {
  type BackupJob,
  type BackupQueueJob,
  DefaultTuning,
  type DrillJob,
  type EngineDeps,
  type HsmJob,
  type Job,
  type RestoreJob,
  type Tuning,
  type VaultJob,
} from "./deps.js";
// Drills, the fleet, health and the report.
export { drillTargets, enqueueDrills, type QueuedDrill } from "./drill/drillJobs.js";
export type { DrillResult } from "./drill/drillTypes.js";
export { runDrill } from "./drill/runDrill.js";
export {
  deadLetterFacts,
  type ReplayResult,
  replayDeadLetters,
} from "./events/deadLetters.js";
export { type DrainResult, drainEvents, handleEventMessage } from "./events/drainEvents.js";
// What went wrong, as a diagnosis.
export { diagnosisOf } from "./failures.js";
export { discoverFleet, fleetOf, withFleet } from "./fleet.js";
export { emitFleetStatus } from "./fleetStatus.js";
export { type Check, checkHealth, type VaultHealth } from "./health.js";
export { restoreHsm } from "./hsm/restoreHsm.js";
export { goneVaults } from "./missing.js";
export { buildReport, type VaultReport } from "./report.js";
export { getRestore, type RestoreState, runRestoreJob, submitRestore } from "./restore/restoreJobs.js";
export type { RestoreReport } from "./restore/restoreTypes.js";
// Restores: of a vault's run (now, or queued), of a Managed HSM key.
export { pointInTime, runRestore } from "./restore/runRestore.js";
export { restoredAsAsked } from "./restore/status.js";
export type { Progress } from "./run/backupKinds.js";
export type { RunResult } from "./run/record.js";
export { runBackup } from "./runBackup.js";
export { type Clock, systemClock } from "./wait.js";
