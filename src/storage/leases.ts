import type { ContainerClient } from "@azure/storage-blob";
import { KvBackupError } from "../domain/errors.js";
import type { SignalLike } from "../domain/signal.js";
import { LockBlobs } from "./heldLease.js";

/**
 * One run per vault at a time, across instances: a blob lease on locks/{vault}.lock, held for the
 * length of the run and renewed three times per lease period. A lease taken away (409/412) or not
 * renewed for a whole period means another run may own the vault now: onLost is called.
 */
export class VaultLeases {
  private readonly locks: LockBlobs;

  /** leaseSeconds: 15-60, Azure's range for a finite lease; renewed every renewMs (a third of it by default). */
  constructor(client: ContainerClient, leaseSeconds?: number, renewMs?: number) {
    this.locks = new LockBlobs(client, leaseSeconds, renewMs);
  }

  async acquire(
    vault: string,
    onLost: (reason?: unknown) => void,
    signal?: SignalLike,
  ): Promise<{ release(): Promise<void> }> {
    const held = await this.locks.take(`locks/${vault}.lock`, onLost, signal);
    if (!held)
      throw new KvBackupError(
        "AlreadyRunning",
        `a backup of vault '${vault}' is already running (its lease is held), or one stopped less than ${this.locks.leaseSeconds} s ago and its lease has not expired yet; try again when it ends (a queued job is delivered again by the host by itself)`,
        { retryable: true },
      );
    return held;
  }
}
