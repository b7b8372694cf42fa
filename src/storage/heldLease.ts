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
  let renewedAt = Date.now();
  let lost = false;
  let lastError: unknown;
  const lose = (reason: unknown): void => {
    if (lost) return;
    lost = true;
    clearInterval(renew);
    onLost(reason);
  };
  // Lost by a deadline, not by an answer: with no successful renewal for the lease period less one
  // renewal interval, the lease may run out any moment (a renewal that hangs never answers at all).
  const deadlineMs = timing.leaseSeconds * 1000 - timing.renewMs;
  const renew = setInterval(() => {
    if (Date.now() - renewedAt >= deadlineMs) return lose(lastError);
    storageCall(() => lease.renewLease({ abortSignal: AbortSignal.timeout(timing.renewMs) }), timing.label)
      .then(() => {
        renewedAt = Date.now();
      })
      .catch((e: unknown) => {
        lastError = e;
        if (isStorageStatus(e, 409) || isStorageStatus(e, 412)) lose(undefined);
        else if (Date.now() - renewedAt >= deadlineMs) lose(e);
      });
  }, timing.renewMs);
  renew.unref();
  return {
    release: async () => {
      clearInterval(renew);
      if (!lost) await lease.releaseLease().catch(() => undefined);
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
