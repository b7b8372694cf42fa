import type { VaultRef } from "../../domain/config.js";
import type { EngineDeps } from "../deps.js";
import { VaultLimiter } from "../limiter.js";
import { budgetOf } from "../subscriptionBudget.js";

/*
 * Continuous protection inside the budgets, across every instance of the app: a process backs up a
 * vault's events only while it holds that vault's events lock (one instance at a time, so a burst
 * spread over many instances still reaches the vault at one pace, BACKUP_RATE_PER_10S) and one slot
 * of the vault's subscription budget (so events and runs together stay within
 * BACKUP_SUBSCRIPTION_RATE_PER_10S). The process's concurrent events of the vault share the hold
 * and its pace; it is let go tuning.eventHoldLingerMs after the last one. An event that cannot have
 * it (another instance holds the lock, runs hold every slot) waits on the queue (deferred), never
 * counted as a failure. Not covered: a run of the vault and its events at the same time take the
 * vault's rate each (the run holds its own slot).
 */

interface Hold {
  users: number;
  /** Lets it go now (its linger cut short), once no event of this process uses it. */
  letGo?: () => void;
  pace: VaultLimiter;
  release: () => Promise<void>;
  linger?: ReturnType<typeof setTimeout> | undefined;
}

/** Per deps the app was made with (one per process in the Functions host): each vault's hold, or its taking. */
const holds = new WeakMap<EngineDeps, Map<string, Promise<Hold | undefined>>>();
/** A hold being let go, per vault: a new one is taken after it (else this process would find its own lock held). */
const letting = new WeakMap<EngineDeps, Map<string, Promise<void>>>();

/** The events lock's scope: a budget scope of one slot per vault. */
export const eventsLockScope = (vault: string): string => `events-${vault.toLowerCase()}`;

async function take(deps: EngineDeps, vault: VaultRef, forget: () => void): Promise<Hold | undefined> {
  const lost = (): void => forget();
  const lock = await deps.budgetSlots.tryAcquire(eventsLockScope(vault.name), 1, lost);
  if (!lock) return undefined;
  const { scope, slots, ratePer10s } = budgetOf(deps, vault);
  const slot = await deps.budgetSlots.tryAcquire(scope, slots, lost).catch(async (e: unknown) => {
    await lock.release().catch(() => undefined);
    throw e;
  });
  if (!slot) {
    await lock.release().catch(() => undefined);
    return undefined;
  }
  return {
    users: 0,
    pace: new VaultLimiter({ ratePer10s, clock: deps.clock }),
    release: async () => {
      await Promise.allSettled([slot.release(), lock.release()]);
    },
  };
}

/**
 * Runs fn at the vault's event pace while this process holds the vault's event hold; undefined,
 * without running it, when the hold cannot be had now (the event is to be deferred).
 */
export async function withEventHold<T>(
  given: EngineDeps,
  deps: EngineDeps,
  vault: VaultRef,
  fn: (pace: VaultLimiter) => Promise<T>,
): Promise<{ value: T } | undefined> {
  const byVault = holds.get(given) ?? new Map<string, Promise<Hold | undefined>>();
  holds.set(given, byVault);
  const released = letting.get(given) ?? new Map<string, Promise<void>>();
  letting.set(given, released);
  const key = vault.name.toLowerCase();
  let taking = byVault.get(key);
  if (!taking) {
    const forget = (): void => {
      if (byVault.get(key) === taking) byVault.delete(key);
    };
    const before = released.get(key);
    taking = (before ?? Promise.resolve()).then(() => take(deps, vault, forget));
    byVault.set(key, taking);
    // Not had (or failed): the next event tries again.
    taking.then(
      (h) => {
        if (!h) forget();
      },
      () => forget(),
    );
  }
  const hold = await taking;
  if (!hold) return undefined;
  hold.users++;
  if (hold.linger) clearTimeout(hold.linger);
  hold.linger = undefined;
  try {
    return { value: await fn(hold.pace) };
  } finally {
    hold.users--;
    if (hold.users === 0) {
      const letGo = (): void => {
        if (hold.users > 0) return;
        if (byVault.get(key) === taking) byVault.delete(key);
        const done = hold.release();
        released.set(key, done);
        void done.finally(() => {
          if (released.get(key) === done) released.delete(key);
        });
      };
      hold.letGo = letGo;
      const ms = deps.tuning.eventHoldLingerMs;
      if (ms <= 0) letGo();
      else {
        hold.linger = setTimeout(letGo, ms);
        hold.linger.unref?.();
      }
    }
  }
}

/**
 * Lets go of every hold of this process that no event uses now, without waiting for the linger:
 * what a short-lived process (kvbackup events --drain, --replay-dead-letters) does before it ends,
 * so the next one need not wait for its leases to expire. Resolves once they are let go.
 */
export async function releaseEventHolds(given: EngineDeps): Promise<void> {
  const byVault = holds.get(given);
  if (byVault)
    for (const taking of [...byVault.values()]) {
      const hold = await taking.catch(() => undefined);
      if (hold && hold.users === 0 && hold.letGo) {
        if (hold.linger) clearTimeout(hold.linger);
        hold.letGo();
      }
    }
  await Promise.allSettled([...(letting.get(given)?.values() ?? [])]);
}
