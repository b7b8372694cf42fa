import type { QueueClient } from "@azure/storage-queue";
import { storageCall } from "./storageError.js";

/**
 * A storage queue the Functions host reads: messages are base64 JSON, the queue trigger's default
 * encoding.
 */
export class JobQueue<T> {
  private ready = false;

  constructor(private readonly queue: QueueClient) {}

  get name(): string {
    return this.queue.name;
  }

  async send(job: T): Promise<void> {
    if (!this.ready) {
      await storageCall(() => this.queue.createIfNotExists());
      this.ready = true;
    }
    await storageCall(() => this.queue.sendMessage(Buffer.from(JSON.stringify(job)).toString("base64")));
  }

  /** Receives and deletes up to `max` messages (the local demo drains the queue this way, like the host would). */
  async take(max = 32): Promise<T[]> {
    const out: T[] = [];
    await storageCall(async () => {
      await this.queue.createIfNotExists();
      const { receivedMessageItems } = await this.queue.receiveMessages({
        numberOfMessages: Math.min(32, max),
      });
      for (const m of receivedMessageItems) {
        out.push(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")) as T);
        await this.queue.deleteMessage(m.messageId, m.popReceipt);
      }
    });
    return out;
  }
}
