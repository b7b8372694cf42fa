import { describe, expect, it } from "vitest";
import { eventFolder } from "../../../../src/backup/events/backupEvent.js";
import { replayDeadLetters } from "../../../../src/backup/events/deadLetters.js";
import { checkHealth } from "../../../../src/backup/health.js";
import { main } from "../../../../src/cli/main.js";
import { parseDeadLetters } from "../../../../src/domain/deadLetter.js";
import { loadConfig } from "../../../../src/loadConfig.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { kvError } from "../../fakes/memoryVault.js";

/*
 * Issue 23: events Event Grid could not deliver (the firewall refused it, the queue was gone, the
 * retries ran out) land in the dead-letter container; doctor and /api/health say so, and
 * `kvbackup events --replay-dead-letters` backs up what they name.
 */

/** One event as Event Grid dead-letters it: the event, and why it was not delivered. */
const letter = (name: string, version: string, over: Record<string, unknown> = {}) => ({
  id: `e-${name}-${version}`,
  topic: "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/demo-vault",
  subject: name,
  eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
  eventTime: "2026-11-26T01:00:00Z",
  data: { Id: `https://demo-vault.vault.azure.net/secrets/${name}/${version}`, VaultName: "demo-vault" },
  dataVersion: "1",
  metadataVersion: "1",
  deadLetterReason: "MaxDeliveryAttemptsExceeded",
  deliveryAttempts: 30,
  lastDeliveryOutcome: "Forbidden",
  lastHttpStatusCode: 403,
  publishTime: "2026-11-26T01:00:01.123Z",
  lastDeliveryAttemptTime: "2026-11-27T01:00:00Z",
  ...over,
});

const blobName = (n: number) => `KVBACKUP-EVENTS/2026/11/26/1/0000000${n}-aaaa-bbbb-cccc-dddddddddddd.json`;

const deadLetterWorld = () => {
  const w = world({ eventsQueue: "keyvault-events", eventsDeadLetters: "keyvault-events-deadletter" });
  seed(w.vault());
  return w;
};

describe("Event Grid's dead letters", () => {
  it("are read as the events they hold and why each was not delivered; anything else is named", () => {
    const parsed = parseDeadLetters(
      JSON.stringify([letter("alpha", "v1"), { eventType: "Microsoft.KeyVault.SecretNewVersionCreated" }]),
    );
    expect(parsed).toMatchObject({
      letters: [
        {
          event: { vault: "demo-vault", kind: "secrets", name: "alpha", version: "v1" },
          reason: "MaxDeliveryAttemptsExceeded",
          attempts: 30,
          lastStatus: 403,
          lastOutcome: "Forbidden",
          publishedAt: "2026-11-26T01:00:01.123Z",
        },
        { problem: expect.stringMatching(/no id/) },
      ],
    });
    expect(parseDeadLetters("{nope")).toEqual({ problem: "not JSON" });
    expect(parseDeadLetters("[]")).toEqual({ problem: "an empty array" });
    expect(parseDeadLetters("[1]")).toEqual({ problem: "an element is not an event object" });
  });

  it("doctor and /api/health fail with EventsDeadLettered naming the count, the vault, the status and its likely cause", async () => {
    const w = deadLetterWorld();
    expect((await checkHealth(w.deps)).deadLetters).toEqual({ ok: true });
    w.storage.deadLetterBlobs.set(blobName(1), JSON.stringify([letter("alpha", "v1")]));
    w.storage.deadLetterBlobs.set(
      blobName(2),
      JSON.stringify([letter("bravo", "v1"), letter("charlie", "v1")]),
    );
    const h = await checkHealth(w.deps);
    expect(h.ok).toBe(false);
    expect(h.storage.ok).toBe(true);
    const d = h.deadLetters?.diagnosis;
    expect(d?.code).toBe("EventsDeadLettered");
    expect(d?.cause).toMatch(
      /3 Key Vault event\(s\) in 2 dead letter\(s\) in container 'keyvault-events-deadletter' from demo-vault/,
    );
    expect(d?.cause).toMatch(/the oldest from 2026-11-26T01:00:01.123Z/);
    expect(d?.cause).toMatch(/last delivery status 403 ×3/);
    expect(d?.cause).toMatch(/trusted Microsoft services/);
    expect(d?.fix).toMatch(/kvbackup events --replay-dead-letters/);
    // The container unreadable is a storage diagnosis, not "no dead letters".
    w.storage.fault = (op) =>
      op === "deadLetters" ? storageError(403, "AuthorizationPermissionMismatch") : undefined;
    const refused = await checkHealth(w.deps);
    expect(refused.deadLetters).toMatchObject({ ok: false, diagnosis: { code: "StorageRbac" } });
    expect(refused.ok).toBe(false);
  });

  it("without the setting there is no check (null), and the CLI says what to set", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    expect((await checkHealth(w.deps)).deadLetters).toBeNull();
    const io = captureIo();
    expect(await main(["events", "--dead-letters"], {}, io.io, () => w.deps)).toBe(2);
    expect(io.stderr()).toMatch(/BACKUP_EVENTS_DEADLETTER_CONTAINER is not set/);
  });

  it("replay backs up what each names, once, removes the dead letters it took care of, and keeps the rest", async () => {
    const w = deadLetterWorld();
    w.storage.deadLetterBlobs.set(
      blobName(1),
      JSON.stringify([letter("alpha", "v1"), letter("alpha", "v1")]),
    );
    w.storage.deadLetterBlobs.set(blobName(2), JSON.stringify([letter("bravo", "v1"), letter("gone", "v1")]));
    w.storage.deadLetterBlobs.set(blobName(3), "not json");
    w.storage.deadLetterBlobs.set(blobName(4), JSON.stringify([letter("charlie", "v1")]));
    w.vault().fault = (op, _kind, name) =>
      op === "backup" && name === "charlie" ? kvError(503, "ServiceUnavailable") : undefined;
    const r = await replayDeadLetters(w.deps);
    expect(r).toMatchObject({
      blobs: 4,
      events: 5,
      backedUp: 2,
      duplicates: 1,
      skipped: 1,
      failed: 1,
      removed: 2,
      kept: 2,
      more: false,
    });
    expect(r.failures.map((f) => f.blob)).toEqual([blobName(3), blobName(4)]);
    expect([...w.storage.deadLetterBlobs.keys()]).toEqual([blobName(3), blobName(4)]);
    for (const n of ["alpha", "bravo"])
      expect(
        [...w.storage.blobs.keys()].filter((b) => b.startsWith(eventFolder("demo-vault", "secrets", n))),
      ).toHaveLength(1);
    // Again, once Key Vault answers: charlie is backed up; the unreadable blob stays for a person.
    w.vault().fault = () => undefined;
    const io = captureIo();
    expect(await main(["events", "--replay-dead-letters"], {}, io.io, () => w.deps)).toBe(1);
    expect(io.stdout()).toMatch(
      /2 read, 1 event\(s\) — 1 backed up, 0 already held, 0 skipped, 0 deferred, 0 failed; 1 removed, 1 kept/,
    );
    expect(io.stdout()).toMatch(/not Event Grid's dead letter: not JSON/);
    w.storage.deadLetterBlobs.delete(blobName(3));
    const quiet = captureIo();
    expect(await main(["events", "--dead-letters"], {}, quiet.io, () => w.deps)).toBe(0);
    expect(quiet.stdout()).toMatch(/dead letters: none in 'keyvault-events-deadletter'/);
  });

  it("events takes exactly one of its options", async () => {
    const w = deadLetterWorld();
    for (const args of [["events"], ["events", "--drain", "--dead-letters"]]) {
      const io = captureIo();
      expect(await main(args, {}, io.io, () => w.deps)).toBe(2);
      expect(io.stderr()).toMatch(/events takes one of --drain/);
    }
  });

  it("the setting needs the events queue, and a container of its own", () => {
    const base = {
      BACKUP_VAULTS: "demo-vault",
      BACKUP_STORAGE: "UseDevelopmentStorage=true",
    };
    expect(() =>
      loadConfig({ ...base, BACKUP_EVENTS_DEADLETTER_CONTAINER: "keyvault-events-deadletter" }, "function"),
    ).toThrow(
      /BACKUP_EVENTS_DEADLETTER_CONTAINER: the dead letters of continuous protection's events; set BACKUP_EVENTS_QUEUE too/,
    );
    expect(() =>
      loadConfig(
        {
          ...base,
          BACKUP_EVENTS_QUEUE: "keyvault-events",
          BACKUP_EVENTS_DEADLETTER_CONTAINER: "keyvault-backups",
        },
        "function",
      ),
    ).toThrow(/holds backups/);
    expect(() =>
      loadConfig(
        {
          ...base,
          BACKUP_EVENTS_QUEUE: "keyvault-events",
          BACKUP_EVENTS_DEADLETTER_CONTAINER: "Bad_Name",
        },
        "function",
      ),
    ).toThrow(/a container name/);
    expect(
      loadConfig(
        {
          ...base,
          BACKUP_EVENTS_QUEUE: "keyvault-events",
          BACKUP_EVENTS_DEADLETTER_CONTAINER: "keyvault-events-deadletter",
        },
        "function",
      ).eventsDeadLetters,
    ).toBe("keyvault-events-deadletter");
  });
});

describe("dead letters an adversary wrote, or another replay took (adversary on issue 23)", () => {
  it("one gone between the listing and the read is not counted, and a replay goes on", async () => {
    const w = deadLetterWorld();
    w.storage.deadLetterBlobs.set(blobName(1), JSON.stringify([letter("alpha", "v1")]));
    w.storage.deadLetterBlobs.set(blobName(2), JSON.stringify([letter("bravo", "v1")]));
    const read = w.storage.deadLetterStore.read;
    w.storage.deadLetterStore.read = async (blob, bytes) => {
      if (blob === blobName(1)) w.storage.deadLetterBlobs.delete(blob);
      return read(blob, bytes);
    };
    const h = await checkHealth(w.deps);
    expect(h.deadLetters?.diagnosis?.cause).toMatch(/^1 Key Vault event\(s\) in 1 dead letter\(s\)/);
    w.storage.deadLetterBlobs.set(blobName(1), JSON.stringify([letter("alpha", "v1")]));
    expect(await replayDeadLetters(w.deps)).toMatchObject({ blobs: 1, backedUp: 1, removed: 1, kept: 0 });
    expect(w.storage.deadLetterBlobs.size).toBe(0);
  });

  it("terminal escapes in a dead letter's text are not printed; a publish time that is no date is not said", async () => {
    const w = deadLetterWorld();
    const esc = "\u001b]0;pwned\u0007\u001b[2J";
    w.storage.deadLetterBlobs.set(
      blobName(1),
      JSON.stringify([
        letter("alpha", "v1", { deadLetterReason: `x${esc}`, publishTime: "-000001-01-01T00:00:00Z" }),
      ]),
    );
    w.storage.deadLetterBlobs.set(
      blobName(2),
      JSON.stringify([
        { ...letter("bravo", "v1"), data: { Id: `https://demo-vault.vault.azure.net/secrets/b${esc}/v1` } },
      ]),
    );
    const io = captureIo();
    expect(await main(["events", "--dead-letters"], {}, io.io, () => w.deps)).toBe(1);
    const replay = captureIo();
    await main(["events", "--replay-dead-letters"], {}, replay.io, () => w.deps);
    for (const text of [io.stdout(), replay.stdout()]) {
      expect(text.includes("\u001b")).toBe(false);
      expect(text.includes("\u0007")).toBe(false);
    }
    expect(io.stdout()).not.toMatch(/-000001/);
  });
});
