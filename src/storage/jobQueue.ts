import type { QueueClient } from "@azure/storage-queue";
import type { StorageTarget } from "../domain/azureFailure.js";
import { QueueProbe } from "../domain/config.js";
import type { SignalLike } from "../domain/signal.js";
import { createIfMissing, signalOption, storageCall } from "./storageCall.js";

/** A storage queue the Functions host reads: messages are base64 JSON, the queue trigger's default encoding. */
export class JobQueue<T> {
  private ready = false;

  constructor(private readonly queue: QueueClient) {}

  private get label(): StorageTarget {
    return { kind: "queue", name: this.queue.name };
  }

  get name(): string {
    return this.queue.name;
  }

  private async ensure(): Promise<void> {
    if (this.ready) return;
    await createIfMissing(() => this.queue.createIfNotExists(), this.label);
    this.ready = true;
  }

  async send(job: T, signal?: SignalLike): Promise<void> {
    await this.ensure();
    await storageCall(
      () => this.queue.sendMessage(Buffer.from(JSON.stringify(job)).toString("base64"), signalOption(signal)),
      this.label,
    );
  }

  /** An invisible message, deleted at once (no worker ever sees it), then a peek: proves send, delete and read. */
  async probe(signal?: SignalLike): Promise<void> {
    this.ready = false;
    await this.ensure();
    // Invisible for all but its last 10 s, encoded as the jobs are, and marked as a probe the
    // workers ignore: one left behind (its delete refused) never becomes work.
    const sent = await storageCall(
      () =>
        this.queue.sendMessage(Buffer.from(JSON.stringify(QueueProbe)).toString("base64"), {
          visibilityTimeout: 590,
          messageTimeToLive: 600,
          ...signalOption(signal),
        }),
      this.label,
    );
    await storageCall(
      () => this.queue.deleteMessage(sent.messageId, sent.popReceipt, signalOption(signal)),
      this.label,
    );
    await storageCall(
      () => this.queue.peekMessages({ numberOfMessages: 1, ...signalOption(signal) }),
      this.label,
    );
  }
}
