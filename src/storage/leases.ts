import type { ContainerClient } from "@azure/storage-blob";
import type { StorageTarget } from "../domain/azureFailure.js";
import { KvBackupError } from "../domain/errors.js";
import type { SignalLike } from "../domain/signal.js";
import { holdLease, tryLease } from "./heldLease.js";

/**
 * One run per vault at a time, across instances: a blob lease on locks/{vault}.lock, held for the
 * length of the run and renewed three times per lease period. A lease taken away (409/412) or not
 * renewed for a whole period means another run may own the vault now: onLost is called.
 */
export class VaultLeases {
  /** leaseSeconds: 15-60, Azure's range for a finite lease; renewed every renewMs (a third of it by default). */
  constructor(
    private readonly client: ContainerClient,
    private readonly leaseSeconds = 60,
    private readonly renewMs = (leaseSeconds * 1000) / 3,
  ) {}

  private get label(): StorageTarget {
    return { kind: "container", name: this.client.containerName };
  }

  async acquire(
    vault: string,
    onLost: (reason?: unknown) => void,
    signal?: SignalLike,
  ): Promise<{ release(): Promise<void> }> {
    const blob = this.client.getBlockBlobClient(`locks/${vault}.lock`);
    const timing = { leaseSeconds: this.leaseSeconds, renewMs: this.renewMs, label: this.label };
    const lease = await tryLease(blob, timing, signal);
    if (!lease)
      throw new KvBackupError(
        "AlreadyRunning",
        `a backup of vault '${vault}' is already running (its lease is held), or one stopped less than ${this.leaseSeconds} s ago and its lease has not expired yet; try again when it ends (a queued job is delivered again by the host by itself)`,
        { retryable: true },
      );
    return holdLease(lease, timing, onLost);
  }
}
