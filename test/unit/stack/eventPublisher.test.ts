import { describe, expect, it } from "vitest";
import { EventPublisher } from "../../stack/keyvault/events.js";
import type { NewVersion } from "../../stack/keyvault/vault.js";

const vault = {
  name: "demo-vault",
  baseUrl: "https://127.0.0.1:8443",
  config: { subscriptionId: "00000000-0000-0000-0000-000000000000", resourceGroup: "kvbackup-local" },
} as unknown as NewVersion["vault"];
const version = (n: number): NewVersion => ({ vault, kind: "secrets", name: `s${n}`, version: `v${n}` });

describe("the emulator's event delivery faults (adversary on issue 23)", () => {
  it("an event both duplicated and held back is still sent twice: the counts say what the queue got", async () => {
    const sent: string[] = [];
    const p = new EventPublisher(
      {
        send: async (m) => {
          sent.push(m);
          return 201;
        },
      },
      {
        delayMs: 0,
        duplicateEvery: 2,
        dropEvery: 0,
        swapEvery: 2,
      },
    );
    for (let n = 1; n <= 4; n++) p.publish(version(n));
    await p.settled();
    expect(p.counts).toMatchObject({ published: 4, duplicated: 2, swapped: 2, sent: 6 });
    expect(sent).toHaveLength(6);
  });

  it("a failed delivery is retried, then dead-lettered as Event Grid writes it; 403 and 400 are not retried; no destination loses it", async () => {
    const letters = new Map<string, string>();
    let answer = 503;
    const p = new EventPublisher(
      {
        send: async () => answer,
        deadLetter: async (blob, body) => {
          letters.set(blob, body);
          return 201;
        },
      },
      { delayMs: 0, duplicateEvery: 0, dropEvery: 0, swapEvery: 0, maxAttempts: 3, retryMs: 1 },
    );
    p.publish(version(1));
    await p.settled();
    expect(p.counts).toMatchObject({ published: 1, sent: 0, refused: 3, deadLettered: 1, lost: 0 });
    const [blob, body] = [...letters][0] ?? [];
    expect(blob).toMatch(/^KVBACKUP-EVENTS\/\d{4}\/\d{1,2}\/\d{1,2}\/\d{1,2}\/[0-9a-f-]{36}\.json$/);
    expect(JSON.parse(body as string)).toEqual([
      expect.objectContaining({
        eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
        deadLetterReason: "MaxDeliveryAttemptsExceeded",
        deliveryAttempts: 3,
        lastHttpStatusCode: 503,
      }),
    ]);
    answer = 403;
    p.publish(version(2));
    await p.settled();
    expect(p.counts).toMatchObject({ refused: 4, deadLettered: 2 });
    expect(JSON.parse([...letters.values()][1] as string)[0]).toMatchObject({
      deliveryAttempts: 1,
      lastHttpStatusCode: 403,
      lastDeliveryOutcome: "Forbidden",
    });
    const lost = new EventPublisher(
      {
        send: async () => {
          throw new Error("no answer");
        },
      },
      { ...p.faults, maxAttempts: 2 },
    );
    lost.publish(version(3));
    await lost.settled();
    expect(lost.counts).toMatchObject({ refused: 2, deadLettered: 0, lost: 1 });
    expect(lost.refusals).toEqual([0, 0]);
  });
});
