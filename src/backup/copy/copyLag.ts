import { copyLagging } from "../../diagnosis/copy.js";
import type { InventoryRow } from "../../domain/inventory.js";

const committed = (r: InventoryRow): boolean => r.status === "succeeded" || r.status === "partial";

/**
 * How long the isolated copy has been missing a restore point the backup account has, in seconds:
 * 0 when the vault's newest committed run is copied; else the age of the oldest committed run newer
 * than the newest copied one (how long the copy has been behind). Undefined when the vault has no
 * committed run among `rows` (newest first, as the inventory lists them).
 */
export function copyLagSeconds(rows: readonly InventoryRow[], now: Date): number | undefined {
  const runs = rows.filter(committed);
  if (runs.length === 0) return undefined;
  const newestCopied = runs.findIndex((r) => r.copy?.status === "copied");
  if (newestCopied === 0) return 0;
  const behind = newestCopied === -1 ? runs : runs.slice(0, newestCopied);
  const oldest = behind[behind.length - 1] as InventoryRow;
  const since = Date.parse(oldest.finishedAt ?? oldest.startedAt);
  return Number.isNaN(since) ? undefined : Math.max(0, Math.round((now.getTime() - since) / 1000));
}

/** The newest failed copy's diagnosis code and message among the runs the copy still owes. */
export function lastCopyFailure(rows: readonly InventoryRow[]): string | undefined {
  for (const r of rows.filter(committed)) {
    if (r.copy?.status === "copied") return undefined;
    if (r.copy?.status === "failed") return `${r.copy.code ?? "CopyFailed"}: ${r.copy.message ?? ""}`.trim();
  }
  return undefined;
}

/** The report's copy part for one vault: how far its copy lags, and "at risk" past BACKUP_COPY_MAX_LAG_HOURS. */
export function copyFacts(
  vault: string,
  rows: readonly InventoryRow[],
  now: Date,
  maxLagHours: number,
): { copyLagSeconds?: number; reasons: string[] } {
  const lag = copyLagSeconds(rows, now);
  if (lag === undefined) return { reasons: [] };
  const hours = lag / 3600;
  const last = lastCopyFailure(rows);
  if (hours <= maxLagHours) return { copyLagSeconds: lag, reasons: [] };
  const d = copyLagging(vault, hours, maxLagHours, last?.slice(0, 300));
  return { copyLagSeconds: lag, reasons: [`${d.code}: ${d.cause} ${d.fix}`] };
}
