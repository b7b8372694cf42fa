import type { KvBackupError } from "./errors.js";
import type { CopyMethod } from "./inventory.js";

/** What the copy's container is called in a storage failure: its calls are labelled so, the backup account's are not. */
export const CopyLabel = " (isolated copy)";

/** The isolated copy's facts, shared by the engine's port (backup/ports.ts) and its adapter (storage/copyTarget.ts). */

/** What adding one blob to the isolated copy did: written now, or found there already (nothing written). */
export interface CopyAdded {
  outcome: "added" | "present";
  method: CopyMethod;
  /** Server-side copy was refused because Storage could not read the primary (its firewall): streamed instead. */
  fellBack?: string;
}

/** What doctor learns of the copy: each step as far as it got. */
export interface CopyCheckResult {
  /** The container answered a listing (network path, read right, container there). */
  read: "ok" | KvBackupError;
  /** The app could add its marker blob (or it was there): the add right. */
  add: "ok" | KvBackupError;
  /**
   * Deleting the marker: refused by the role (403) is right; "retained" means the role let it
   * through and only the version's retention stopped it; "deleted" means nothing stopped it.
   */
  remove: "refused" | "retained" | "deleted" | "skipped" | KvBackupError;
  /** Writing over the marker: refused by the role is right; "retained" / "overwritten" as for remove. */
  overwrite: "refused" | "retained" | "overwritten" | "skipped" | KvBackupError;
}

export interface CopySummary {
  runId: string;
  vault: string;
  /** skipped: a Managed HSM's run (not copied), said so the copy-lagging alert counts it as accounted for. */
  status: "copied" | "failed" | "skipped";
  blobs: number;
  bytes: number;
  durationMs: number;
  /** How far the vault's copy is behind after this pass. */
  lagSeconds?: number;
  method?: CopyMethod;
  code?: string;
}
