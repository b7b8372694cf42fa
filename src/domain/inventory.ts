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
