import type { ContainerClient } from "@azure/storage-blob";
import { abortError, type SignalLike } from "../domain/signal.js";
import { LockBlobs } from "./heldLease.js";

/**
 * A subscription's Key Vault budget, shared by every instance of the app, as N slots: blob leases
 * on budget/{scope}/slot-{i}.lock. A run holds one slot for its length (renewed like the vault
 * lease); a holder that dies lets its slot go when the lease expires (15-60 s). This adapter looks
 * once; the engine waits and looks again — nothing but Storage coordinates, no server of our own.
 */
export class BudgetSlots {
  private readonly locks: LockBlobs;

  constructor(client: ContainerClient, leaseSeconds?: number, renewMs?: number) {
    this.locks = new LockBlobs(client, leaseSeconds, renewMs);
  }

  async tryAcquire(
    scope: string,
    slots: number,
    onLost: (reason?: unknown) => void,
    signal?: SignalLike,
  ): Promise<{ slot: number; release(): Promise<void> } | undefined> {
    // Every slot, from a random one on, so instances do not all queue behind slot 0.
    const first = Math.floor(Math.random() * slots);
    for (let k = 0; k < slots; k++) {
      if (signal?.aborted) throw abortError(signal);
      const slot = (first + k) % slots;
      // Not cut short by the signal: an abort between Storage granting the lease and its answer
      // would leave the slot held by nobody until the lease expires. The caller releases it.
      const held = await this.locks.take(`budget/${scope}/slot-${slot}.lock`, onLost);
      if (held) return { slot, ...held };
    }
    return undefined;
  }
}
