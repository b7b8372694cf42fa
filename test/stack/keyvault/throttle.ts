/** A token bucket refilled continuously: `limit` transactions per `windowMs`, as Key Vault states its limits. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private limit: number,
    private readonly windowMs = 10_000,
  ) {
    this.tokens = limit;
    this.last = Date.now();
  }

  /** New limits start with a full bucket (tests change limits between scenarios). */
  setLimit(limit: number): void {
    this.limit = limit;
    this.tokens = limit;
    this.last = Date.now();
  }

  private refill(now: number): void {
    // Time never runs backwards for the bucket (callers may pass a clock read a moment earlier).
    if (now <= this.last) return;
    this.tokens = Math.min(this.limit, this.tokens + ((now - this.last) * this.limit) / this.windowMs);
    this.last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = Date.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until one token is back (for an optional Retry-After). */
  secondsUntilToken(now = Date.now()): number {
    this.refill(now);
    return this.tokens >= 1
      ? 0
      : Math.max(1, Math.ceil(((1 - this.tokens) * this.windowMs) / this.limit / 1000));
  }
}
