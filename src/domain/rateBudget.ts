import type { SignalLike } from "./signal.js";

/**
 * The pace of calls to one vault. Every HTTP attempt takes a turn first; the answer is reported
 * back so a 429 slows everyone and clean answers bring the pace back.
 */
export interface RateBudget {
  acquire(signal?: SignalLike): Promise<void>;
  onThrottled(retryAfterSeconds?: number): void;
  onSuccess(): void;
}
