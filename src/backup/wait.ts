import { delay, type SignalLike } from "../domain/signal.js";

/**
 * The engine's clock for waiting: milliseconds that only move forward, and a pause a signal can cut
 * short. Production uses the system's; unit tests give one they move themselves, so a wait of
 * minutes takes none. (Records are stamped by `EngineDeps.now`, the calendar, which a test may fix.)
 */
export interface Clock {
  ms(): number;
  sleep(ms: number, signal?: SignalLike): Promise<void>;
}

/** The system's clock: Date.now and a timer. */
export const systemClock: Clock = { ms: () => Date.now(), sleep: delay };

export interface WaitPolicy {
  /** How long to keep trying, on the clock, from the first try. */
  limitMs: number;
  /** The pause after try n (0-based); never past the limit. */
  pauseMs: (attempt: number) => number;
  signal?: SignalLike | undefined;
}

export type Waited<T> = { done: true; value: T; waitedMs: number } | { done: false; waitedMs: number };

/**
 * The engine's one way to wait for something: try; while the try says "not yet" (undefined) and the
 * limit has not passed, pause and try again. The try at the limit is the last; then `done: false`,
 * and the caller says what it waited for. An abort ends the pause with the signal's error.
 */
export async function keepTrying<T>(
  clock: Clock,
  policy: WaitPolicy,
  attempt: (n: number) => Promise<T | undefined>,
): Promise<Waited<T>> {
  const started = clock.ms();
  for (let n = 0; ; n++) {
    const value = await attempt(n);
    const waitedMs = clock.ms() - started;
    if (value !== undefined) return { done: true, value, waitedMs };
    const left = policy.limitMs - waitedMs;
    if (left <= 0) return { done: false, waitedMs };
    await clock.sleep(Math.min(Math.max(0, policy.pauseMs(n)), left), policy.signal);
  }
}
