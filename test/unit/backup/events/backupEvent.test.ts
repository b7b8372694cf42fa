import { describe, expect, it } from "vitest";
import { backupEvent, eventBlobFacts, eventFolder } from "../../../../src/backup/events/backupEvent.js";
import { VaultLimiter } from "../../../../src/backup/limiter.js";
import { seed, world } from "../../fakes/deps.js";
import { fakeClock } from "../../fakes/fakeClock.js";
import { kvError } from "../../fakes/memoryVault.js";
import { secretEvent } from "./eventsWorld.js";

const event = secretEvent;

const blobsOf = (w: ReturnType<typeof world>, name = "alpha") =>
  [...w.storage.blobs.keys()].filter((b) => b.startsWith(eventFolder("demo-vault", "secrets", name)));

describe("one event's object backed up on its own (issue 23 groundwork)", () => {
  it("backs up the object once; its redelivery, and an older version's event after it, write nothing", async () => {
    const w = world();
    seed(w.vault());
    const first = await backupEvent(w.deps, event());
    expect(first).toMatchObject({
      outcome: "backed-up",
      vault: "demo-vault",
      kind: "secrets",
      name: "alpha",
    });
    expect(blobsOf(w)).toEqual([first.blob]);
    expect(eventBlobFacts(first.blob as string)).toMatchObject({ version: "v2" });
    // The same event again (at-least-once delivery).
    expect(await backupEvent(w.deps, event())).toMatchObject({ outcome: "duplicate", blob: first.blob });
    // An older version's event, delivered late: the backup taken after it holds that version too.
    expect(await backupEvent(w.deps, event({ version: "v1", at: "2026-11-26T01:00:00.000Z" }))).toMatchObject(
      {
        outcome: "duplicate",
        blob: first.blob,
      },
    );
    expect(w.vault().calls.backup).toBe(1);
    // A newer version's event: backed up again, a blob of its own.
    const later = await backupEvent(w.deps, event({ version: "v3", at: "2026-11-26T03:00:00.000Z" }));
    expect(later.outcome).toBe("backed-up");
    expect(blobsOf(w)).toHaveLength(2);
  });

  it("the blob restores the object, as a run's blob does", async () => {
    const w = world();
    seed(w.vault());
    const r = await backupEvent(w.deps, event());
    const bytes = await w.deps.blobs.read(r.blob as string);
    const target = w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() }));
    await target.restore("secrets", bytes);
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(w.vault().valueOf("secrets", "alpha"));
  });

  it("what it does not protect, and what is gone, is said and not retried", async () => {
    const w = world({ kinds: ["secrets", "certificates"] });
    seed(w.vault());
    expect(await backupEvent(w.deps, event({ vault: "elsewhere-kv" }))).toMatchObject({
      outcome: "not-protected",
      reason: "its vault is not in the fleet",
    });
    expect(await backupEvent(w.deps, event({ kind: "keys", name: "signing" }))).toMatchObject({
      outcome: "not-protected",
      reason: "BACKUP_KINDS does not include keys",
    });
    // A certificate's own secret: its certificate's backup holds it.
    expect(await backupEvent(w.deps, event({ name: "www" }))).toMatchObject({
      outcome: "not-protected",
      diagnosis: { code: "ManagedByCertificate" },
    });
    w.vault().remove("secrets", "bravo");
    expect(await backupEvent(w.deps, event({ name: "bravo" }))).toMatchObject({
      outcome: "gone",
      diagnosis: { code: "ObjectNotFound" },
    });
    expect([...w.storage.blobs.keys()].filter((b) => b.startsWith("events/"))).toEqual([]);
  });

  it("a vault that throttles or fails throws, so the queue delivers the event again; nothing is written", async () => {
    const w = world();
    seed(w.vault()).fault = (op) => (op === "backup" ? kvError(500, "InternalServerError") : undefined);
    await expect(backupEvent(w.deps, event())).rejects.toMatchObject({ failure: { status: 500 } });
    expect(blobsOf(w)).toEqual([]);
  });

  it("a vault discovery found is protected too", async () => {
    const w = world({ subscriptions: ["00000000-0000-0000-0000-00000000000a"] });
    w.directory.add("00000000-0000-0000-0000-00000000000a", "team-a-kv");
    w.vault("team-a-kv").put("secrets", "db-password");
    const r = await backupEvent(w.deps, event({ vault: "team-a-kv", name: "db-password" }));
    expect(r).toMatchObject({ outcome: "backed-up" });
    expect(r.blob).toMatch(/^events\/team-a-kv\/secrets\/db-password\/\d{8}T\d{9}Z-\d{8}T\d{9}Z-v2\.kvbak$/);
  });
});
