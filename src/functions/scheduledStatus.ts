import type { InvocationContext, Timer } from "@azure/functions";
import { type EngineDeps, emitFleetStatus } from "../backup/engine.js";
import type { VaultStatus } from "../domain/vaultStatus.js";

/**
 * Hourly, at half past: the alerts read these events and compare their times with now. The hour
 * bounds how late "no successful backup in 26 h" can fire; an hour without the event at all is the
 * "kvbackup is silent" alert (the app, its timers or its telemetry are down).
 */
export const StatusSchedule = "0 30 * * * *";

/** Timer: one KeyVaultBackupStatus event per vault the app backs up (listed, discovered, gone lately) and per HSM. */
export const scheduledStatus =
  (deps: EngineDeps) =>
  async (_timer: Timer, context: InvocationContext): Promise<VaultStatus[]> => {
    const statuses = await emitFleetStatus(deps);
    context.log(
      `status of ${statuses.length} vault(s) and HSM(s): ${statuses.map((s) => `${s.vault} (last success ${s.lastSuccessAt ?? "never"})`).join(", ")}`,
    );
    return statuses;
  };
