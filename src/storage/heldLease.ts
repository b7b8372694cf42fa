import type { BlobLeaseClient, BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { SignalLike } from "../domain/signal.js";
import { isStorageStatus, signalOption, storageCall } from "./storageCall.js";

/**
 * A lease's clock: the deadline margin (5 s, or a quarter of a short lease) and how long one
 * renewal may take (a third of the time to the deadline, so another attempt fits): whole
 * milliseconds, as timers and AbortSignal.timeout require (60 s leases once gave 18333.33 ms,
 * which Node refuses with ERR_OUT_OF_RANGE).
 */
export function renewalTiming(
  leaseSeconds: number,
  renewMs: number,
): { leaseMs: number; marginMs: number; attemptMs: number } {
  const leaseMs = Math.round(leaseSeconds * 1000);
  const marginMs = Math.floor(Math.min(5000, leaseMs / 4));
  const attemptMs = Math.floor(Math.max(100, Math.min(renewMs, (leaseMs - marginMs) / 3)));
  return { leaseMs, marginMs, attemptMs };
}

/**
 * Keeps a blob lease: renewed every renewMs. Taken away (409/412), onLost() with no reason: another
 * run may own it now. No successful renewal until shortly before the lease would run out (Storage
 * refusing, slow or silent): onLost(the last refusal), so the holder stops before another can take it.
 * A renewal that fails for any other reason is tried again soon (retryMs), not a whole interval later:
 * one slow answer from a busy account must not cost the lease.
 */
export function holdLease(
  lease: BlobLeaseClient,
  timing: { leaseSeconds: number; renewMs: number; label: StorageTarget; retryMs?: number },
  onLost: (reason?: unknown) => void,
): { release(): Promise<void> } {
  let done = false;
  let lastError: unknown;
  let next: ReturnType<typeof setTimeout> | undefined;
  const { leaseMs, marginMs, attemptMs } = renewalTiming(timing.leaseSeconds, timing.renewMs);
  const retryMs = timing.retryMs ?? Math.min(2000, timing.renewMs);
  const stopTimers = (): void => {
    clearTimeout(next);
    clearTimeout(deadline);
  };
  const lose = (reason: unknown): void => {
    if (done) return;
    done = true;
    stopTimers();
    onLost(reason);
  };
  // Lost by a deadline, not only by an answer: a renewal that hangs never answers at all.
  const startDeadline = (): ReturnType<typeof setTimeout> => {
    const t = setTimeout(() => lose(lastError), leaseMs - marginMs);
    t.unref();
    return t;
  };
  let deadline = startDeadline();
  const schedule = (ms: number): void => {
    next = setTimeout(renewOnce, ms);
    next.unref();
  };
  const renewOnce = (): void => {
    storageCall(() => lease.renewLease({ abortSignal: AbortSignal.timeout(attemptMs) }), timing.label)
      .then(() => {
        if (done) return;
        clearTimeout(deadline);
        deadline = startDeadline();
        schedule(timing.renewMs);
      })
      .catch((e: unknown) => {
        // A renewal that was in flight when the holder released answers 409: not a loss.
        if (done) return;
        lastError = e;
        if (isStorageStatus(e, 409) || isStorageStatus(e, 412)) lose(undefined);
        else schedule(retryMs);
      });
  };
  schedule(timing.renewMs);
  return {
    release: async () => {
      if (done) return;
      done = true;
      stopTimers();
      await lease.releaseLease().catch(() => undefined);
    },
  };
}

/**
 * Takes a lease on a lock blob (made when missing): the lease, or undefined when another holder has
 * it (409). Any other refusal is a storage failure.
 */
export async function tryLease(
  blob: BlockBlobClient,
  timing: { leaseSeconds: number; label: StorageTarget },
  signal?: SignalLike,
): Promise<BlobLeaseClient | undefined> {
  try {
    await storageCall(
      () =>
        blob.uploadData(Buffer.from("lock"), { conditions: { ifNoneMatch: "*" }, ...signalOption(signal) }),
      timing.label,
    );
  } catch (e) {
    if (!isStorageStatus(e, 409)) throw e;
  }
  const lease = blob.getBlobLeaseClient();
  try {
    await storageCall(() => lease.acquireLease(timing.leaseSeconds, signalOption(signal)), timing.label);
    return lease;
  } catch (e) {
    if (isStorageStatus(e, 409)) return undefined;
    throw e;
  }
}

/**
 * Lock blobs in one container, each held by one holder at a time through a blob lease of
 * leaseSeconds (15-60, Azure's range for a finite lease), renewed every renewMs (a third of it by
 * default): the vault leases and the budget slots.
 */
export class LockBlobs {
  constructor(
    private readonly client: ContainerClient,
    readonly leaseSeconds = 60,
    private readonly renewMs = (leaseSeconds * 1000) / 3,
  ) {}

  /** Takes the lock at `path` and keeps it until released (taken away or not renewed: onLost); held by another: undefined. */
  async take(
    path: string,
    onLost: (reason?: unknown) => void,
    signal?: SignalLike,
  ): Promise<{ release(): Promise<void> } | undefined> {
    const label: StorageTarget = { kind: "container", name: this.client.containerName };
    const timing = { leaseSeconds: this.leaseSeconds, renewMs: this.renewMs, label };
    const lease = await tryLease(this.client.getBlockBlobClient(path), timing, signal);
    return lease ? holdLease(lease, timing, onLost) : undefined;
  }
}
