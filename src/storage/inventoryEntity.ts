import type { DrillRow } from "../domain/drillRecord.js";
import { emptyCounts, type InventoryRow, Outcomes, type RunCopy } from "../domain/inventory.js";
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
  if (r.copy) {
    e.copyStatus = r.copy.status;
    e.copyAt = r.copy.at;
    e.copyBlobs = r.copy.blobs;
    e.copyBytes = r.copy.bytes;
    if (r.copy.method) e.copyMethod = r.copy.method;
    if (r.copy.code) e.copyCode = r.copy.code;
    if (r.copy.message) e.copyMessage = r.copy.message.slice(0, 1000);
  }
  return e;
}

function copyOf(e: Record<string, unknown>): RunCopy | undefined {
  const status = e.copyStatus;
  if (status !== "copied" && status !== "failed") return undefined;
  const text = (k: string): string | undefined => (typeof e[k] === "string" ? (e[k] as string) : undefined);
  const method = text("copyMethod");
  return {
    status,
    at: text("copyAt") ?? "",
    blobs: Number(e.copyBlobs ?? 0),
    bytes: Number(e.copyBytes ?? 0),
    ...(method === "server-side" || method === "streamed" ? { method } : {}),
    ...(text("copyCode") ? { code: text("copyCode") as string } : {}),
    ...(text("copyMessage") ? { message: text("copyMessage") as string } : {}),
  };
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
    ...(copyOf(e) ? { copy: copyOf(e) as RunCopy } : {}),
  };
}

const DrillOptional = [
  "runId",
  "at",
  "from",
  "finishedAt",
  "durationMs",
  "againstSource",
  "firstFailureCode",
] as const;

/** A drill's row: its lists (the first mismatches, objects near the version limit) as JSON text. */
export function drillEntity(r: DrillRow): Entity {
  const e: Entity = {
    partitionKey: r.vault,
    rowKey: rowKey(r.drillId),
    type: "drill",
    drillId: r.drillId,
    scratchVault: r.scratchVault,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.startedAt,
    compared: r.compared,
    mismatches: r.mismatches,
    sample: JSON.stringify(r.sample.slice(0, 20)),
    ...(r.nearVersionLimit ? { nearVersionLimit: JSON.stringify(r.nearVersionLimit.slice(0, 50)) } : {}),
  };
  for (const k of DrillOptional) if (r[k] !== undefined) e[k] = r[k];
  if (r.inScratch) {
    e.inScratchCount = r.inScratch.count;
    e.inScratchSha256 = r.inScratch.sha256;
  }
  return e;
}

const jsonList = <T>(v: unknown): T[] => {
  try {
    const parsed = typeof v === "string" ? (JSON.parse(v) as unknown) : [];
    return Array.isArray(parsed) ? (parsed as T[]) : [];
  } catch {
    return [];
  }
};

export function drillFromEntity(e: Record<string, unknown>): DrillRow {
  const text = (k: string): string | undefined => (typeof e[k] === "string" ? (e[k] as string) : undefined);
  const num = (k: string): number | undefined => (e[k] !== undefined ? Number(e[k]) : undefined);
  return {
    vault: String(e.partitionKey),
    drillId: String(e.drillId),
    scratchVault: String(e.scratchVault ?? ""),
    trigger: e.trigger as Trigger,
    status: e.status as DrillRow["status"],
    startedAt: String(e.startedAt),
    compared: Number(e.compared ?? 0),
    mismatches: Number(e.mismatches ?? 0),
    sample: jsonList(e.sample),
    ...(text("runId") ? { runId: text("runId") as string } : {}),
    ...(text("at") ? { at: text("at") as string } : {}),
    ...(text("from") === "copy" ? { from: "copy" as const } : {}),
    ...(text("finishedAt") ? { finishedAt: text("finishedAt") as string } : {}),
    ...(num("durationMs") !== undefined ? { durationMs: num("durationMs") as number } : {}),
    ...(num("againstSource") !== undefined ? { againstSource: num("againstSource") as number } : {}),
    ...(e.nearVersionLimit !== undefined ? { nearVersionLimit: jsonList<string>(e.nearVersionLimit) } : {}),
    ...(text("firstFailureCode") ? { firstFailureCode: text("firstFailureCode") as string } : {}),
    ...(text("inScratchSha256")
      ? { inScratch: { count: num("inScratchCount") ?? 0, sha256: text("inScratchSha256") as string } }
      : {}),
  };
}
