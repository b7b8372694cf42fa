import type { ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import { KvBackupError } from "../domain/errors.js";
import { delay, type SignalLike } from "../domain/signal.js";
import { holdLease, tryLease } from "./heldLease.js";

/**
 * A subscription's Key Vault budget, shared by every instance of the app, as N slots: blob leases
 * on budget/{scope}/slot-{i}.lock. A run holds one slot for its length (renewed like the vault
 * lease); a holder that dies lets its slot go when the lease expires (15-60 s). A run that finds
 * every slot held waits and tries again — nothing but Storage coordinates, no server of our own.
 */
export class BudgetSlots {
  constructor(
    private readonly client: ContainerClient,
    private readonly leaseSeconds = 60,
    private readonly renewMs = (leaseSeconds * 1000) / 3,
    private readonly pollMs = 2000,
  ) {}

  private get label(): StorageTarget {
    return { kind: "container", name: this.client.containerName };
  }

  private get timing() {
    return { leaseSeconds: this.leaseSeconds, renewMs: this.renewMs, label: this.label };
  }

  async acquire(
    scope: string,
    slots: number,
    onLost: (reason?: unknown) => void,
    options: { signal?: SignalLike; waitMs: number },
  ): Promise<{ slot: number; waitedMs: number; release(): Promise<void> }> {
    const started = Date.now();
    for (;;) {
      // Every slot, from a random one on, so instances do not all queue behind slot 0.
      const first = Math.floor(Math.random() * slots);
      for (let k = 0; k < slots; k++) {
        const slot = (first + k) % slots;
        const blob = this.client.getBlockBlobClient(`budget/${scope}/slot-${slot}.lock`);
        const lease = await tryLease(blob, this.timing);
        if (lease) return { slot, waitedMs: Date.now() - started, ...holdLease(lease, this.timing, onLost) };
      }
      if (Date.now() - started + this.pollMs > options.waitMs)
        throw new KvBackupError(
          "BudgetBusy",
          `every one of the ${slots} budget slot(s) of ${scope} stayed held for ${Math.round(options.waitMs / 1000)} s (BACKUP_SUBSCRIPTION_RATE_PER_10S shared by every run); the job is tried again later`,
          { retryable: true },
        );
      await delay(this.pollMs * (0.75 + Math.random() / 2), options.signal);
    }
  }
}
