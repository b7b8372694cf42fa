import { findVault } from "../../domain/config.js";
import { KvBackupError } from "../../domain/errors.js";
import type { InventoryQuery, InventoryRow } from "../../domain/inventory.js";
import type { EngineDeps } from "../deps.js";

/**
 * Inventory rows, newest first (GET /api/backups, kvbackup list). A vault off the allow-list is
 * refused like everywhere else, not answered with an empty list that reads as "never backed up".
 */
export async function listRuns(deps: EngineDeps, query: InventoryQuery): Promise<InventoryRow[]> {
  if (query.vault !== undefined && !findVault(deps.config, query.vault))
    throw new KvBackupError("VaultNotAllowed", `vault '${query.vault.slice(0, 64)}' is not in BACKUP_VAULTS`);
  return deps.inventory.list({ ...query, top: query.top ?? 50 });
}
