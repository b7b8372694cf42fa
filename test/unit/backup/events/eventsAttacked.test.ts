import { describe, expect, it } from "vitest";
import { backupEvent, eventBlobFacts } from "../../../../src/backup/events/backupEvent.js";
import { drainEvents } from "../../../../src/backup/events/drainEvents.js";
import { diagnoseStorage } from "../../../../src/diagnosis/storage.js";
import type { VaultEvent } from "../../../../src/domain/vaultEvent.js";
import { seed, world } from "../../fakes/deps.js";
import { armError } from "../../fakes/memoryDirectory.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { secretEvent } from "./eventsWorld.js";

const Sub = "00000000-0000-0000-0000-00000000000a";
const event = secretEvent;
const message = (e: VaultEvent) =>
  Buffer.from(
    JSON.stringify({
      id: e.eventId,
      eventType: e.eventType,
      eventTime: e.at,
      data: { Id: `https://${e.vault}.vault.azure.net/${e.kind}/${e.name}/${e.version}`, VaultName: e.vault },
    }),
  ).toString("base64");

describe("continuous protection's queue, attacked (adversary on issue 23)", () => {
  it("an event of a discovered vault while discovery cannot read its subscription stays on the queue; a vault tagged since the fleet was read is backed up", async () => {
    const w = world({ eventsQueue: "keyvault-events", subscriptions: [Sub] });
    w.directory.add(Sub, "team-a-kv");
    w.vault("team-a-kv").put("secrets", "db");
    w.directory.fault = () => armError(503, "ServiceUnavailable");
    w.storage.deliver(message(event({ vault: "team-a-kv", name: "db" })));
    const r = await drainEvents(w.deps);
    expect(r).toMatchObject({ processed: 1, failed: 1, skipped: 0 });
    expect(w.storage.eventMessages).toHaveLength(1);
    w.directory.fault = () => undefined;
    // A minute on (the fleet is read again at most once a minute for a vault it does not know):
    // delivered again, the event is backed up.
    const now = w.deps.now;
    let ahead = 61_000;
    w.deps.now = () => new Date(now().getTime() + ahead);
    expect((await backupEvent(w.deps, event({ vault: "team-a-kv", name: "db" }))).outcome).toBe("backed-up");
    // A vault made since the fleet was read: found once the read is a minute old.
    w.directory.add(Sub, "team-c-kv");
    w.vault("team-c-kv").put("secrets", "new");
    ahead += 61_000;
    expect(
      (await backupEvent(w.deps, event({ vault: "team-c-kv", name: "new", version: "v9" }))).outcome,
    ).toBe("backed-up");
  });

  it("a backup taken moments after an event (clocks may differ) does not count as holding its version", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    seed(w.vault());
    const first = await backupEvent(w.deps, event({ version: "v1", at: w.deps.now().toISOString() }));
    expect(first.outcome).toBe("backed-up");
    // Key Vault's clock half a second behind ours: the new version's event looks older than the backup.
    const takenAt = Date.parse(eventBlobFacts(first.blob as string)?.startedAt ?? "");
    const late = await backupEvent(
      w.deps,
      event({ version: "v2", at: new Date(takenAt - 500).toISOString() }),
    );
    expect(late.outcome).toBe("backed-up");
  });

  it("a message whose remove is refused is counted once, failed, and its blob is there for the next drain", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    seed(w.vault());
    w.storage.deliver(message(event()));
    w.storage.fault = (op) => (op === "remove" ? storageError(500, "InternalError") : undefined);
    const r = await drainEvents(w.deps);
    expect(r).toMatchObject({ processed: 1, backedUp: 0, failed: 1, left: 1 });
    expect(r.processed).toBe(r.backedUp + r.duplicates + r.skipped + r.failed);
  });

  it("events of one vault share its pace, discovered or not", async () => {
    const w = world({ eventsQueue: "keyvault-events", subscriptions: [Sub] });
    w.directory.add(Sub, "team-a-kv");
    const paces = new Set<unknown>();
    const make = w.deps.vaults;
    w.deps.vaults = (v, budget, hooks) => {
      paces.add(budget);
      return make(v, budget, hooks);
    };
    for (let i = 0; i < 3; i++) {
      w.vault("team-a-kv").put("secrets", `s${i}`);
      await backupEvent(w.deps, event({ vault: "team-a-kv", name: `s${i}`, version: `v${i}` }));
    }
    expect(paces.size).toBe(1);
  });

  it("a drain that can take nothing while messages wait hidden does not say the backlog is empty", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    seed(w.vault());
    w.storage.deliver("not an event");
    expect(await drainEvents(w.deps)).toMatchObject({ processed: 1, failed: 1, left: 1 });
    // The failed one is hidden now: a second drain takes none, and says one waits.
    expect(await drainEvents(w.deps)).toMatchObject({ processed: 0, failed: 0, left: 1 });
  });

  it("a missing events queue names BACKUP_EVENTS_QUEUE and what to create, not the infra's queues", () => {
    const d = diagnoseStorage(
      {
        service: "storage",
        status: 404,
        code: "QueueNotFound",
        message: "The specified queue does not exist.",
        store: { kind: "queue", name: "keyvault-events" },
      },
      { account: "kvbackupsa" },
    );
    expect(d?.cause).toContain("BACKUP_EVENTS_QUEUE");
    expect(d?.fix).toContain(
      "az storage queue create --auth-mode login --account-name kvbackupsa --name keyvault-events",
    );
  });
});
