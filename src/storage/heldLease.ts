import type { BlobLeaseClient, BlockBlobClient } from "@azure/storage-blob";
import { isStorageStatus, storageCall } from "./storageCall.js";

/**
 * Keeps a blob lease: renewed every renewMs. Taken away (409/412), onLost() with no reason: another
 * run may own it now. Storage refusing renewals for a whole lease period: onLost(that refusal).
 */
export function holdLease(
  lease: BlobLeaseClient,
  timing: { leaseSeconds: number; renewMs: number; label: string },
  onLost: (reason?: unknown) => void,
): { release(): Promise<void> } {
  let done = false;
  let lastError: unknown;
  const lose = (reason: unknown): void => {
    if (done) return;
    done = true;
    clearInterval(renew);
    clearTimeout(deadline);
    onLost(reason);
  };
  // Lost by a deadline, not only by an answer: with no successful renewal until shortly before the
  // lease runs out (a renewal that hangs never answers at all), the holder stops in time.
  const leaseMs = timing.leaseSeconds * 1000;
  const marginMs = Math.min(5000, leaseMs / 4);
  let deadline = setTimeout(() => lose(lastError), leaseMs - marginMs);
  deadline.unref();
  const renew = setInterval(() => {
    storageCall(() => lease.renewLease({ abortSignal: AbortSignal.timeout(timing.renewMs) }), timing.label)
      .then(() => {
        if (done) return;
        clearTimeout(deadline);
        deadline = setTimeout(() => lose(lastError), leaseMs - marginMs);
        deadline.unref();
      })
      .catch((e: unknown) => {
        // A renewal that was in flight when the holder released answers 409: not a loss.
        if (done) return;
        lastError = e;
        if (isStorageStatus(e, 409) || isStorageStatus(e, 412)) lose(undefined);
      });
  }, timing.renewMs);
  renew.unref();
  return {
    release: async () => {
      if (done) return;
      done = true;
      clearInterval(renew);
      clearTimeout(deadline);
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
  timing: { leaseSeconds: number; label: string },
): Promise<BlobLeaseClient | undefined> {
  try {
    await storageCall(
      () => blob.uploadData(Buffer.from("lock"), { conditions: { ifNoneMatch: "*" } }),
      timing.label,
    );
  } catch (e) {
    if (!isStorageStatus(e, 409)) throw e;
  }
  const lease = blob.getBlobLeaseClient();
  try {
    await storageCall(() => lease.acquireLease(timing.leaseSeconds), timing.label);
    return lease;
  } catch (e) {
    if (isStorageStatus(e, 409)) return undefined;
    throw e;
  }
}
