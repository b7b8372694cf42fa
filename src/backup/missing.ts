import type { Diagnosis } from "../domain/diagnosis.js";
import { emptyCounts } from "../domain/inventory.js";
import { manifestBlob, runPrefix } from "../domain/manifest.js";
import { newRunId } from "../domain/runId.js";
import type { Tier } from "../domain/vocabulary.js";
import type { EngineDeps } from "./deps.js";
import type { Fleet } from "./fleet.js";

/** How long a vault that stopped being found keeps being reported: past the weekly cycle. */
export const RememberDays = 8;
/**
 * While a subscription cannot be read, its vaults may be among those not found: they are not
 * forgotten after 8 days but for as long as any backup of theirs can exist (the longest tier's
 * retention), so a subscription lost for good keeps its vaults reported.
 */
const RememberWhileUnreadDays = 90;

/** The code of the timer's own record of a vault it no longer finds: not a run of that vault. */
const GoneCode = "VaultNoLongerFound";

export interface MissingVault {
  vault: string;
  runId: string;
  diagnosis: Diagnosis;
}

/** Why a vault with runs of its own is not in today's fleet, as far as kvbackup can tell. */
export function vaultGone(vault: string, fleet: Fleet): Diagnosis {
  // kvbackup does not know which subscription a vault was in: every unreadable one is a suspect.
  const unread = fleet.unread.map((u) => `${u.subscription} (${u.diagnosis.code})`);
  // Discovery found it and left it out: that is the reason, not a guess.
  const excluded = fleet.excluded.find((x) => x.name === vault);
  const why = excluded
    ? `discovery finds it in subscription ${excluded.subscription} but leaves it out: ${excluded.reason}`
    : `it is neither in BACKUP_VAULTS nor discovered now (deleted, moved to another subscription, its tag removed, or the app lost read on it; for a Managed HSM: no longer in BACKUP_MANAGED_HSMS)`;
  return {
    code: GoneCode,
    cause: `vault '${vault}' was backed up lately but ${why}${unread.length ? `; discovery could not read subscription(s) ${unread.join(", ")}, and the vault may be in one of them` : ""}.`,
    fix: `If the vault was deleted on purpose, nothing to do: this is reported for ${RememberDays} days, and its backups age out on their own (they restore into another vault meanwhile: docs/restore.md). Otherwise run kvbackup discover to see why it is excluded, and restore the tag, the subscription in BACKUP_SUBSCRIPTIONS or the role.${fleet.unread[0] ? ` For the unreadable subscription: ${fleet.unread[0].diagnosis.fix}` : ""}`,
  };
}

/**
 * The vaults (and Managed HSMs) backed up lately that are not in today's fleet: every one with a
 * run of its own in the last RememberDays days (RememberWhileUnreadDays while a subscription cannot
 * be read) — whatever that run's status, so a vault deleted after a failed run counts too — that is
 * neither in the fleet nor a configured Managed HSM. The timer's own "no longer found" records are
 * not runs of the vault: they never keep it remembered.
 */
export async function goneVaults(deps: EngineDeps, fleet: Fleet): Promise<string[]> {
  const days = fleet.unread.length > 0 ? RememberWhileUnreadDays : RememberDays;
  const since = new Date(deps.now().getTime() - days * 86_400_000).toISOString();
  const rows = await deps.inventory.list({ since, top: 100_000 });
  const here = new Set([...fleet.vaults, ...deps.config.hsms].map((v) => v.name));
  const ran = rows.filter((r) => r.firstFailureCode !== GoneCode).map((r) => r.vault);
  return [...new Set(ran)].filter((v) => !here.has(v)).sort();
}

/**
 * The timer's check that no vault silently drops out of the backups: every vault that goneVaults
 * names gets a failed run of its own (row and event, so the failed-run alert fires), naming why.
 */
export async function reportMissing(deps: EngineDeps, fleet: Fleet, tier: Tier): Promise<MissingVault[]> {
  const now = deps.now();
  const out: MissingVault[] = [];
  for (const vault of await goneVaults(deps, fleet)) {
    const runId = newRunId(now);
    const diagnosis = vaultGone(vault, fleet);
    const counts = emptyCounts();
    await deps.inventory.put({
      vault,
      runId,
      tier,
      trigger: "timer",
      mode: "full",
      status: "failed",
      startedAt: now.toISOString(),
      finishedAt: now.toISOString(),
      durationMs: 0,
      counts,
      bytes: 0,
      manifest: manifestBlob(runPrefix(tier, vault, runId)),
      firstFailureCode: diagnosis.code,
    });
    deps.telemetry
      .run({ runId, vault, tier, trigger: "timer" })
      .end({ status: "failed", counts, bytes: 0, durationMs: 0, firstFailureCode: diagnosis.code });
    out.push({ vault, runId, diagnosis });
  }
  return out;
}
