import { randomUUID } from "node:crypto";
import { odata, type TableClient } from "@azure/data-tables";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { DrillRow } from "../domain/drillRecord.js";
import type { InventoryQuery, InventoryRow } from "../domain/inventory.js";
import type { SignalLike } from "../domain/signal.js";
import { drillEntity, drillFromEntity, fromEntity, toEntity } from "./inventoryEntity.js";
import { createIfMissing, signalOption, storageCall } from "./storageCall.js";

/** The inventory table: one entity per run, written when it starts and again when it ends. */
export class InventoryTable {
  private created = false;

  constructor(private readonly table: TableClient) {}

  private get label(): StorageTarget {
    return { kind: "table", name: this.table.tableName };
  }

  private async ensure(): Promise<void> {
    if (this.created) return;
    await createIfMissing(() => this.table.createTable(), this.label);
    this.created = true;
  }

  /** Writes, reads back and deletes a probe row, every time (a check that is cached proves nothing about now). */
  async probe(signal?: SignalLike): Promise<void> {
    this.created = false;
    await this.ensure();
    const entity = { partitionKey: "_probe", rowKey: randomUUID() };
    await storageCall(() => this.table.createEntity(entity, signalOption(signal)), this.label);
    // Read back, as list, show and report do (a query, not a point read: their path).
    await storageCall(async () => {
      const filter = odata`PartitionKey eq ${entity.partitionKey} and RowKey eq ${entity.rowKey}`;
      for await (const _ of this.table.listEntities({ queryOptions: { filter }, ...signalOption(signal) }))
        break;
    }, this.label);
    await storageCall(
      () => this.table.deleteEntity(entity.partitionKey, entity.rowKey, signalOption(signal)),
      this.label,
    );
  }

  async put(row: InventoryRow, signal?: SignalLike): Promise<void> {
    await this.ensure();
    await storageCall(
      () => this.table.upsertEntity(toEntity(row), "Replace", signalOption(signal)),
      this.label,
    );
  }

  async list(q: InventoryQuery, signal?: SignalLike): Promise<InventoryRow[]> {
    await this.ensure();
    const filters = [odata`type eq 'run'`];
    if (q.vault) filters.push(odata`PartitionKey eq ${q.vault}`);
    if (q.status) filters.push(odata`status eq ${q.status}`);
    if (q.since) filters.push(odata`startedAt ge ${q.since}`);
    if (q.until) filters.push(odata`startedAt le ${q.until}`);
    const top = q.top ?? 50;
    const rows: InventoryRow[] = [];
    await storageCall(async () => {
      for await (const e of this.table.listEntities({
        queryOptions: { filter: filters.join(" and ") },
        ...signalOption(signal),
      })) {
        rows.push(fromEntity(e));
        // Within one vault (one partition) rows come newest first: no need to read further.
        if (q.vault && rows.length >= top) break;
      }
    }, this.label);
    return rows.sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0)).slice(0, top);
  }

  async get(runId: string, vault?: string, signal?: SignalLike): Promise<InventoryRow | undefined> {
    await this.ensure();
    const filter = vault
      ? odata`PartitionKey eq ${vault} and runId eq ${runId} and type eq 'run'`
      : odata`runId eq ${runId} and type eq 'run'`;
    let found: InventoryRow | undefined;
    await storageCall(async () => {
      for await (const e of this.table.listEntities({ queryOptions: { filter }, ...signalOption(signal) })) {
        found = fromEntity(e);
        break;
      }
    }, this.label);
    return found;
  }

  /** A restore drill's row (type "drill"), in the vault's partition beside its runs. */
  async putDrill(row: DrillRow, signal?: SignalLike): Promise<void> {
    await this.ensure();
    await storageCall(
      () => this.table.upsertEntity(drillEntity(row), "Replace", signalOption(signal)),
      this.label,
    );
  }

  async listDrills(
    q: { vault?: string | undefined; top?: number | undefined },
    signal?: SignalLike,
  ): Promise<DrillRow[]> {
    await this.ensure();
    const filters = [odata`type eq 'drill'`];
    if (q.vault) filters.push(odata`PartitionKey eq ${q.vault}`);
    const top = q.top ?? 50;
    const rows: DrillRow[] = [];
    await storageCall(async () => {
      for await (const e of this.table.listEntities({
        queryOptions: { filter: filters.join(" and ") },
        ...signalOption(signal),
      })) {
        rows.push(drillFromEntity(e));
        if (q.vault && rows.length >= top) break;
      }
    }, this.label);
    return rows.sort((a, b) => (a.drillId < b.drillId ? 1 : a.drillId > b.drillId ? -1 : 0)).slice(0, top);
  }
}
