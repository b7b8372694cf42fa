import type { Diagnosis } from "../domain/diagnosis.js";
import { emptyCounts } from "../domain/inventory.js";
import { manifestBlob, runPrefix } from "../domain/manifest.js";
import { newRunId } from "../domain/runId.js";
import type { Tier } from "../domain/vocabulary.js";
import type { EngineDeps } from "./deps.js";
import type { Fleet } from "./fleet.js";

/** How long a vault that stopped being found keeps being reported: past the weekly cycle. */
const RememberDays = 8;

export interface MissingVault {
  vault: string;
  runId: string;
  diagnosis: Diagnosis;
}

function vaultGone(vault: string, fleet: Fleet): Diagnosis {
  // kvbackup does not know which subscription a vault was in: every unreadable one is a suspect.
  const unread = fleet.unread.map((u) => `${u.subscription} (${u.diagnosis.code})`);
  return {
    code: "VaultNoLongerFound",
    cause: `vault '${vault}' was backed up in the last ${RememberDays} days but is neither in BACKUP_VAULTS nor discovered now (deleted, moved to another subscription, its tag removed, or the app lost read on it)${unread.length ? `; discovery could not read subscription(s) ${unread.join(", ")} today, and the vault may be in one of them` : ""}.`,
    fix: `If the vault was deleted on purpose, nothing to do: this is reported for 8 days, and its backups age out on their own. Otherwise run kvbackup discover to see why it is excluded, and restore the tag, the subscription in BACKUP_SUBSCRIPTIONS or the role.${fleet.unread[0] ? ` For the unreadable subscription: ${fleet.unread[0].diagnosis.fix}` : ""}`,
  };
}

/**
 * The timer's check that no vault silently drops out of the backups: every vault with a committed
 * run in the last 8 days that is not in today's fleet gets a failed run of its own (row and event,
 * so the failed-run alert fires), naming why as far as kvbackup can tell.
 */
export async function reportMissing(deps: EngineDeps, fleet: Fleet, tier: Tier): Promise<MissingVault[]> {
  const now = deps.now();
  const since = new Date(now.getTime() - RememberDays * 86_400_000).toISOString();
  const rows = [
    ...(await deps.inventory.list({ status: "succeeded", since, top: 100_000 })),
    ...(await deps.inventory.list({ status: "partial", since, top: 100_000 })),
  ];
  const inFleet = new Set(fleet.vaults.map((v) => v.name));
  const gone = [...new Set(rows.map((r) => r.vault))].filter((v) => !inFleet.has(v)).sort();
  const out: MissingVault[] = [];
  for (const vault of gone) {
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
