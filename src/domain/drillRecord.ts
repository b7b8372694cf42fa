import { z } from "zod";
import { ObjectRefPattern, parseInstant, RunIdPattern, VaultNamePattern } from "./rules.js";
import type { Kind, Trigger } from "./vocabulary.js";

/**
 * Restore drills: the latest committed run of a vault restored into an empty scratch vault
 * (BACKUP_DRILL_VAULT), proved object by object without reading a secret value, then deleted and
 * purged. A drill's row sits in the inventory beside the vault's runs (type "drill").
 */
export const DrillStatuses = ["running", "succeeded", "failed", "abandoned"] as const;
export type DrillStatus = (typeof DrillStatuses)[number];

/** What the drill compares of one object: never a value, only metadata and public material. */
export interface ObjectFacts {
  enabled: boolean;
  contentType?: string;
  tags?: Record<string, string>;
  updatedOn?: string;
  /** Every version: its id and per-version metadata. */
  versions: { id: string; enabled: boolean; contentType?: string; updatedOn?: string }[];
  /** Keys: the RFC 7638 SHA-256 thumbprint of the current version's public key; certificates: x5t. */
  thumbprint?: string;
}

export interface DrillMismatch {
  kind: Kind;
  name: string;
  /** "missing" (not in the scratch vault after the restore), "restore" (the restore was refused), or the field that differs. */
  field: string;
  expected?: string;
  actual?: string;
}

export interface DrillRow {
  vault: string;
  drillId: string;
  /** The run drilled (absent when the vault had no committed run to drill). */
  runId?: string;
  /** A point-in-time drill: the vault as of this time (the run, and event backups taken since it started). */
  at?: string;
  /** "copy": the run was read from the isolated copy (the drill proves the copy restores). */
  from?: "copy";
  scratchVault: string;
  trigger: Trigger;
  status: DrillStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  /** Objects of the run compared in the scratch vault. */
  compared: number;
  /** Of those, how many differ (or are missing); `sample` names the first 20. */
  mismatches: number;
  sample: DrillMismatch[];
  /** Objects compared against the vault as it is now (unchanged since the run), the others against the manifest. */
  againstSource?: number;
  /** Objects of the vault with 400 or more versions (Key Vault backs up at most 500). */
  nearVersionLimit?: string[];
  firstFailureCode?: string;
  /**
   * What this drill set out to restore into the scratch vault (how many, and the SHA-256 of
   * scratchDigest), written before its first restore and removed once the scratch vault is empty
   * again: the next drill trusts a drill record only as far as its row says that drill put it there.
   */
  inScratch?: { count: number; sha256: string };
}

/** A drill leaves this record in the scratch vault's folder before it restores anything: its leftovers are known. */
export interface DrillState {
  drillId: string;
  vault: string;
  runId: string;
  /** kind/name of everything the drill restores (a certificate's managed key and secret come with it). */
  objects: string[];
  phase: "restoring" | "cleaning" | "clean";
  /** A point-in-time drill's time: its objects are the run's and the event backups' by then. */
  at?: string;
}

/**
 * The drill's record in the container, read as the manifests are: against a schema. Anything else
 * (edited, truncated, another shape) is no record at all, and the scratch vault's contents are then
 * foreign until proven otherwise.
 */
export const DrillStateSchema = z
  .object({
    drillId: z.string().regex(RunIdPattern),
    vault: z.string().regex(VaultNamePattern),
    runId: z.string().regex(RunIdPattern),
    objects: z.array(z.string().regex(ObjectRefPattern).max(140)).max(1_000_000),
    phase: z.enum(["restoring", "cleaning", "clean"]),
    at: z
      .string()
      .refine((s) => parseInstant(s) !== undefined)
      .optional(),
  })
  .strict();

/** Where the report starts to warn: Key Vault backs up an object of at most 500 versions. */
export const VersionWarning = 400;

/** What KeyVaultRestoreDrillCompleted carries (the telemetry port's drillEnded). */
export interface DrillSummary {
  vault: string;
  drillId: string;
  runId?: string;
  status: string;
  compared: number;
  mismatches: number;
  durationMs: number;
  firstFailureCode?: string;
}
