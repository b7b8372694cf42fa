import type { BlobLeaseClient } from "@azure/storage-blob";
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
  const renew = setInterval(() => {
    storageCall(() => lease.renewLease(), timing.label)
      .then(() => {
        renewedAt = Date.now();
      })
      .catch((e: unknown) => {
        const taken = isStorageStatus(e, 409) || isStorageStatus(e, 412);
        if (!lost && (taken || Date.now() - renewedAt >= timing.leaseSeconds * 1000)) {
          lost = true;
          clearInterval(renew);
          onLost(taken ? undefined : e);
        }
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
