import { describe, expect, it } from "vitest";
import { backupEvent } from "../../../../src/backup/events/backupEvent.js";
import { drainEvents } from "../../../../src/backup/events/drainEvents.js";
import { eventsLockScope, withEventHold } from "../../../../src/backup/events/eventHold.js";
import { budgetOf } from "../../../../src/backup/subscriptionBudget.js";
import { seed, world } from "../../fakes/deps.js";
import { secretEvent } from "./eventsWorld.js";

/*
 * Issue 23: event bursts stay inside the budgets across instances — one instance at a time backs
 * up a vault's events (its events lock), holding a slot of the subscription's budget; an event that
 * cannot have them waits on the queue (deferred), never a failure.
 */

type W = ReturnType<typeof world>;

/** Another instance of the app: its own process state (its own deps object), the same storage and vaults. */
const otherInstance = (w: W) => ({ ...w.deps });

/** A world whose events keep their hold until the test lets it go (linger), or let it go at once. */
const holdWorld = (lingerMs: number) => {
  const w = world({ eventsQueue: "keyvault-events" }, { eventHoldLingerMs: lingerMs, eventDeferSeconds: 30 });
  seed(w.vault());
  return w;
};

describe("events inside the budgets, across instances", () => {
  it("one instance at a time backs up a vault's events: another one's event is deferred, with no Key Vault call", async () => {
    const w = holdWorld(60_000);
    const a = await backupEvent(w.deps, secretEvent({ version: "v1" }));
    expect(a.outcome).toBe("backed-up");
    // This instance still holds demo-vault's events lock (lingering): another instance must wait.
    const other = otherInstance(w);
    const before = w.vault().calls.backup;
    const b = await backupEvent(other, secretEvent({ name: "bravo", version: "v1" }));
    expect(b).toMatchObject({ outcome: "deferred", reason: expect.stringMatching(/another instance/) });
    expect(w.vault().calls.backup).toBe(before);
    // The holder's own next events reuse its hold.
    expect((await backupEvent(w.deps, secretEvent({ name: "charlie", version: "v1" }))).outcome).toBe(
      "backed-up",
    );
    // A duplicate needs no hold (no Key Vault call).
    expect((await backupEvent(other, secretEvent({ version: "v1" }))).outcome).toBe("duplicate");
  });

  it("the hold is let go after the last event (linger 0: at once), and then the other instance takes it", async () => {
    const w = holdWorld(0);
    expect((await backupEvent(w.deps, secretEvent({ version: "v1" }))).outcome).toBe("backed-up");
    expect(w.storage.slots.get(eventsLockScope("demo-vault"))?.size ?? 0).toBe(0);
    expect((await backupEvent(otherInstance(w), secretEvent({ name: "bravo", version: "v1" }))).outcome).toBe(
      "backed-up",
    );
  });

  it("runs holding every slot of the subscription's budget defer events; a slot free again lets them through", async () => {
    const w = holdWorld(0);
    const vault = w.deps.config.vaults[0] as NonNullable<(typeof w.deps.config.vaults)[0]>;
    const { scope, slots } = budgetOf(w.deps, vault);
    const held = [];
    for (let i = 0; i < slots; i++)
      held.push(await w.deps.budgetSlots.tryAcquire(scope, slots, () => undefined));
    expect((await backupEvent(w.deps, secretEvent({ version: "v1" }))).outcome).toBe("deferred");
    // The events lock taken for nothing is let go again.
    expect(w.storage.slots.get(eventsLockScope("demo-vault"))?.size ?? 0).toBe(0);
    await held[0]?.release();
    expect((await backupEvent(w.deps, secretEvent({ version: "v1" }))).outcome).toBe("backed-up");
  });

  it("many events of a vault at once in one instance share its hold: all backed up, none deferred", async () => {
    const w = holdWorld(0);
    const names = ["alpha", "bravo", "charlie", "delta", "echo", "retired"];
    const results = await Promise.all(
      names.map((name) => backupEvent(w.deps, secretEvent({ name, version: "v1" }))),
    );
    expect(results.map((r) => [r.name, r.outcome, r.reason ?? ""])).toEqual(
      names.map((n) => [n, "backed-up", ""]),
    );
  });

  it("events --drain puts a deferred event back on the queue for later and removes the one it took: counted deferred, not failed", async () => {
    const w = holdWorld(60_000);
    await backupEvent(otherInstance(w), secretEvent({ name: "delta", version: "v1" })); // another instance holds demo-vault
    const message = Buffer.from(
      JSON.stringify({
        id: "e-1",
        eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
        eventTime: "2026-11-26T01:00:00Z",
        data: { Id: "https://demo-vault.vault.azure.net/secrets/alpha/v1", VaultName: "demo-vault" },
      }),
    ).toString("base64");
    w.storage.eventMessages.push({
      id: "m1",
      popReceipt: "p-m1",
      text: message,
      dequeueCount: 0,
      hidden: false,
    });
    const r = await drainEvents(w.deps);
    expect(r).toMatchObject({ processed: 1, deferred: 1, failed: 0, backedUp: 0 });
    // The original is gone; the same text waits on the queue, hidden (for eventDeferSeconds).
    expect(w.storage.eventMessages.map((m) => [m.text, m.hidden])).toEqual([[message, true]]);
  });

  it("a process holds one slot of a subscription's budget for all its vaults' events, and a lock per vault", async () => {
    const vaults = ["demo-vault", "team-a-kv", "team-b-kv"].map((name) => ({
      name,
      url: `https://${name}.vault.azure.net`,
    }));
    const w = world({ eventsQueue: "keyvault-events", vaults }, { eventHoldLingerMs: 60_000 });
    for (const v of vaults) seed(w.vault(v.name));
    const results = await Promise.all(
      vaults.map((v) => backupEvent(w.deps, secretEvent({ vault: v.name, version: "v1" }))),
    );
    expect(results.map((r) => r.outcome)).toEqual(["backed-up", "backed-up", "backed-up"]);
    const { scope } = budgetOf(w.deps, vaults[0] as (typeof vaults)[0]);
    expect(w.storage.slots.get(scope)?.size).toBe(1);
    for (const v of vaults) expect(w.storage.slots.get(eventsLockScope(v.name))?.size).toBe(1);
  });

  it("an instance whose events of a vault are deferred takes no budget slot (adversary: they shut runs out)", async () => {
    const w = holdWorld(60_000);
    await backupEvent(w.deps, secretEvent({ version: "v1" })); // this instance holds demo-vault
    const vault = w.deps.config.vaults[0] as NonNullable<(typeof w.deps.config.vaults)[0]>;
    const { scope, slots } = budgetOf(w.deps, vault);
    for (let i = 0; i < slots + 2; i++)
      expect(
        (await backupEvent(otherInstance(w), secretEvent({ name: "bravo", version: `v${i + 2}` }))).outcome,
      ).toBe("deferred");
    expect(w.storage.slots.get(scope)?.size).toBe(1);
    // A run still gets a slot.
    expect(await w.deps.budgetSlots.tryAcquire(scope, slots, () => undefined)).toBeDefined();
  });

  it("linger 0: an event that finds the hold as the last one lets it go runs under a hold of its own (adversary: it ran with none)", async () => {
    const w = holdWorld(0);
    const vault = w.deps.config.vaults[0] as NonNullable<(typeof w.deps.config.vaults)[0]>;
    const { scope } = budgetOf(w.deps, vault);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const a = withEventHold(w.deps, w.deps, vault, async () => {
      await gate;
    });
    for (let i = 0; i < 20; i++) await Promise.resolve();
    open();
    await Promise.resolve();
    let during = { slot: -1, lock: -1 };
    const b = withEventHold(w.deps, w.deps, vault, async () => {
      during = {
        slot: w.storage.slots.get(scope)?.size ?? 0,
        lock: w.storage.slots.get(eventsLockScope("demo-vault"))?.size ?? 0,
      };
    });
    await Promise.all([a, b]);
    expect(during).toEqual({ slot: 1, lock: 1 });
  });
});
