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
    const p = new EventPublisher(async (m) => sent.push(m), {
      delayMs: 0,
      duplicateEvery: 2,
      dropEvery: 0,
      swapEvery: 2,
    });
    for (let n = 1; n <= 4; n++) p.publish(version(n));
    await p.settled();
    expect(p.counts).toMatchObject({ published: 4, duplicated: 2, swapped: 2, sent: 6 });
    expect(sent).toHaveLength(6);
  });

  it("a send that fails is said when the publisher settles, never an unhandled rejection", async () => {
    const p = new EventPublisher(async () => {
      throw new Error("queue refused");
    });
    p.publish(version(1));
    await expect(p.settled()).rejects.toThrow("queue refused");
  });
});
