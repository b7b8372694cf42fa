import { findHsm, findVault } from "../../domain/config.js";
import type { InventoryQuery, InventoryRow } from "../../domain/inventory.js";
import type { EngineDeps } from "../deps.js";
import { notInFleet, withFleet } from "../fleet.js";

/**
 * Inventory rows, newest first (GET /api/backups, kvbackup list). A vault off the allow-list is
 * refused like everywhere else, not answered with an empty list that reads as "never backed up".
 */
export async function listRuns(given: EngineDeps, query: InventoryQuery): Promise<InventoryRow[]> {
  const deps = await withFleet(given);
  if (query.vault !== undefined && !findVault(deps.config, query.vault) && !findHsm(deps.config, query.vault))
    throw notInFleet(deps, query.vault);
  return deps.inventory.list({ ...query, top: query.top ?? 50 });
}
