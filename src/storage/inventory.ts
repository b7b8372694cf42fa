import { odata, type TableClient } from "@azure/data-tables";
import type { RunStatus, Tier, Trigger } from "../backup/manifest.js";
import type { Kind } from "../config.js";
import { isStorageStatus, storageCall } from "./storageError.js";

export type Outcome = "backedUp" | "skipped" | "failed";
export type Counts = Record<Kind, Record<Outcome, number>>;

/** One run, as the inventory table keeps it. */
export interface InventoryRow {
  vault: string;
  runId: string;
  tier: Tier;
  trigger: Trigger;
  status: RunStatus | "running";
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  counts: Counts;
  bytes: number;
  manifest: string;
  firstFailureCode?: string;
}

export const emptyCounts = (): Counts => ({
  secrets: { backedUp: 0, skipped: 0, failed: 0 },
  keys: { backedUp: 0, skipped: 0, failed: 0 },
  certificates: { backedUp: 0, skipped: 0, failed: 0 },
});

/** Newest first within a vault: RowKey counts down from the far future. */
const rowKey = (startedAt: string, runId: string): string =>
  `${String(9_999_999_999_999 - Date.parse(startedAt)).padStart(13, "0")}_${runId}`;

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

function toEntity(r: InventoryRow): Entity {
  const e: Entity = {
    partitionKey: r.vault,
    rowKey: rowKey(r.startedAt, r.runId),
    runId: r.runId,
    tier: r.tier,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.startedAt,
    bytes: r.bytes,
    manifest: r.manifest,
  };
  for (const [kind, outcomes] of Object.entries(r.counts)) {
    for (const [outcome, n] of Object.entries(outcomes)) e[`${kind}_${outcome}`] = n;
  }
  if (r.finishedAt) e.finishedAt = r.finishedAt;
  if (r.durationMs !== undefined) e.durationMs = r.durationMs;
  if (r.firstFailureCode) e.firstFailureCode = r.firstFailureCode;
  return e;
}

function fromEntity(e: Record<string, unknown>): InventoryRow {
  const counts = emptyCounts();
  for (const kind of Object.keys(counts) as Kind[]) {
    for (const outcome of Object.keys(counts[kind]) as Outcome[])
      counts[kind][outcome] = Number(e[`${kind}_${outcome}`] ?? 0);
  }
  return {
    vault: String(e.partitionKey),
    runId: String(e.runId),
    tier: e.tier as Tier,
    trigger: e.trigger as Trigger,
    status: e.status as InventoryRow["status"],
    startedAt: String(e.startedAt),
    ...(typeof e.finishedAt === "string" ? { finishedAt: e.finishedAt } : {}),
    ...(e.durationMs !== undefined ? { durationMs: Number(e.durationMs) } : {}),
    counts,
    bytes: Number(e.bytes ?? 0),
    manifest: String(e.manifest ?? ""),
    ...(typeof e.firstFailureCode === "string" ? { firstFailureCode: e.firstFailureCode } : {}),
  };
}

export interface InventoryQuery {
  vault?: string;
  status?: InventoryRow["status"];
  since?: string;
  top?: number;
}

/** The inventory table: one entity per run, written when it starts and again when it ends. */
export class Inventory {
  private ready = false;

  constructor(private readonly table: TableClient) {}

  async ensure(): Promise<void> {
    if (this.ready) return;
    try {
      await storageCall(() => this.table.createTable());
    } catch (e) {
      if (!isStorageStatus(e, 409)) throw e;
    }
    this.ready = true;
  }

  async put(row: InventoryRow): Promise<void> {
    await this.ensure();
    await storageCall(() => this.table.upsertEntity(toEntity(row), "Replace"));
  }

  async list(q: InventoryQuery = {}): Promise<InventoryRow[]> {
    await this.ensure();
    const filters: string[] = [];
    if (q.vault) filters.push(odata`PartitionKey eq ${q.vault}`);
    if (q.status) filters.push(odata`status eq ${q.status}`);
    if (q.since) filters.push(odata`startedAt ge ${q.since}`);
    const top = q.top ?? 50;
    const rows: InventoryRow[] = [];
    await storageCall(async () => {
      const pages = this.table.listEntities({
        queryOptions: filters.length ? { filter: filters.join(" and ") } : {},
      });
      for await (const e of pages) rows.push(fromEntity(e));
    });
    return rows
      .sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0))
      .slice(0, top);
  }

  async get(runId: string, vault?: string): Promise<InventoryRow | undefined> {
    await this.ensure();
    const filter = vault ? odata`PartitionKey eq ${vault} and runId eq ${runId}` : odata`runId eq ${runId}`;
    let found: InventoryRow | undefined;
    await storageCall(async () => {
      for await (const e of this.table.listEntities({ queryOptions: { filter } })) {
        found = fromEntity(e);
        break;
      }
    });
    return found;
  }
}
