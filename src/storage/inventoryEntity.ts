import { emptyCounts, type InventoryRow, Outcomes } from "../domain/inventory.js";
import { runIdTime } from "../domain/runId.js";
import { type Kind, Kinds, type Mode, type Tier, type Trigger } from "../domain/vocabulary.js";

export type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/**
 * Newest first within a vault: RowKey counts down from the far future, from the runId's own time,
 * so a run that resumes writes the same row again, never a second one.
 */
export const rowKey = (runId: string): string =>
  `${String(9_999_999_999_999 - (runIdTime(runId)?.getTime() ?? 0)).padStart(13, "0")}_${runId}`;

const Optional = ["finishedAt", "durationMs", "manifestSha256", "firstFailureCode"] as const;

export function toEntity(r: InventoryRow): Entity {
  const e: Entity = {
    partitionKey: r.vault,
    rowKey: rowKey(r.runId),
    type: "run",
    runId: r.runId,
    tier: r.tier,
    trigger: r.trigger,
    mode: r.mode,
    status: r.status,
    startedAt: r.startedAt,
    bytes: r.bytes,
    manifest: r.manifest,
  };
  for (const kind of Kinds) for (const outcome of Outcomes) e[`${kind}_${outcome}`] = r.counts[kind][outcome];
  for (const k of Optional) if (r[k] !== undefined) e[k] = r[k];
  return e;
}

export function fromEntity(e: Record<string, unknown>): InventoryRow {
  const counts = emptyCounts();
  for (const kind of Kinds as readonly Kind[])
    for (const outcome of Outcomes) counts[kind][outcome] = Number(e[`${kind}_${outcome}`] ?? 0);
  const text = (k: string): string | undefined => (typeof e[k] === "string" ? (e[k] as string) : undefined);
  return {
    vault: String(e.partitionKey),
    runId: String(e.runId),
    tier: e.tier as Tier,
    trigger: e.trigger as Trigger,
    mode: (text("mode") ?? "full") as Mode,
    status: e.status as InventoryRow["status"],
    startedAt: String(e.startedAt),
    ...(text("finishedAt") ? { finishedAt: text("finishedAt") as string } : {}),
    ...(e.durationMs !== undefined ? { durationMs: Number(e.durationMs) } : {}),
    counts,
    bytes: Number(e.bytes ?? 0),
    manifest: String(e.manifest ?? ""),
    ...(text("manifestSha256") ? { manifestSha256: text("manifestSha256") as string } : {}),
    ...(text("firstFailureCode") ? { firstFailureCode: text("firstFailureCode") as string } : {}),
  };
}
