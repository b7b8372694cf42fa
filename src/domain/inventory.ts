import type { Manifest } from "./manifest.js";
import type { Kind, Mode, RowStatus, Tier, Trigger } from "./vocabulary.js";

export const Outcomes = ["backedUp", "skipped", "failed"] as const;
export type Outcome = (typeof Outcomes)[number];
export type Counts = Record<Kind, Record<Outcome, number>>;

/** One run, as the inventory keeps it. */
export interface InventoryRow {
  vault: string;
  runId: string;
  tier: Tier;
  trigger: Trigger;
  mode: Mode;
  status: RowStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  counts: Counts;
  bytes: number;
  manifest: string;
  /** SHA-256 of manifest.json as written: a manifest edited later no longer matches. */
  manifestSha256?: string;
  firstFailureCode?: string;
  /** The run's isolated copy (BACKUP_COPY_BLOB_URI): absent until a copy was tried. */
  copy?: RunCopy;
}

/** How a run's blobs reached the isolated copy: copied by Storage from the primary, or read and written by the app. */
export type CopyMethod = "server-side" | "streamed";

/** A run's isolated copy, as its inventory row keeps it. */
export interface RunCopy {
  /** copied = every blob and the manifest are in the copy, read back and matched to the manifest. */
  status: "copied" | "failed";
  /** When the attempt ended. */
  at: string;
  /** Blobs of the run in the copy (the manifest included), and their bytes. */
  blobs: number;
  bytes: number;
  method?: CopyMethod;
  /** A failed copy's diagnosis code and message. */
  code?: string;
  message?: string;
}

export interface InventoryQuery {
  vault?: string | undefined;
  status?: RowStatus | undefined;
  since?: string | undefined;
  /** Runs started at or before this time (ISO 8601): a point-in-time restore's candidates. */
  until?: string | undefined;
  top?: number | undefined;
}

export const emptyCounts = (): Counts => ({
  secrets: { backedUp: 0, skipped: 0, failed: 0 },
  keys: { backedUp: 0, skipped: 0, failed: 0 },
  certificates: { backedUp: 0, skipped: 0, failed: 0 },
});

export const totalOf = (counts: Counts, outcome: Outcome): number =>
  Object.values(counts).reduce((n, c) => n + c[outcome], 0);

/** A committed run's counts, from its manifest. */
export function countsOf(manifest: Pick<Manifest, "items" | "skipped" | "failed">): Counts {
  const counts = emptyCounts();
  for (const i of manifest.items) counts[i.kind].backedUp++;
  for (const i of manifest.skipped) counts[i.kind].skipped++;
  for (const i of manifest.failed) counts[i.kind].failed++;
  return counts;
}
