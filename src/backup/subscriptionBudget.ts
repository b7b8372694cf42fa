import type { VaultRef } from "../domain/config.js";
import { KvBackupError } from "../domain/errors.js";
import type { SignalLike } from "../domain/signal.js";
import type { EngineDeps } from "./deps.js";
import { holding } from "./holding.js";
import { keepTrying } from "./wait.js";

/**
 * A subscription's budget (BACKUP_SUBSCRIPTION_RATE_PER_10S) is cut into slots of one vault's rate
 * (BACKUP_RATE_PER_10S): floor(S / R) runs of one subscription go at once, each at R, so together
 * they never spend more than S. Vaults whose subscription is unknown (listed, not discovered) share
 * one budget, the conservative reading.
 */
export function budgetOf(
  deps: Pick<EngineDeps, "config">,
  vault: VaultRef,
): { scope: string; slots: number; ratePer10s: number } {
  const { ratePer10s, subscriptionRatePer10s } = deps.config;
  const rate = Math.min(ratePer10s, subscriptionRatePer10s);
  return {
    scope: vault.subscription ?? "unknown-subscription",
    slots: Math.max(1, Math.floor(subscriptionRatePer10s / rate)),
    ratePer10s: rate,
  };
}

/**
 * Runs fn holding one slot of the vault's subscription budget: waits for one (the run does not
 * fail for want of budget; after tuning.budgetWaitMs the job is given back, retryable). A slot lost
 * mid-run stops the run, as a lost vault lease does: another run may be spending it.
 */
export const underBudget = <T>(
  deps: EngineDeps,
  vault: VaultRef,
  outer: SignalLike | undefined,
  fn: (signal: SignalLike, waitedMs: number) => Promise<T>,
): Promise<T> => {
  const { scope, slots } = budgetOf(deps, vault);
  const { budgetWaitMs, budgetPollMs } = deps.tuning;
  return holding(
    outer,
    async (onLost) => {
      const held = await keepTrying(
        deps.clock,
        // Jittered, so instances waiting on one subscription do not look in step.
        { limitMs: budgetWaitMs, pauseMs: () => budgetPollMs * (0.75 + Math.random() / 2), signal: outer },
        () => deps.budgetSlots.tryAcquire(scope, slots, onLost, outer),
      );
      if (!held.done)
        throw new KvBackupError(
          "BudgetBusy",
          `every one of the ${slots} budget slot(s) of ${scope} stayed held for ${Math.round(budgetWaitMs / 1000)} s (BACKUP_SUBSCRIPTION_RATE_PER_10S shared by every run); the job is tried again later`,
          { retryable: true },
        );
      return { ...held.value, waitedMs: held.waitedMs };
    },
    `the budget slot of ${scope} was lost mid-run; the job is tried again`,
    (signal, held) => fn(signal, held.waitedMs),
  );
};
