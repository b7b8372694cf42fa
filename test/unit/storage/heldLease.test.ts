import type { BlobLeaseClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { holdLease, renewalTiming } from "../../../src/storage/heldLease.js";

/** A lease client whose renewals behave as told: hang, fail, or succeed. */
const leaseClient = (renew: () => Promise<unknown>): BlobLeaseClient =>
  ({ renewLease: renew, releaseLease: async () => ({}) }) as unknown as BlobLeaseClient;

describe("holding a blob lease", () => {
  it("a renewal that never answers still loses the lease before it can expire (a deadline, not an answer)", async () => {
    const started = Date.now();
    const lost = await new Promise<unknown>((resolve) => {
      holdLease(
        leaseClient(() => new Promise(() => undefined)),
        { leaseSeconds: 1, renewMs: 100, label: { kind: "container", name: "test" } as const },
        (reason) => resolve({ reason, after: Date.now() - started }),
      );
    });
    expect((lost as { after: number }).after).toBeLessThan(1000);
  });

  it("a lease taken away (409) is lost at the first failed renewal, with no reason", async () => {
    const taken = Object.assign(new Error("LeaseIdMismatchWithLeaseOperation"), {
      statusCode: 409,
      code: "LeaseIdMismatchWithLeaseOperation",
    });
    const reason = await new Promise<unknown>((resolve) => {
      holdLease(
        leaseClient(async () => Promise.reject(taken)),
        { leaseSeconds: 60, renewMs: 20, label: { kind: "container", name: "test" } as const },
        resolve,
      );
    });
    expect(reason).toBeUndefined();
  });

  it("renewals that succeed keep it: released on request, never lost", async () => {
    let renewals = 0;
    let lostCalled = false;
    const held = holdLease(
      leaseClient(async () => {
        renewals++;
        return {};
      }),
      { leaseSeconds: 1, renewMs: 50, label: { kind: "container", name: "test" } as const },
      () => {
        lostCalled = true;
      },
    );
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (renewals >= 25) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    await held.release();
    expect(lostCalled).toBe(false);
  });
});

describe("releasing a held lease", () => {
  it("a renewal still in flight when the holder releases, answering 409 after, is not a loss", async () => {
    let answer: (e: unknown) => void = () => undefined;
    let started: () => void = () => undefined;
    const firstRenewal = new Promise<void>((resolve) => {
      started = resolve;
    });
    let renewals = 0;
    let lostCalled = false;
    const held = holdLease(
      leaseClient(() => {
        renewals++;
        started();
        return new Promise((_resolve, reject) => {
          answer = reject;
        });
      }),
      { leaseSeconds: 60, renewMs: 20, label: { kind: "container", name: "test" } as const },
      () => {
        lostCalled = true;
      },
    );
    await firstRenewal;
    await held.release();
    answer(Object.assign(new Error("LeaseNotPresentWithLeaseOperation"), { statusCode: 409 }));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(renewals).toBe(1);
    expect(lostCalled).toBe(false);
  });
  it("a renewal that fails (a slow or refusing account) is tried again soon, not an interval later: the lease is kept", async () => {
    let renewals = 0;
    let lostCalled = false;
    const busy = Object.assign(new Error("ServerBusy"), { statusCode: 503, code: "ServerBusy" });
    // leaseSeconds 1: the deadline is 750 ms; renewMs 600 with one failure would miss it without the retry.
    const held = holdLease(
      leaseClient(async () => {
        renewals++;
        if (renewals === 1) throw busy;
        return {};
      }),
      { leaseSeconds: 1, renewMs: 600, label: { kind: "container", name: "test" } as const, retryMs: 20 },
      () => {
        lostCalled = true;
      },
    );
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (renewals >= 3 || lostCalled) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    await held.release();
    expect(lostCalled).toBe(false);
    expect(renewals).toBeGreaterThanOrEqual(3);
  });
  it("timers are whole milliseconds for every lease Azure allows, the production default (60 s, renewed every 20 s) included", () => {
    // The bench found 60 s leases renewing with AbortSignal.timeout(18333.33): ERR_OUT_OF_RANGE at the first renewal.
    expect(renewalTiming(60, 20_000)).toEqual({ leaseMs: 60_000, marginMs: 5000, attemptMs: 18_333 });
    for (let seconds = 15; seconds <= 60; seconds++)
      for (const renewMs of [(seconds * 1000) / 3, 50, 1000]) {
        const t = renewalTiming(seconds, renewMs);
        for (const v of Object.values(t)) expect(Number.isInteger(v)).toBe(true);
        expect(() => AbortSignal.timeout(t.attemptMs)).not.toThrow();
        expect(t.attemptMs * 2).toBeLessThan(t.leaseMs - t.marginMs);
      }
  });
});
