import type { VaultRef } from "../../domain/config.js";
import type { DrillRow, DrillState } from "../../domain/drillRecord.js";
import { isKvBackupError, KvBackupError } from "../../domain/errors.js";
import type { Manifest } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import { findRun } from "../catalog/findRun.js";
import type { EngineDeps } from "../deps.js";
import { isStorageFailure } from "../failures.js";
import type { Fleet } from "../fleet.js";
import { asOf } from "../restore/asOf.js";
import { keepTrying } from "../wait.js";
import { scratchDigest } from "./scratch.js";

/**
 * The scratch vault's lease. Held by another drill: wait for it (up to waitMs, looking every
 * tuning.drillPollMs), then say so — a drill, not "a backup of vault 'drill-…'".
 */
export async function drillLease(
  deps: EngineDeps,
  scratch: VaultRef,
  onLost: (reason?: unknown) => void,
  waitMs: number,
  signal?: SignalLike,
) {
  const held = await keepTrying(
    deps.clock,
    { limitMs: waitMs, pauseMs: () => deps.tuning.drillPollMs, signal },
    async () => {
      try {
        return await deps.leases.acquire(`drill-${scratch.name}`, onLost, signal);
      } catch (e) {
        if (isKvBackupError(e, "AlreadyRunning")) return undefined;
        throw e;
      }
    },
  );
  if (held.done) return held.value;
  throw new KvBackupError(
    "AlreadyRunning",
    `a restore drill into scratch vault '${scratch.name}' is running (its lease is held); drills run one at a time: try again when it ends`,
    { retryable: true },
  );
}

/**
 * Why the scratch vault is not the drill's alone: a vault the app backs up or restores into, one
 * discovery would back up (it carries BACKUP_VAULT_TAG), or one this app has backed up before.
 */
export async function scratchInUse(
  deps: EngineDeps & { fleet?: Fleet },
  scratch: VaultRef,
  signal?: SignalLike,
): Promise<string | undefined> {
  const same = (v: VaultRef): boolean =>
    v.name === scratch.name || new URL(v.url).origin === new URL(scratch.url).origin;
  const listed = deps.config.vaults.find(same) ?? deps.config.restoreTargets.find(same);
  if (listed) return `it is '${listed.name}', a vault this app backs up or restores into`;
  // Left out of the fleet only for being the scratch vault, though it carries the backup tag.
  const tagged =
    deps.config.vaultTag &&
    deps.fleet?.excluded.find((x) => x.name === scratch.name && x.reason.includes("scratch vault"));
  if (tagged)
    return `it carries the backup tag (BACKUP_VAULT_TAG) in subscription ${tagged.subscription}: discovery would back it up`;
  const runs = await deps.inventory.list({ vault: scratch.name, top: 1 }, signal);
  if (runs.length > 0) return `this app has backed it up (run ${runs[0]?.runId}): it holds data of its own`;
  return undefined;
}

/**
 * The drill record, as far as the inventory backs it: the drill's row exists (this scratch vault,
 * the same run, not a success) and says that drill set out to restore exactly the record's objects
 * and did not empty the scratch vault again (a drill that failed before restoring anything, or
 * cleaned up after itself, vouches for nothing), and the run's sound manifest names each object.
 * Anything else in it is not a leftover of ours; the caller treats it as foreign. With the record,
 * the row that vouches for it: once its leftovers are gone, the row must stop vouching.
 */
export async function trustedState(
  deps: EngineDeps,
  scratch: VaultRef,
  state: DrillState | undefined,
  signal: SignalLike,
): Promise<{ state: DrillState; row: DrillRow } | undefined> {
  if (!state || state.phase === "clean" || state.objects.length === 0) return undefined;
  const rows = await deps.drills.list({ vault: state.vault, top: 50 }, signal);
  const row = rows.find((r) => r.drillId === state.drillId);
  if (!row || row.scratchVault !== scratch.name || row.runId !== state.runId || row.status === "succeeded")
    return undefined;
  if (row.inScratch?.sha256 !== scratchDigest(state.objects).sha256) return undefined;
  let manifest: Manifest;
  try {
    const run = await findRun(deps, state.runId, state.vault, signal);
    // A point-in-time drill restored the run and the event backups by its time: those too.
    manifest = state.at ? (await asOf(deps, run, new Date(state.at), signal)).run.manifest : run.manifest;
  } catch (e) {
    if (isStorageFailure(e)) throw e;
    return undefined;
  }
  const inRun = new Set(manifest.items.map((i) => `${i.kind}/${i.name}`.toLowerCase()));
  return { state: { ...state, objects: state.objects.filter((o) => inRun.has(o.toLowerCase())) }, row };
}
