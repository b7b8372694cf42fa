import type { InventoryQuery, InventoryRow } from "../../domain/inventory.js";
import type { EngineDeps } from "../deps.js";

/** Inventory rows, newest first (GET /api/backups, kvbackup list). */
export function listRuns(deps: EngineDeps, query: InventoryQuery): Promise<InventoryRow[]> {
  return deps.inventory.list({ ...query, top: query.top ?? 50 });
}
