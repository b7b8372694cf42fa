import { findHsm, findVault } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { KvBackupError } from "../../domain/errors.js";
import type { InventoryRow } from "../../domain/inventory.js";
import { type Manifest, manifestBlob, runPrefix } from "../../domain/manifest.js";
import { isRunId, isVaultName, normalVaultName, RuleText } from "../../domain/rules.js";
import type { SignalLike } from "../../domain/signal.js";
import { Tiers } from "../../domain/vocabulary.js";
import type { EngineDeps } from "../deps.js";
import { type Fleet, notInFleet, withFleet } from "../fleet.js";
import { readManifest } from "./readManifest.js";

export interface FoundRun {
  /** Its inventory row, when the inventory has one. */
  row?: InventoryRow;
  manifest: Manifest;
  manifestPath: string;
  manifestSha256: string;
}

/** Rows whose run may have committed: a row left "running" is one whose final write may have failed. */
const MayHaveCommitted = new Set<InventoryRow["status"]>(["succeeded", "partial", "running", "abandoned"]);

/**
 * A vault whose backups may be read (list, show, verify, the source of a restore): one of the fleet,
 * a Managed HSM, or any vault with runs in this account — a vault that is gone (deleted, untagged,
 * its subscription lost) is exactly the one whose backups are needed, and reading them sends no
 * token to it. A name with no runs and not in the fleet is refused, so a typo is not "never backed up".
 */
export async function sourceVault(
  deps: EngineDeps & { fleet?: Fleet },
  vault: string,
  signal?: SignalLike,
): Promise<string> {
  const v = findVault(deps.config, vault) ?? findHsm(deps.config, vault);
  if (v) return v.name;
  const name = normalVaultName(vault);
  if (isVaultName(name) && (await deps.inventory.list({ vault: name, top: 1 }, signal)).length > 0)
    return name;
  const refused = notInFleet(deps, vault);
  throw new KvBackupError(refused.code, `${refused.message}; no runs of it are in this account`, {
    retryable: refused.retryable,
    ...(refused.diagnosis ? { diagnosis: refused.diagnosis } : {}),
  });
}

/** Where a run's manifest would be, when the inventory has no row for it: one place per tier. */
const layoutPaths = (vaults: readonly string[], runId: string): { path: string }[] =>
  vaults.flatMap((v) => Tiers.map((t) => ({ path: manifestBlob(runPrefix(t, v, runId)) })));

/**
 * A committed run: by runId, or "latest" = the newest run of a vault whose manifest is sound (with
 * `asOf`: the newest that had finished by then, for a point-in-time restore).
 * The manifest decides, not the row: a run whose final row was never written is still found, and a
 * manifest that is damaged or edited (not its recorded SHA-256) is passed over by 'latest' and
 * refused by runId with a CorruptManifest diagnosis.
 */
export async function findRun(
  given: EngineDeps,
  ref: string,
  vault?: string,
  signal?: SignalLike,
  asOf?: Date,
): Promise<FoundRun> {
  const deps = await withFleet(given, signal);
  const source = vault === undefined ? undefined : await sourceVault(deps, vault, signal);
  let candidates: { path: string; row?: InventoryRow }[];
  if (ref === "latest") {
    if (!source) throw new KvBackupError("BadRequest", "'latest' needs the vault whose latest run to use");
    // With a point in time, only runs started by then: asked of the table, so a time older than
    // the newest 500 rows still finds its run.
    const until = asOf?.toISOString();
    const rows = await deps.inventory.list({ vault: source, top: 500, ...(until ? { until } : {}) }, signal);
    candidates = rows
      .filter((r) => MayHaveCommitted.has(r.status))
      .map((row) => ({ path: row.manifest, row }));
  } else {
    if (!isRunId(ref))
      throw new KvBackupError("BadRequest", `'${ref.slice(0, 64)}' is not ${RuleText.runId} or 'latest'`);
    const row = await deps.inventory.get(ref, source, signal);
    candidates = row
      ? [{ path: row.manifest, row }]
      : layoutPaths(source ? [source] : [...deps.config.vaults, ...deps.config.hsms].map((v) => v.name), ref);
  }
  let corrupt: Diagnosis | undefined;
  for (const c of candidates) {
    const sealed = c.row && c.row.status !== "running" && c.row.status !== "abandoned";
    const found = await readManifest(
      deps.documents,
      c.path,
      sealed ? c.row?.manifestSha256 : undefined,
      signal,
    );
    if (
      found.state === "sound" &&
      ref === "latest" &&
      asOf &&
      Date.parse(found.manifest.finishedAt) > asOf.getTime()
    )
      continue;
    if (found.state === "sound")
      return {
        ...(c.row ? { row: c.row } : {}),
        manifest: found.manifest,
        manifestPath: c.path,
        manifestSha256: found.sha256,
      };
    if (found.state === "corrupt") corrupt ??= found.diagnosis;
  }
  if (corrupt && ref !== "latest")
    throw new KvBackupError("CorruptManifest", corrupt.cause, { diagnosis: corrupt });
  throw new KvBackupError(
    "NotFound",
    ref === "latest"
      ? `no committed run of vault '${source}' with a sound manifest${asOf ? ` that finished by ${asOf.toISOString()}` : ""}${corrupt ? ` (passed over a damaged one: ${corrupt.cause})` : ""}`
      : `no committed run ${ref}${source ? ` of vault '${source}'` : ""}`,
  );
}
