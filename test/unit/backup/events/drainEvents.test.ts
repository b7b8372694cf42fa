import { InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { drainEvents } from "../../../../src/backup/events/drainEvents.js";
import { checkHealth } from "../../../../src/backup/health.js";
import { main } from "../../../../src/cli/main.js";
import { eventWorker } from "../../../../src/functions/workers.js";
import { loadConfig } from "../../../../src/loadConfig.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { kvError } from "../../fakes/memoryVault.js";

/** A message as Event Grid queues it: Base64 of the event's JSON. */
const message = (name: string, version: string, type = "Microsoft.KeyVault.SecretNewVersionCreated") =>
  Buffer.from(
    JSON.stringify({
      id: `e-${name}-${version}`,
      topic: "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/demo-vault",
      subject: name,
      eventType: type,
      eventTime: "2026-11-26T01:00:00Z",
      data: { Id: `https://demo-vault.vault.azure.net/secrets/${name}/${version}`, VaultName: "demo-vault" },
      dataVersion: "1",
      metadataVersion: "1",
    }),
  ).toString("base64");

const eventsWorld = () => {
  const w = world({ eventsQueue: "keyvault-events" });
  seed(w.vault());
  return w;
};

describe("continuous protection's queue (issue 23, preview)", () => {
  it("events --drain backs up each event's object once, skips what is not work, leaves a failure on the queue", async () => {
    const w = eventsWorld();
    for (const m of [
      message("alpha", "v1"),
      message("alpha", "v1"), // delivered twice
      message("bravo", "v1", "Microsoft.KeyVault.SecretNearExpiry"),
      message("charlie", "v1"),
      "not an event",
    ])
      w.storage.deliver(m);
    const r = await drainEvents(w.deps);
    expect(r).toMatchObject({ processed: 5, backedUp: 2, duplicates: 1, skipped: 1, failed: 1 });
    expect(r.failures).toEqual([expect.objectContaining({ code: "BadRequest" })]);
    // Done with: removed; the bad message stays, for the host to poison.
    expect(w.storage.eventMessages.map((m) => m.text)).toEqual(["not an event"]);
    expect([...w.storage.blobs.keys()].filter((b) => b.startsWith("events/"))).toHaveLength(2);
  });

  it("a vault that fails: the event stays on the queue, counted failed, never a lost event", async () => {
    const w = eventsWorld();
    w.vault().fault = (op) => (op === "backup" ? kvError(503, "ServiceUnavailable") : undefined);
    w.storage.deliver(message("alpha", "v1"));
    const r = await drainEvents(w.deps);
    expect(r).toMatchObject({ processed: 1, failed: 1, backedUp: 0 });
    expect(w.storage.eventMessages).toHaveLength(1);
  });

  it("the function: an event backed up, another type logged as not work, a message that is not an event thrown (retried, then poisoned)", async () => {
    const w = eventsWorld();
    const logs: string[] = [];
    const ctx = () =>
      new InvocationContext({
        functionName: "eventWorker",
        logHandler: (_level, ...args) => void logs.push(args.join(" ")),
      });
    // The host hands over the decoded message: JSON text, or already parsed.
    await eventWorker(w.deps)(Buffer.from(message("alpha", "v1"), "base64").toString("utf8"), ctx());
    await eventWorker(w.deps)(
      JSON.parse(
        Buffer.from(message("bravo", "v1", "Microsoft.KeyVault.SecretExpired"), "base64").toString("utf8"),
      ),
      ctx(),
    );
    await expect(eventWorker(w.deps)({ hello: "world" }, ctx())).rejects.toMatchObject({
      code: "BadRequest",
    });
    expect(logs.join("\n")).toMatch(/event backed-up: demo-vault secrets\/alpha version v1/);
    expect(logs.join("\n")).toMatch(/event ignored: Microsoft\.KeyVault\.SecretExpired/);
  });

  it("kvbackup events --drain --json prints the scripts' document; without BACKUP_EVENTS_QUEUE it says continuous protection is off", async () => {
    const w = eventsWorld();
    w.storage.deliver(message("alpha", "v1"));
    const { io, stdout } = captureIo();
    expect(await main(["events", "--drain", "--json"], {}, io, () => w.deps)).toBe(0);
    expect(JSON.parse(stdout())).toMatchObject({ processed: 1, backedUp: 1, duplicates: 0, failed: 0 });
    const off = world();
    const o = captureIo();
    expect(await main(["events", "--drain"], {}, o.io, () => off.deps)).toBe(2);
    expect(o.stderr()).toContain("BACKUP_EVENTS_QUEUE is not set");
    expect(await main(["events"], {}, captureIo().io, () => w.deps)).toBe(2);
  });

  it("BACKUP_EVENTS_QUEUE must be a queue name of its own", () => {
    const env = { BACKUP_VAULTS: "demo-vault", BACKUP_STORAGE: "UseDevelopmentStorage=true" };
    expect(loadConfig({ ...env, BACKUP_EVENTS_QUEUE: "keyvault-events" }, "function").eventsQueue).toBe(
      "keyvault-events",
    );
    for (const bad of ["Events", "ab", "a--b", "backup-jobs", "restore-jobs-poison"])
      expect(() => loadConfig({ ...env, BACKUP_EVENTS_QUEUE: bad }, "function")).toThrow(
        /BACKUP_EVENTS_QUEUE/,
      );
  });
  it("doctor and /api/health check the events queue only when it is set, and fail when it cannot be read", async () => {
    expect((await checkHealth(world().deps)).storage.checks.events).toBeUndefined();
    const w = eventsWorld();
    expect((await checkHealth(w.deps)).storage.checks.events).toMatchObject({ ok: true });
    w.storage.fault = (op, path) =>
      op === "queueProbe" && path === "keyvault-events" ? storageError(404, "QueueNotFound") : undefined;
    const h = await checkHealth(w.deps);
    expect(h.storage.checks.events).toMatchObject({ ok: false });
    expect(h.storage.ok).toBe(false);
  });
});
