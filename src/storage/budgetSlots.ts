import type { ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { SignalLike } from "../domain/signal.js";
import { holdLease, tryLease } from "./heldLease.js";

/**
 * A subscription's Key Vault budget, shared by every instance of the app, as N slots: blob leases
 * on budget/{scope}/slot-{i}.lock. A run holds one slot for its length (renewed like the vault
 * lease); a holder that dies lets its slot go when the lease expires (15-60 s). This adapter looks
 * once; the engine waits and looks again — nothing but Storage coordinates, no server of our own.
 */
export class BudgetSlots {
  constructor(
    private readonly client: ContainerClient,
    private readonly leaseSeconds = 60,
    private readonly renewMs = (leaseSeconds * 1000) / 3,
  ) {}

  private get label(): StorageTarget {
    return { kind: "container", name: this.client.containerName };
  }

  private get timing() {
    return { leaseSeconds: this.leaseSeconds, renewMs: this.renewMs, label: this.label };
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
      const slot = (first + k) % slots;
      const blob = this.client.getBlockBlobClient(`budget/${scope}/slot-${slot}.lock`);
      const lease = await tryLease(blob, this.timing, signal);
      if (lease) return { slot, ...holdLease(lease, this.timing, onLost) };
    }
    return undefined;
  }
}
