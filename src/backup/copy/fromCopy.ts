import { KvBackupError } from "../../domain/errors.js";
import { emptyCounts, type InventoryQuery, type InventoryRow } from "../../domain/inventory.js";
import { manifestBlob, runPrefix } from "../../domain/manifest.js";
import type { StoredBlob } from "../../domain/objects.js";
import { isRunId, normalVaultName } from "../../domain/rules.js";
import { runIdTime } from "../../domain/runId.js";
import type { SignalLike } from "../../domain/signal.js";
import { Tiers } from "../../domain/vocabulary.js";
import type { EngineDeps } from "../deps.js";
import { CreatedBySlackMs, createdAfter, EventsFolder } from "../eventLayout.js";
import { isStorageFailure } from "../failures.js";
import type { BlobStore, BudgetSlots, CopyPort, InventoryStore } from "../ports.js";

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
  constructor(
    private readonly copy: CopyPort,
    /** The backup account's inventory: while it answers, it vouches for each run (and its manifest's SHA-256). */
    private readonly primary?: InventoryStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The backup account's committed row of a run: the copy's manifest must then be at its path and be
   * the SHA-256 it recorded. "none" when the account answered without one (it never committed that
   * run: whatever the copy holds under that id was added by someone else, not taken); undefined when
   * the account cannot be reached at all (gone: then the copy's own names are all there is). Any
   * other answer (a 403 of the table, a 503 after retries) is thrown: not a reason to stop checking.
   */
  private async committed(
    runId: string,
    vault: string,
    signal?: SignalLike,
  ): Promise<InventoryRow | "none" | undefined> {
    if (!this.primary || this.unvouched) return undefined;
    try {
      const row = await this.primary.get(runId, vault, signal);
      return row && (row.status === "succeeded" || row.status === "partial") && row.manifestSha256
        ? row
        : "none";
    } catch (e) {
      if (!isStorageFailure(e) || !accountGone(e)) throw e;
      this.unvouched = true;
      return undefined;
    }
  }

  /** The blob at `path` in the copy, as its listing says it (undefined when it is not there). */
  private async inCopy(path: string, signal?: SignalLike): Promise<StoredBlob | undefined> {
    return (await this.copy.blobs.list(path, signal)).get(path);
  }

  /** A run found in the copy, as the backup account vouches for it ("unknown": not taken). */
  private async vouch(
    found: InventoryRow,
    signal?: SignalLike,
  ): Promise<InventoryRow | "unknown" | undefined> {
    const row = await this.committed(found.runId, found.vault, signal);
    if (row === undefined) return undefined;
    return row === "none" || row.manifest !== found.manifest ? "unknown" : row;
  }

  /** Set once the backup account did not answer: runs are then taken on the copy's word alone. */
  unvouched = false;

  async probe(): Promise<void> {}

  async put(): Promise<void> {
    throw new KvBackupError("BadRequest", "the isolated copy is read only here: nothing is recorded in it");
  }

  /**
   * A run named by id: the backup account's committed row while it answers (its tier and path, its
   * manifest's SHA-256: another tier's folder under that id is not looked at), and NotFound when it
   * has none. With the account gone, the copy's folder of that id — refused when more than one tier
   * holds one (someone added the other).
   */
  async get(runId: string, vault?: string, signal?: SignalLike): Promise<InventoryRow | undefined> {
    if (!vault || !isRunId(runId)) return undefined;
    const name = normalVaultName(vault);
    const row = await this.committed(runId, name, signal);
    if (row === "none")
      throw new KvBackupError(
        "NotFound",
        `no committed run ${runId} of vault '${name}' in the backup account: a folder of that id in the isolated copy was not made by it, and is not taken`,
      );
    if (row) {
      if (await this.inCopy(row.manifest, signal)) return row;
      throw new KvBackupError(
        "NotFound",
        `run ${runId} of '${name}' is committed in the backup account but not in the isolated copy${row.copy ? ` (its copy: ${row.copy.status}${row.copy.code ? `, ${row.copy.code}` : ""})` : " (not copied yet)"}: kvbackup copy --vault ${name} copies what the copy owes`,
      );
    }
    const found: InventoryRow[] = [];
    for (const tier of Tiers) {
      const path = manifestBlob(runPrefix(tier, name, runId));
      if (await this.inCopy(path, signal)) found.push(runRow(name, tier, runId));
    }
    if (found.length > 1)
      throw new KvBackupError(
        "BadRequest",
        `run ${runId} of '${name}' is in ${found.length} tiers of the isolated copy (${found.map((f) => f.tier).join(", ")}): a run has one tier, so someone added the others; with the backup account gone, restore --at a time before that instead`,
      );
    return found[0];
  }

  async list(query: InventoryQuery, signal?: SignalLike): Promise<InventoryRow[]> {
    if (!query.vault) return [];
    const vault = normalVaultName(query.vault);
    const until = query.until ? Date.parse(query.until) : Number.POSITIVE_INFINITY;
    // No run starts in the future: a runId named after now (and the clocks' slack) was made up.
    const latest = Math.min(until, this.now().getTime() + CreatedBySlackMs);
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
          if (!isRunId(part) || at === undefined || at > latest || at < since) continue;
          found.push(runRow(vault, tier, part));
          taken++;
        }
      };
      await walk(`${tier}/${vault}/`, 0);
    }
    found.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
    return this.taken(found.slice(0, query.top ?? found.length), until, signal);
  }

  /**
   * Of the runs found, newest first, the ones to take: with `until`, only those the copy held then
   * (Storage created their manifest by then: a run can be added under an older name, but Storage's
   * creation time cannot be set); and each vouched for by the backup account while it answers. The
   * first CopyHeldChecked taken are enough for findRun.
   */
  private async taken(rows: InventoryRow[], until: number, signal?: SignalLike): Promise<InventoryRow[]> {
    const out: InventoryRow[] = [];
    for (const found of rows) {
      if (out.length >= CopyHeldChecked) break;
      if (Number.isFinite(until)) {
        const manifest = await this.inCopy(found.manifest, signal);
        if (!manifest || createdAfter(manifest.createdOn, until)) continue;
      }
      const word = await this.vouch(found, signal);
      if (word !== "unknown") out.push(word ?? found);
    }
    return out;
  }
}

/**
 * The backup account cannot be reached at all — its name does not resolve, nothing listens, the
 * account was deleted (ResourceNotFound / AccountNotFound? a 404 of the whole account) — as against
 * an account that answered and refused or failed.
 */
function accountGone(e: KvBackupError): boolean {
  const f = e.failure;
  return Boolean(f?.networkCode) || f?.status === 404 || f?.code === "AccountIsDisabled";
}

function runRow(vault: string, tier: InventoryRow["tier"], runId: string): InventoryRow {
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
 * The isolated copy, for `what` asked of it; an app without one is the caller's mistake (CLI exit 2,
 * HTTP 400), not a failure of the service.
 */
export function requireCopy(deps: EngineDeps, what: string): CopyPort {
  if (!deps.copy)
    throw new KvBackupError(
      "BadRequest",
      `${what}: this app has no isolated copy (BACKUP_COPY_BLOB_URI is not set; docs/isolated-copy.md)`,
    );
  return deps.copy;
}

/**
 * The engine reading from the isolated copy instead of the backup account (`--from copy`): the
 * copy's blobs and manifests, its runs found by the layout. Restores, verifies and drills run on it
 * unchanged; they write nothing there.
 */
export function fromCopy(deps: EngineDeps): EngineDeps {
  if (deps.inventory instanceof CopyCatalog) return deps;
  const copy = requireCopy(deps, "from copy");
  const catalog = new CopyCatalog(copy, deps.inventory, deps.now);
  return {
    ...deps,
    blobs: vouchedEvents(copy.blobs, deps.blobs, catalog),
    documents: copy.documents,
    inventory: catalog,
    budgetSlots: slotsOrAlone(deps.budgetSlots, () => catalog.unvouched),
  };
}

/**
 * The copy's blobs, with its event backups vouched for as its runs are: while the backup account
 * answers, an event backup is listed only if the account lists the same blob with the same SHA-256
 * (anyone who may add to the copy can add one under a newer name). When the account cannot be
 * reached, or lists none of the vault's (deleted there), the copy's own listing is all there is,
 * and the catalog says the read was unvouched.
 */
function vouchedEvents(copy: BlobStore, primary: BlobStore, catalog: CopyCatalog): BlobStore {
  return {
    container: copy.container,
    probe: (signal) => copy.probe(signal),
    putOnce: (...args) => copy.putOnce(...args),
    read: (path, signal) => copy.read(path, signal),
    copy: (...args) => copy.copy(...args),
    delete: (path, signal) => copy.delete(path, signal),
    async list(prefix, signal) {
      const listed = await copy.list(prefix, signal);
      if (!prefix.startsWith(EventsFolder) || catalog.unvouched) return listed;
      let known: Map<string, StoredBlob>;
      try {
        known = await primary.list(prefix, signal);
      } catch (e) {
        if (!isStorageFailure(e) || !accountGone(e)) throw e;
        catalog.unvouched = true;
        return listed;
      }
      // None listed there (deleted, or never any): the copy's word, said as such — not a reason to drop them all.
      if (known.size === 0) {
        catalog.unvouched = true;
        return listed;
      }
      for (const [name, b] of listed)
        if (!b.sha256 || known.get(name)?.sha256 !== b.sha256) listed.delete(name);
      return listed;
    },
  };
}

/**
 * The subscription budget's slots live in the backup account: a restore from the copy takes one
 * there while it can, and — when that account cannot be reached (gone, or its path refused) — goes
 * on alone, at its vault's own pace, since the copy exists for exactly that day.
 */
function slotsOrAlone(shared: BudgetSlots, gone: () => boolean): BudgetSlots {
  const alone = { slot: 0, release: async () => undefined };
  return {
    async tryAcquire(scope, slots, onLost, signal) {
      // The backup account did not answer the catalog just now: no second wait on its retries.
      if (gone()) return alone;
      try {
        return await shared.tryAcquire(scope, slots, onLost, signal);
      } catch (e) {
        if (!isStorageFailure(e)) throw e;
        return alone;
      }
    },
  };
}

/** Runs were read from the copy without the backup account's word (it could not be reached). */
export const unvouched = (deps: EngineDeps): boolean =>
  deps.inventory instanceof CopyCatalog && deps.inventory.unvouched;
