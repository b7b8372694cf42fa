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
}

export const NoFaults: DeliveryFaults = { delayMs: 0, duplicateEvery: 0, dropEvery: 0, swapEvery: 0 };

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

/** Sends each event as a queue message, with the delivery's faults; counts what it did. */
export class EventPublisher {
  readonly counts = { published: 0, sent: 0, dropped: 0, duplicated: 0, swapped: 0 };
  private held: string | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly send: (message: string) => Promise<unknown>,
    readonly faults: DeliveryFaults = NoFaults,
  ) {}

  publish(v: NewVersion): void {
    const n = ++this.counts.published;
    const message = Buffer.from(JSON.stringify(newVersionEvent(v))).toString("base64");
    const f = this.faults;
    if (f.dropEvery > 0 && n % f.dropEvery === 0) {
      this.counts.dropped++;
      return;
    }
    const copies = f.duplicateEvery > 0 && n % f.duplicateEvery === 0 ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    if (f.swapEvery > 0 && n % f.swapEvery === 0 && this.held === undefined) {
      // Held for the next event; a duplicated one goes once now, once after it.
      this.held = message;
      this.counts.swapped++;
      if (copies === 2) this.deliver(message);
      return;
    }
    for (let i = 0; i < copies; i++) this.deliver(message);
    this.release();
  }

  /** Resolves once every event published so far is on the queue (one still held is let go); a send that failed is thrown here. */
  async settled(): Promise<void> {
    this.release();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    const failed = this.failures.shift();
    if (failed !== undefined) throw failed;
  }

  private readonly failures: unknown[] = [];

  private release(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) this.deliver(held);
  }

  private deliver(message: string): void {
    const sent = new Promise<void>((resolve) => setTimeout(resolve, this.faults.delayMs))
      .then(() => this.send(message))
      .then(
        () => {
          this.counts.sent++;
        },
        (e: unknown) => {
          this.failures.push(e);
        },
      );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }
}
