import { randomUUID } from "node:crypto";
import type { NewVersion } from "./vault.js";

/*
 * Key Vault's "new version" events as Event Grid writes them to a storage queue (issue 23
 * groundwork): the Event Grid schema of learn.microsoft.com/azure/event-grid/event-schema-key-vault,
 * one event per message, Base64 of its JSON (what Event Grid writes today). Delivery is at least
 * once and in no promised order: the faults below make it so, each at exactly its rate.
 */

export interface DeliveryFaults {
  /** Each event reaches the queue this long after its version was created. */
  delayMs: number;
  /** Every n-th event is delivered twice (0: never). */
  duplicateEvery: number;
  /** Every n-th event is never delivered (0: never). */
  dropEvery: number;
  /** Every n-th event is delivered after the one that follows it (0: never). */
  swapEvery: number;
  /** The event subscription's maxDeliveryAttempts (Event Grid: 1-30, default 30). */
  maxAttempts?: number;
  /** Between attempts (Event Grid waits 10 s, 30 s, 1 min…; compressed here). */
  retryMs?: number;
}

export const NoFaults: DeliveryFaults = { delayMs: 0, duplicateEvery: 0, dropEvery: 0, swapEvery: 0 };

/**
 * Where Event Grid delivers: the queue, and the dead-letter container when the subscription has
 * one. Each answers with the HTTP status Storage gave (0: no answer at all).
 */
export interface DeliveryTarget {
  send(message: string): Promise<number>;
  deadLetter?(blob: string, body: string): Promise<number>;
}

/**
 * Errors Event Grid does not retry for an Azure-resource endpoint (learn.microsoft.com/azure/
 * event-grid/delivery-and-retry, en-us: 400, 413, 403; some copies of the page leave 403 out):
 * dead-lettered at once.
 */
const NotRetried = new Set([400, 403, 413]);

const ObjectTypes = { secrets: "Secret", keys: "Key", certificates: "Certificate" } as const;

/** The event Event Grid writes for a new version. */
export function newVersionEvent(v: NewVersion, at = new Date()): Record<string, unknown> {
  const type = ObjectTypes[v.kind];
  const { subscriptionId, resourceGroup } = v.vault.config;
  return {
    id: randomUUID(),
    topic: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.KeyVault/vaults/${v.vault.name}`,
    subject: v.name,
    eventType: `Microsoft.KeyVault.${type}NewVersionCreated`,
    eventTime: at.toISOString(),
    data: {
      Id: `${v.vault.baseUrl}/${v.kind}/${v.name}/${v.version}`,
      VaultName: v.vault.name,
      ObjectType: type,
      ObjectName: v.name,
      Version: v.version,
      NBF: null,
      EXP: null,
    },
    dataVersion: "1",
    metadataVersion: "1",
  };
}

/**
 * Sends each event as a queue message, with the delivery's faults, as Event Grid does: a refused
 * attempt is tried again (up to maxAttempts, 400 and 413 not at all), then dead-lettered — a JSON
 * array of the event with deadLetterReason, deliveryAttempts, lastDeliveryOutcome,
 * lastHttpStatusCode, publishTime, lastDeliveryAttemptTime, in {SUBSCRIPTION}/{y}/{m}/{d}/{h}/{guid}.json
 * — and lost when there is no dead-letter destination or it refuses too. Counts what it did.
 */
export class EventPublisher {
  readonly counts = {
    published: 0,
    sent: 0,
    dropped: 0,
    duplicated: 0,
    swapped: 0,
    /** Attempts the queue refused (or did not answer). */
    refused: 0,
    deadLettered: 0,
    /** Neither delivered nor dead-lettered. */
    lost: 0,
  };
  private held: Record<string, unknown> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The last status each refusal had, for the tests to see why. */
  readonly refusals: number[] = [];

  constructor(
    private readonly target: DeliveryTarget,
    readonly faults: DeliveryFaults = NoFaults,
    /** The event subscription's name: dead letters are filed under it, upper case. */
    private readonly subscription = "kvbackup-events",
  ) {}

  publish(v: NewVersion): void {
    const n = ++this.counts.published;
    const event = newVersionEvent(v);
    const f = this.faults;
    if (f.dropEvery > 0 && n % f.dropEvery === 0) {
      this.counts.dropped++;
      return;
    }
    const copies = f.duplicateEvery > 0 && n % f.duplicateEvery === 0 ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    if (f.swapEvery > 0 && n % f.swapEvery === 0 && this.held === undefined) {
      // Held for the next event; a duplicated one goes once now, once after it.
      this.held = event;
      this.counts.swapped++;
      if (copies === 2) this.deliver(event);
      return;
    }
    for (let i = 0; i < copies; i++) this.deliver(event);
    this.release();
  }

  /** Resolves once every event published so far is delivered, dead-lettered or lost (one still held is let go). */
  async settled(): Promise<void> {
    this.release();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private release(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) this.deliver(held);
  }

  private async attempt(send: () => Promise<number>): Promise<number> {
    try {
      return await send();
    } catch {
      return 0;
    }
  }

  private async deliverOnce(event: Record<string, unknown>): Promise<void> {
    const published = new Date();
    await new Promise<void>((resolve) => setTimeout(resolve, this.faults.delayMs));
    const message = Buffer.from(JSON.stringify(event)).toString("base64");
    const max = Math.max(1, this.faults.maxAttempts ?? 30);
    let attempts = 0;
    let status = 0;
    for (;;) {
      attempts++;
      status = await this.attempt(() => this.target.send(message));
      if (status >= 200 && status < 300) {
        this.counts.sent++;
        return;
      }
      this.counts.refused++;
      this.refusals.push(status);
      if (NotRetried.has(status) || attempts >= max) break;
      await new Promise<void>((resolve) => setTimeout(resolve, this.faults.retryMs ?? 10));
    }
    const deadLetter = this.target.deadLetter;
    if (!deadLetter) {
      this.counts.lost++;
      return;
    }
    const at = new Date();
    const body = JSON.stringify([
      {
        ...event,
        deadLetterReason: NotRetried.has(status) ? "DeliveryFailed" : "MaxDeliveryAttemptsExceeded",
        deliveryAttempts: attempts,
        lastDeliveryOutcome: status === 0 ? "TimedOut" : status === 403 ? "Forbidden" : `HttpStatus${status}`,
        lastHttpStatusCode: status,
        publishTime: published.toISOString(),
        lastDeliveryAttemptTime: at.toISOString(),
      },
    ]);
    const blob = `${this.subscription.toUpperCase()}/${at.getUTCFullYear()}/${at.getUTCMonth() + 1}/${at.getUTCDate()}/${at.getUTCHours()}/${randomUUID()}.json`;
    const written = await this.attempt(() => deadLetter(blob, body));
    if (written >= 200 && written < 300) this.counts.deadLettered++;
    else this.counts.lost++;
  }

  private deliver(event: Record<string, unknown>): void {
    const done = this.deliverOnce(event);
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}
