import type { InventoryQuery, InventoryRow } from "../../domain/inventory.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { withFleet } from "../fleet.js";
import { sourceVault } from "./findRun.js";

/**
 * Inventory rows, newest first (GET /api/backups, kvbackup list): of any vault whose backups may be
 * read (sourceVault) — a name with no runs and not in the fleet is refused, not answered with an
 * empty list that reads as "never backed up".
 */
export async function listRuns(
  given: EngineDeps,
  query: InventoryQuery,
  signal?: SignalLike,
): Promise<InventoryRow[]> {
  const deps = await withFleet(given, signal);
  const vault = query.vault === undefined ? undefined : await sourceVault(deps, query.vault, signal);
  return deps.inventory.list({ ...query, vault, top: query.top ?? 50 }, signal);
}
