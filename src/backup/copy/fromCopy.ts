import { KvBackupError } from "../../domain/errors.js";
import { emptyCounts, type InventoryQuery, type InventoryRow } from "../../domain/inventory.js";
import { manifestBlob, runPrefix } from "../../domain/manifest.js";
import { isRunId, normalVaultName } from "../../domain/rules.js";
import { runIdTime } from "../../domain/runId.js";
import type { SignalLike } from "../../domain/signal.js";
import { Tiers } from "../../domain/vocabulary.js";
import type { EngineDeps } from "../deps.js";
import { createdAfter } from "../eventLayout.js";
import { isStorageFailure } from "../failures.js";
import type { BudgetSlots, CopyPort, InventoryStore } from "../ports.js";

/** How many runs per tier a look for a vault's runs in the copy walks back at most (newest first). */
export const CopyWalkRuns = 50;
/** A point in time in the copy: how many runs held then are checked (findRun takes the first sound one). */
const CopyHeldChecked = 10;

/**
 * The runs of the isolated copy, found by the blob layout ({tier}/{vault}/{yyyy}/{mm}/{dd}/{runId}/):
 * the copy has no inventory of its own (the table lives in the backup account, which may be gone).
 * A run found here is unsealed ("running") until its manifest is read — findRun reads it and
 * decides — and its row carries nothing the layout does not say (no counts, no times but its id's).
 */
export class CopyCatalog implements InventoryStore {
  constructor(private readonly copy: CopyPort) {}

  async probe(): Promise<void> {}

  async put(): Promise<void> {
    throw new KvBackupError("BadRequest", "the isolated copy is read only here: nothing is recorded in it");
  }

  async get(runId: string, vault?: string, signal?: SignalLike): Promise<InventoryRow | undefined> {
    if (!vault || !isRunId(runId)) return undefined;
    for (const tier of Tiers) {
      const path = manifestBlob(runPrefix(tier, normalVaultName(vault), runId));
      if ((await this.copy.blobs.list(path, signal)).has(path))
        return row(normalVaultName(vault), tier, runId);
    }
    return undefined;
  }

  async list(query: InventoryQuery, signal?: SignalLike): Promise<InventoryRow[]> {
    if (!query.vault) return [];
    const vault = normalVaultName(query.vault);
    const until = query.until ? Date.parse(query.until) : Number.POSITIVE_INFINITY;
    const since = query.since ? Date.parse(query.since) : Number.NEGATIVE_INFINITY;
    const found: InventoryRow[] = [];
    for (const tier of Tiers) {
      let taken = 0;
      const walk = async (prefix: string, depth: number): Promise<void> => {
        const names = (await this.copy.folders(prefix, signal)).sort().reverse();
        for (const folder of names) {
          if (taken >= CopyWalkRuns) return;
          const part = folder.slice(prefix.length, -1);
          if (depth < 3) {
            await walk(folder, depth + 1);
            continue;
          }
          const at = runIdTime(part)?.getTime();
          if (!isRunId(part) || at === undefined || at > until || at < since) continue;
          found.push(row(vault, tier, part));
          taken++;
        }
      };
      await walk(`${tier}/${vault}/`, 0);
    }
    found.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
    const asked = found.slice(0, query.top ?? found.length);
    return Number.isFinite(until) ? this.heldBy(asked, until, signal) : asked;
  }

  /**
   * Of runs named as started by `until`, the ones the copy held then: Storage created their
   * manifest by then (anyone who may add can add a run under an older name; Storage's creation time
   * they cannot set). The first CopyHeldChecked that pass are enough for findRun.
   */
  private async heldBy(rows: InventoryRow[], until: number, signal?: SignalLike): Promise<InventoryRow[]> {
    const held: InventoryRow[] = [];
    for (const row of rows) {
      if (held.length >= CopyHeldChecked) break;
      const manifest = (await this.copy.blobs.list(row.manifest, signal)).get(row.manifest);
      if (manifest && !createdAfter(manifest.createdOn, until)) held.push(row);
    }
    return held;
  }
}

function row(vault: string, tier: InventoryRow["tier"], runId: string): InventoryRow {
  return {
    vault,
    runId,
    tier,
    // Not known without the manifest; nothing here is shown as the run's.
    trigger: "timer",
    mode: "full",
    status: "running",
    startedAt: (runIdTime(runId) as Date).toISOString(),
    counts: emptyCounts(),
    bytes: 0,
    manifest: manifestBlob(runPrefix(tier, vault, runId)),
  };
}

/**
 * The engine reading from the isolated copy instead of the backup account (`--from copy`): the
 * copy's blobs and manifests, its runs found by the layout. Restores, verifies and drills run on it
 * unchanged; they write nothing there.
 */
export function fromCopy(deps: EngineDeps): EngineDeps {
  if (!deps.copy)
    throw new KvBackupError(
      "BadSettings",
      "Bad settings:\n  - BACKUP_COPY_BLOB_URI: not set; --from copy reads the isolated copy named there (docs/isolated-copy.md)",
    );
  return {
    ...deps,
    blobs: deps.copy.blobs,
    documents: deps.copy.documents,
    inventory: new CopyCatalog(deps.copy),
    budgetSlots: slotsOrAlone(deps.budgetSlots),
  };
}

/**
 * The subscription budget's slots live in the backup account: a restore from the copy takes one
 * there while it can, and — when that account cannot be reached (gone, or its path refused) — goes
 * on alone, at its vault's own pace, since the copy exists for exactly that day.
 */
function slotsOrAlone(shared: BudgetSlots): BudgetSlots {
  return {
    async tryAcquire(scope, slots, onLost, signal) {
      try {
        return await shared.tryAcquire(scope, slots, onLost, signal);
      } catch (e) {
        if (!isStorageFailure(e)) throw e;
        return { slot: 0, release: async () => undefined };
      }
    },
  };
}
