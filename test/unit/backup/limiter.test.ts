import { describe, expect, it } from "vitest";
import { VaultLimiter } from "../../../src/backup/limiter.js";
import { fakeClock } from "../fakes/fakeClock.js";

/** A clock that only moves when the limiter sleeps: pacing is checked without waiting. */
function fakeTime() {
  const clock = fakeClock();
  return { clock, now: () => clock.ms(), elapsed: (since: number) => clock.ms() - since };
}

describe("VaultLimiter", () => {
  it("spends at most the budget in any 10 s window: a burst of a hundredth, taken out of the budget", async () => {
    const time = fakeTime();
    const l = new VaultLimiter({ ratePer10s: 1000, clock: time.clock });
    const start = time.now();
    const at: number[] = [];
    for (let i = 0; i < 2000; i++) {
      await l.acquire();
      at.push(time.elapsed(start));
    }
    // 10 from the burst, then 990 per 10 s: the 1000th token at 10 s, the 2000th near 20.1 s.
    expect(at[999]).toBeGreaterThanOrEqual(9_990);
    expect(at[1999]).toBeGreaterThanOrEqual(20_090);
    // Every 10 s window (sliding, from any token on) holds at most 1000.
    let maxWindow = 0;
    for (let i = 0, j = 0; i < at.length; i++) {
      while ((at[i] as number) - (at[j] as number) >= 10_000) j++;
      maxWindow = Math.max(maxWindow, i - j + 1);
    }
    expect(maxWindow).toBeLessThanOrEqual(1000);
    expect(l.stats.acquired).toBe(2000);
  });

  it("on a 429 without Retry-After: slows the pace and pauses everyone with jittered backoff", async () => {
    const time = fakeTime();
    const l = new VaultLimiter({ ratePer10s: 1000, clock: time.clock, random: () => 1 });
    await l.acquire();
    l.onThrottled();
    expect(l.stats.pace).toBeCloseTo(0.7);
    const before = time.now();
    await l.acquire();
    expect(time.elapsed(before)).toBeGreaterThanOrEqual(1000); // 500 ms * 2^1, full jitter at its top
  });

  it("honours Retry-After exactly, and a burst of 429s is one decrease", async () => {
    const time = fakeTime();
    const l = new VaultLimiter({ ratePer10s: 1000, clock: time.clock });
    l.onThrottled(3);
    l.onThrottled(3);
    l.onThrottled(3);
    expect(l.stats.pace).toBeCloseTo(0.7);
    expect(l.stats.throttled).toBe(3);
    const before = time.now();
    await l.acquire();
    expect(time.elapsed(before)).toBeGreaterThanOrEqual(3000);
    expect(time.elapsed(before)).toBeLessThan(3100);
  });

  it("recovers the pace after clean seconds", async () => {
    const time = fakeTime();
    const l = new VaultLimiter({ ratePer10s: 1000, clock: time.clock });
    l.onThrottled(1);
    for (let i = 0; i < 2000; i++) await l.acquire();
    expect(l.stats.pace).toBe(1);
  });

  it("an aborted waiter leaves and does not block the next one", async () => {
    const l = new VaultLimiter({ ratePer10s: 1000, clock: fakeClock() });
    l.onThrottled(0.05);
    const ac = new AbortController();
    const first = l.acquire(ac.signal);
    ac.abort();
    await expect(first).rejects.toThrow();
    await expect(l.acquire()).resolves.toBeUndefined();
  });
});
