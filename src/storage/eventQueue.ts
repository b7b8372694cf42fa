import type { QueueClient } from "@azure/storage-queue";
import type { StorageTarget } from "../domain/azureFailure.js";
import type { SignalLike } from "../domain/signal.js";
import { signalOption, storageCall } from "./storageCall.js";

/** The events queue (BACKUP_EVENTS_QUEUE), read as `kvbackup events --drain` reads it: receive, then remove. */
export class EventQueue {
  constructor(private readonly queue: QueueClient) {}

  private get label(): StorageTarget {
    return { kind: "queue", name: this.queue.name };
  }

  get name(): string {
    return this.queue.name;
  }

  async receive(
    max: number,
    hideSeconds: number,
    signal?: SignalLike,
  ): Promise<{ id: string; popReceipt: string; text: string; dequeueCount: number }[]> {
    const r = await storageCall(
      () =>
        this.queue.receiveMessages({
          numberOfMessages: Math.min(32, Math.max(1, max)),
          visibilityTimeout: hideSeconds,
          ...signalOption(signal),
        }),
      this.label,
    );
    return r.receivedMessageItems.map((m) => ({
      id: m.messageId,
      popReceipt: m.popReceipt,
      text: m.messageText,
      dequeueCount: m.dequeueCount,
    }));
  }

  async remove(message: { id: string; popReceipt: string }, signal?: SignalLike): Promise<void> {
    await storageCall(
      () => this.queue.deleteMessage(message.id, message.popReceipt, signalOption(signal)),
      this.label,
    );
  }

  async sendLater(text: string, delaySeconds: number, signal?: SignalLike): Promise<void> {
    await storageCall(
      () => this.queue.sendMessage(text, { visibilityTimeout: delaySeconds, ...signalOption(signal) }),
      this.label,
    );
  }

  async waiting(signal?: SignalLike): Promise<number> {
    const p = await storageCall(() => this.queue.getProperties(signalOption(signal)), this.label);
    return p.approximateMessagesCount ?? 0;
  }

  async probe(signal?: SignalLike): Promise<void> {
    await storageCall(
      () => this.queue.peekMessages({ numberOfMessages: 1, ...signalOption(signal) }),
      this.label,
    );
  }
}
