import type { RateBudget } from "../domain/rateBudget.js";
import { abortError, type SignalLike } from "../domain/signal.js";
import type { Clock } from "./wait.js";

export interface LimiterOptions {
  /** Transactions this app may spend per 10 s on the vault (BACKUP_RATE_PER_10S). */
  ratePer10s: number;
  /** The engine's clock (EngineDeps.clock): the pace is kept, and waited for, on it. */
  clock: Clock;
  random?: () => number;
}

export interface LimiterStats {
  acquired: number;
  throttled: number;
  /** Current pace as a share of the configured rate (1 = full budget). */
  pace: number;
}

/**
 * The per-vault pace. Every HTTP request to the vault (listing pages, backups, retries, the 401
 * challenge) takes a token first, so the app never spends more than its budget. A 429 slows the
 * whole vault, not one request: the pace drops (multiplicative decrease), everyone pauses for
 * Retry-After when the service sent one, else for an exponential backoff with full jitter; clean
 * seconds then bring the pace back (additive increase) up to the budget.
 */
export class VaultLimiter implements RateBudget {
  private readonly rate: number;
  private readonly capacity: number;
  private tokens: number;
  private last: number;
  private pace = 1;
  private pausedUntil = 0;
  private consecutive = 0;
  private lastDecrease = 0;
  private lastIncrease: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly sleep: Clock["sleep"];
  private readonly random: () => number;
  readonly stats: LimiterStats = { acquired: 0, throttled: 0, pace: 1 };

  constructor(options: LimiterOptions) {
    // A tenth of a second of burst smooths the workers' arrivals; it comes out of the budget, so no
    // 10 s window (sliding, not only aligned ones) spends more than ratePer10s: burst + 10 s of refill.
    this.capacity = Math.max(1, options.ratePer10s / 100);
    this.rate = Math.max(0, options.ratePer10s - this.capacity) / 10_000; // tokens per ms
    this.now = () => options.clock.ms();
    this.sleep = (ms, signal) => options.clock.sleep(ms, signal);
    this.random = options.random ?? Math.random;
    this.tokens = this.capacity;
    this.last = this.now();
    this.lastIncrease = this.last;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.rate * this.pace);
    this.last = now;
    if (this.pace < 1 && now - this.lastIncrease >= 1000 && now >= this.pausedUntil) {
      this.pace = Math.min(1, this.pace + 0.05 * Math.floor((now - this.lastIncrease) / 1000));
      this.lastIncrease = now;
      this.stats.pace = this.pace;
    }
  }

  /** Waits for the vault's pause to end and for a token. Callers are served in order. */
  acquire(signal?: SignalLike): Promise<void> {
    const turn = this.chain.then(() => this.take(signal));
    // A caller that gives up (abort) must not stall the ones behind it.
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async take(signal?: SignalLike): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const now = this.now();
      if (now < this.pausedUntil) {
        await this.sleep(this.pausedUntil - now, signal);
        continue;
      }
      this.refill(now);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.stats.acquired++;
        return;
      }
      await this.sleep(Math.ceil((1 - this.tokens) / (this.rate * this.pace)), signal);
    }
  }

  /** A 429 was seen. `retryAfterSeconds` when the service said how long to wait. */
  onThrottled(retryAfterSeconds?: number): void {
    const now = this.now();
    this.stats.throttled++;
    this.consecutive++;
    // One decrease per second: a burst of 429s from requests already in flight is one signal.
    if (now - this.lastDecrease >= 1000) {
      this.pace = Math.max(0.1, this.pace * 0.7);
      this.lastDecrease = now;
      this.stats.pace = this.pace;
    }
    const backoff =
      retryAfterSeconds !== undefined
        ? retryAfterSeconds * 1000
        : this.random() * Math.min(30_000, 500 * 2 ** Math.min(this.consecutive, 10));
    this.pausedUntil = Math.max(this.pausedUntil, now + backoff);
    this.tokens = Math.min(this.tokens, 0);
    this.lastIncrease = Math.max(this.lastIncrease, this.pausedUntil);
  }

  /** A request went through without a 429. */
  onSuccess(): void {
    this.consecutive = 0;
  }
}

/** The pace of a check (doctor, /api/health, the report's coverage): a few calls per vault, at most 400 per 10 s whatever a run may spend. */
export const CheckRatePer10s = 400;
export const checkLimiter = (deps: { config: { ratePer10s: number }; clock: Clock }): VaultLimiter =>
  new VaultLimiter({ ratePer10s: Math.min(deps.config.ratePer10s, CheckRatePer10s), clock: deps.clock });
