import type { App } from "../app.js";
import { findVault } from "../config.js";
import { KvBackupError } from "../errors.js";
import type { InventoryRow } from "../storage/inventory.js";
import type { Manifest } from "./manifest.js";
import { RunIdPattern } from "./runId.js";

export interface FoundRun {
  row: InventoryRow;
  manifest: Manifest;
}

/**
 * A committed run (its manifest exists): by runId, or "latest" = the newest succeeded or partial
 * run of a vault. Unknown runs are NotFound; a vault off the allow-list is VaultNotAllowed.
 */
export async function findRun(app: App, ref: string, vault?: string): Promise<FoundRun> {
  if (vault && !findVault(app.config, vault))
    throw new KvBackupError("VaultNotAllowed", `vault '${vault}' is not in BACKUP_VAULTS`);
  let candidates: InventoryRow[];
  if (ref === "latest") {
    if (!vault) throw new KvBackupError("BadRequest", "'latest' needs the vault whose latest run to use");
    candidates = (await app.inventory.list({ vault, top: 500 })).filter(
      (r) => r.status === "succeeded" || r.status === "partial",
    );
  } else {
    if (!RunIdPattern.test(ref))
      throw new KvBackupError(
        "BadRequest",
        `'${ref.slice(0, 64)}' is not a runId (yyyyMMddTHHmmssZ-xxxxxx) or 'latest'`,
      );
    const row = await app.inventory.get(ref, vault);
    candidates = row ? [row] : [];
  }
  for (const row of candidates) {
    const manifest = await app.store.readManifest(row.manifest);
    if (manifest) return { row, manifest };
  }
  throw new KvBackupError(
    "NotFound",
    ref === "latest"
      ? `no committed run of vault '${vault}'`
      : `no committed run ${ref}${vault ? ` of vault '${vault}'` : ""}`,
  );
}
