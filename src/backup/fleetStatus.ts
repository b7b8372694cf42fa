import type { SignalLike } from "../domain/signal.js";
import type { VaultStatus } from "../domain/vaultStatus.js";
import type { EngineDeps } from "./deps.js";
import { buildReport } from "./report.js";

/**
 * The hourly status: for every vault of the report (the fleet, each Managed HSM, every vault gone
 * from the fleet lately, and each subscription discovery could not read) when it last succeeded
 * and last had a restore proven, emitted
 * as one KeyVaultBackupStatus event each. The alerts compare those times with now, so the app
 * names the vaults and no alert holds a list made at deploy time. No Key Vault call: coverage is
 * the report's, not the status's.
 */
export async function emitFleetStatus(deps: EngineDeps, signal?: SignalLike): Promise<VaultStatus[]> {
  const report = await buildReport(deps, signal, { coverage: false });
  const drills = deps.config.drillVault !== undefined;
  const statuses = report.vaults.map((v): VaultStatus => {
    const inFleet = v.notInFleet === undefined;
    return {
      vault: v.vault.toLowerCase(),
      kind: v.kind,
      inFleet,
      drilled: drills && inFleet && v.kind === "vault",
      ...(v.lastBackup ? { lastSuccessAt: v.lastBackup.finishedAt } : {}),
      ...(v.lastProvenRestore ? { lastProvenRestoreAt: v.lastProvenRestore.finishedAt } : {}),
    };
  });
  // A subscription that cannot be read: its vaults are backed up by nobody, so the no-success
  // alert must see something of it (a status without a last success).
  for (const u of report.unread)
    statuses.push({
      vault: `subscription/${u.subscription.toLowerCase()}`,
      kind: "subscription",
      inFleet: false,
      drilled: false,
    });
  deps.telemetry.fleetStatus(statuses);
  return statuses;
}
