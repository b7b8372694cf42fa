import type { VaultRef } from "../../domain/config.js";
import type { EngineDeps } from "../deps.js";
import { VaultLimiter } from "../limiter.js";
import { budgetOf } from "../subscriptionBudget.js";

/*
 * Continuous protection inside the budgets, across every instance of the app. A process backs up
 * events while it holds one slot of the vault's subscription budget — one slot per process and
 * subscription, whatever the number of vaults, its events paced together at one vault's rate
 * (BACKUP_RATE_PER_10S), so events and runs together stay within BACKUP_SUBSCRIPTION_RATE_PER_10S —
 * and the vault's events lock (one instance per vault at a time, so a rotation burst spread over
 * many instances still reaches the vault at that one pace). The process's concurrent events share
 * both, and let each go tuning.eventHoldLingerMs after the last one. An event that cannot have them
 * (another instance holds the vault's lock, runs hold every slot) waits on the queue (deferred),
 * never counted as a failure. Not covered: a run of the vault and its events at the same time take
 * the vault's rate each (the run holds a slot of its own).
 */

interface Held<T> {
  value: T;
  users: number;
  release: () => Promise<void>;
  linger?: ReturnType<typeof setTimeout> | undefined;
  /** Lets it go now (its linger cut short), once nothing in this process uses it. */
  letGo?: (() => void) | undefined;
}

/**
 * Leases a process shares among its concurrent users, by key: taken by the first, let go after the
 * last (plus a linger); a new one is taken only once the one being let go is gone (else this
 * process would find its own lease held).
 */
class Shared<T> {
  private readonly taking = new Map<string, Promise<Held<T> | undefined>>();
  private readonly letting = new Map<string, Promise<void>>();

  async use<R>(
    key: string,
    lingerMs: number,
    take: (lost: () => void) => Promise<{ value: T; release: () => Promise<void> } | undefined>,
    fn: (value: T) => Promise<R>,
    /** Whether to keep it for the linger after this result (false: let it go at once when idle). */
    keep: (result: R) => boolean = () => true,
  ): Promise<{ value: R } | undefined> {
    let taking: Promise<Held<T> | undefined> | undefined;
    let held: Held<T> | undefined;
    // A hold let go between its taking and this user's turn is not used: take a new one.
    for (;;) {
      taking = this.taking.get(key);
      if (!taking) {
        const mine: Promise<Held<T> | undefined> = bounded(this.letting.get(key)).then(async () => {
          const got = await take(() => {
            if (this.taking.get(key) === mine) this.taking.delete(key);
          });
          return got ? { ...got, users: 0 } : undefined;
        });
        taking = mine;
        this.taking.set(key, mine);
        // Not had (or failed): the next user tries again.
        const forget = (): void => {
          if (this.taking.get(key) === mine) this.taking.delete(key);
        };
        mine.then((h) => (h ? undefined : forget()), forget);
      }
      held = await taking;
      if (!held) return undefined;
      if (this.taking.get(key) === taking) break;
    }
    held.users++;
    if (held.linger) clearTimeout(held.linger);
    held.linger = undefined;
    let kept = true;
    try {
      const value = await fn(held.value);
      kept = keep(value);
      return { value };
    } finally {
      held.users--;
      if (held.users === 0) {
        const current = taking;
        const h = held;
        h.letGo = () => {
          if (h.users > 0) return;
          if (h.linger) clearTimeout(h.linger);
          h.letGo = undefined;
          if (this.taking.get(key) === current) this.taking.delete(key);
          const done = h.release();
          this.letting.set(key, done);
          void done.finally(() => {
            if (this.letting.get(key) === done) this.letting.delete(key);
          });
        };
        if (lingerMs <= 0 || !kept) h.letGo();
        else {
          h.linger = setTimeout(() => h.letGo?.(), lingerMs);
          h.linger.unref?.();
        }
      }
    }
  }

  /** Lets go of everything no user holds now, and waits for it. */
  async releaseIdle(): Promise<void> {
    for (const taking of [...this.taking.values()]) {
      const held = await taking.catch(() => undefined);
      held?.letGo?.();
    }
    await Promise.allSettled([...this.letting.values()].map((p) => bounded(p)));
  }
}

/** How long a lease's release is waited for before a new one is taken anyway (a release that hangs). */
const ReleaseWaitMs = 10_000;

/** The promise, or its end after ReleaseWaitMs, whichever comes first (never rejects). */
function bounded(p: Promise<void> | undefined): Promise<void> {
  if (!p) return Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ReleaseWaitMs);
    timer.unref?.();
  });
  return Promise.race([p.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

interface ProcessHolds {
  /** Per subscription scope: a budget slot, and the pace of this process's events there. */
  slots: Shared<VaultLimiter>;
  /** Per vault: its events lock. */
  locks: Shared<null>;
}

/** Per deps the app was made with (one per process in the Functions host). */
const perProcess = new WeakMap<EngineDeps, ProcessHolds>();
const holdsOf = (given: EngineDeps): ProcessHolds => {
  const known = perProcess.get(given);
  if (known) return known;
  const made = { slots: new Shared<VaultLimiter>(), locks: new Shared<null>() };
  perProcess.set(given, made);
  return made;
};

/** The events lock's scope: a budget scope of one slot per vault. */
export const eventsLockScope = (vault: string): string => `events-${vault.toLowerCase()}`;

/**
 * Runs fn at this process's event pace for the vault's subscription while it holds a slot of that
 * budget and the vault's events lock; undefined, without running it, when either cannot be had now
 * (the event is to be deferred).
 */
export async function withEventHold<T>(
  given: EngineDeps,
  deps: EngineDeps,
  vault: VaultRef,
  fn: (pace: VaultLimiter) => Promise<T>,
): Promise<{ value: T } | undefined> {
  const { slots, locks } = holdsOf(given);
  const budget = budgetOf(deps, vault);
  const linger = deps.tuning.eventHoldLingerMs;
  // The vault's lock first: an instance whose events of the vault are deferred takes no budget slot.
  // Had, but no slot (runs hold them all): the lock is let go at once, not kept for the linger.
  const locked = await locks.use(
    vault.name.toLowerCase(),
    linger,
    async (lost) => {
      const lock = await deps.budgetSlots.tryAcquire(eventsLockScope(vault.name), 1, lost);
      return lock && { value: null, release: lock.release };
    },
    () =>
      slots.use(
        budget.scope,
        linger,
        async (lost) => {
          const slot = await deps.budgetSlots.tryAcquire(budget.scope, budget.slots, lost);
          return (
            slot && {
              value: new VaultLimiter({ ratePer10s: budget.ratePer10s, clock: deps.clock }),
              release: slot.release,
            }
          );
        },
        (pace) => fn(pace),
      ),
    (inSlot) => inSlot !== undefined,
  );
  return locked?.value;
}

/**
 * Lets go of every hold of this process that no event uses now, without waiting for the linger:
 * what a short-lived process (kvbackup events --drain, --replay-dead-letters) does before it ends,
 * so the next one need not wait for its leases to expire.
 */
export async function releaseEventHolds(given: EngineDeps): Promise<void> {
  const holds = perProcess.get(given);
  if (!holds) return;
  await holds.locks.releaseIdle();
  await holds.slots.releaseIdle();
}
