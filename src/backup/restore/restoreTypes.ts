import type { VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import type { Kind, OnConflict, RunStatus } from "../../domain/vocabulary.js";

export type PlanAction = "restore" | "skip-exists" | "skip-deleted" | "not-in-backup";
export type RestoreOutcome = "restored" | "skipped-exists" | "skipped-deleted" | "not-in-backup" | "failed";

export interface PlanEntry {
  kind: Kind;
  /** "*" for a whole kind the run does not hold. */
  name: string;
  action: PlanAction;
  detail?: string;
  /**
   * skip-exists: the kind that holds the name when it is not this object's own (a key or secret
   * named like a certificate): the object itself is then not in the target.
   */
  heldBy?: Kind;
  /** A point-in-time restore: the backup the object comes from (a runId, or "event <taken at>"). */
  from?: string;
}

export interface RestoreEntry {
  kind: Kind;
  name: string;
  outcome: RestoreOutcome;
  detail?: string;
  diagnosis?: Diagnosis;
  /** skipped-exists: the kind holding the name, when not the object's own (as the plan's). */
  heldBy?: Kind;
  /** failed CorruptBlob: the SHA-256 of what the blob held instead of what the manifest recorded. */
  blobSha256?: string;
}

export interface RestoreFilters {
  kinds?: readonly Kind[];
  /** "kind/name" or a bare name (any kind). */
  names?: readonly string[];
}

export interface RestoreRequest {
  /**
   * A runId or "latest" (the newest committed run of `vault`). With `at`: "latest" picks the newest
   * run finished by then; a runId pins that run (a queued restore), which must have finished by then.
   */
  runId: string;
  /**
   * A point in time (ISO 8601): the vault as it was then — the newest run that had finished by
   * then, each object newer in an event backup taken by then taken from that backup.
   */
  at?: string | undefined;
  /** The source vault. */
  vault: string;
  /** Default: the source vault. Must be in BACKUP_VAULTS or RESTORE_TARGET_VAULTS. */
  targetVault?: string | undefined;
  kinds?: Kind[] | undefined;
  names?: string[] | undefined;
  dryRun?: boolean | undefined;
  onConflict?: OnConflict | undefined;
  /** "copy": the run (and with `at` the event backups) read from the isolated copy, not the backup account. */
  from?: "copy" | undefined;
}

export interface RestoreReport {
  restoreId?: string;
  /** `unvouched`: read from the copy while the backup account could not be reached to vouch for the run. */
  source: { runId: string; vault: string; status: RunStatus; at?: string; from?: "copy"; unvouched?: true };
  target: VaultRef;
  dryRun: boolean;
  onConflict: OnConflict;
  /**
   * succeeded: everything asked for is restored or deliberately skipped by the conflict policy;
   * partial / failed otherwise. A dry run is "planned" and says in `expected` what it would be.
   */
  status: "planned" | RunStatus;
  expected?: RunStatus;
  plan: PlanEntry[];
  results?: RestoreEntry[];
  startedAt: string;
  finishedAt: string;
}
