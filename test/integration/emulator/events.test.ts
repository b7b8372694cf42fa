import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { backupEvent } from "../../../src/backup/events/backupEvent.js";
import { releaseEventHolds } from "../../../src/backup/events/eventHold.js";
import { isIgnoredEvent, parseVaultEvent, type VaultEvent } from "../../../src/domain/vaultEvent.js";
import { EventPublisher } from "../../stack/keyvault/events.js";
import { addEventsQueue, type Stack, StackEventsTopic } from "../../stack/stack.js";
import { appFor, identityCredential, kvOptions, runCli, startTestStack } from "../helpers.js";

let stack: Stack;
let messages: string[];

beforeAll(async () => {
  stack = await startTestStack();
});
afterEach(() => {
  stack.emulator.events = undefined;
});
afterAll(async () => {
  await stack?.stop();
});

const listen = (faults?: ConstructorParameters<typeof EventPublisher>[1]): EventPublisher => {
  messages = [];
  const publisher = new EventPublisher(
    {
      send: async (m) => {
        messages.push(m);
        return 201;
      },
    },
    faults,
  );
  stack.emulator.events = publisher;
  return publisher;
};

const read = (m: string): VaultEvent => {
  const e = parseVaultEvent(m);
  if (isIgnoredEvent(e)) throw new Error(`ignored: ${e.ignored}`);
  return e;
};

describe("the Key Vault emulator's new-version events, as Event Grid queues them (issue 23 groundwork)", () => {
  it("one event per new secret, key and certificate version — not for a certificate's own key and secret — that kvbackup reads", async () => {
    const publisher = listen();
    const cred = identityCredential(stack.identities.admin.clientId);
    const url = stack.vaults.demo.url;
    const secret = await new SecretClient(url, cred, kvOptions).setSecret("evented", "v1");
    const key = await new KeyClient(url, cred, kvOptions).createKey("evented-key", "EC");
    const poller = await new CertificateClient(url, cred, kvOptions).beginCreateCertificate("evented-cert", {
      issuerName: "Self",
      subject: "CN=evented",
    });
    const cert = await poller.pollUntilDone();
    await publisher.settled();
    expect(messages.map(read)).toEqual([
      expect.objectContaining({
        vault: "demo-vault",
        kind: "secrets",
        name: "evented",
        version: secret.properties.version,
      }),
      expect.objectContaining({
        vault: "demo-vault",
        kind: "keys",
        name: "evented-key",
        version: key.properties.version,
      }),
      expect.objectContaining({
        vault: "demo-vault",
        kind: "certificates",
        name: "evented-cert",
        version: cert.properties.version,
      }),
    ]);
  });

  it("delivery as Event Grid promises it: duplicated, dropped and out of order, each at its rate", async () => {
    const publisher = listen({ delayMs: 1, duplicateEvery: 3, dropEvery: 4, swapEvery: 5 });
    const admin = new SecretClient(
      stack.vaults.demo.url,
      identityCredential(stack.identities.admin.clientId),
      kvOptions,
    );
    const versions: string[] = [];
    for (let i = 1; i <= 10; i++)
      versions.push((await admin.setSecret("rotated", `v${i}`)).properties.version as string);
    await publisher.settled();
    const seen = messages.map((m) => read(m).version);
    // Dropped: the 4th and 8th; doubled: the 3rd, 6th and 9th; the 5th after the 6th (the 10th,
    // held for an 11th that never comes, goes when the publisher settles).
    expect(publisher.counts).toMatchObject({
      published: 10,
      dropped: 2,
      duplicated: 3,
      swapped: 2,
      sent: 11,
    });
    expect(new Set(seen)).toEqual(new Set(versions.filter((_, i) => i !== 3 && i !== 7)));
    expect(seen.indexOf(versions[5] as string)).toBeLessThan(seen.indexOf(versions[4] as string));
  });

  it("an event read off the queue is backed up through the real SDK into Azurite, once", async () => {
    const publisher = listen();
    const admin = new SecretClient(
      stack.vaults.demo.url,
      identityCredential(stack.identities.admin.clientId),
      kvOptions,
    );
    await admin.setSecret("evented-backup", "v1");
    await publisher.settled();
    const event = read(messages[0] as string);
    const app = appFor();
    await app.blobs.probe();
    const first = await backupEvent(app, event);
    expect(first).toMatchObject({ outcome: "backed-up" });
    expect(await backupEvent(app, event)).toMatchObject({ outcome: "duplicate", blob: first.blob });
    const bytes = await app.blobs.read(first.blob as string);
    expect(bytes.length).toBeGreaterThan(0);
    // This app is a process of its own: its hold on demo-vault's events goes as it ends.
    await releaseEventHolds(app);
  });
  it("the stack delivers them to an Azurite queue; kvbackup events --drain backs them up and restore --at takes them (issue 23, preview)", async () => {
    const { publisher, env } = await addEventsQueue(
      stack,
      `events-${Math.random().toString(36).slice(2, 8)}`,
    );
    const settings = { ...stack.env, ...env };
    const cli = (...args: string[]) => runCli(args, settings);
    expect((await cli("backup", "--vault", "demo-vault", "--json")).code).toBe(0);
    const admin = new SecretClient(
      stack.vaults.demo.url,
      identityCredential(stack.identities.admin.clientId),
      kvOptions,
    );
    await admin.setSecret("created-after-the-run", "v1");
    await admin.setSecret("created-after-the-run", "v1"); // a second version, a second event
    await publisher.settled();
    const drained = await cli("events", "--drain", "--json");
    expect(drained.code).toBe(0);
    // Two versions' events worked on side by side: each backed up, or found held by the other's backup.
    expect(drained.json).toMatchObject({ processed: 2, failed: 0 });
    expect(drained.json.backedUp + drained.json.duplicates).toBe(2);
    expect(drained.json.backedUp).toBeGreaterThanOrEqual(1);
    const again = await cli("events", "--drain", "--json");
    expect(again.json).toMatchObject({ processed: 0 });
    const plan = await cli(
      "restore",
      "--at",
      new Date().toISOString(),
      "--vault",
      "demo-vault",
      "--to",
      "restore-vault",
      "--dry-run",
      "--json",
    );
    expect(plan.code).toBe(0);
    expect(plan.json.plan).toContainEqual(
      expect.objectContaining({
        kind: "secrets",
        name: "created-after-the-run",
        action: "restore",
        from: expect.stringMatching(/^event /),
      }),
    );
  });

  it("Event Grid through the storage firewall: refused without trusted services (lost), dead-lettered when the queue refuses it, replayed once fixed", async () => {
    const name = `events-${Math.random().toString(36).slice(2, 8)}`;
    const { publisher, env } = await addEventsQueue(stack, name, {
      delayMs: 0,
      duplicateEvery: 0,
      dropEvery: 0,
      swapEvery: 0,
      maxAttempts: 2,
      retryMs: 5,
    });
    const settings = { ...stack.env, ...env };
    const cli = (...args: string[]) => runCli(args, settings);
    const admin = new SecretClient(
      stack.vaults.demo.url,
      identityCredential(stack.identities.admin.clientId),
      kvOptions,
    );
    const firewall = stack.network.firewall;
    const before = { ...firewall };
    try {
      // The account closed to all but the Function's subnet, trusted services not allowed: Event
      // Grid's delivery is refused, and so is its dead letter (same account): the event is lost.
      Object.assign(firewall, { defaultAction: "Deny", functionSubnet: true, trustedServices: false });
      await admin.setSecret("evented-refused", "v1");
      await publisher.settled();
      // 403 is not retried (Event Grid): one attempt, its dead letter refused too.
      expect(publisher.counts).toMatchObject({ sent: 0, refused: 1, deadLettered: 0, lost: 1 });
      expect(publisher.refusals).toEqual([403]);
      expect(stack.proxies.queue.refusedBy.get(StackEventsTopic)).toBe(1);
      expect(stack.proxies.blob.refusedBy.get(StackEventsTopic)).toBe(1);
      // The infra's rule (bypass AzureServices): delivered.
      firewall.trustedServices = true;
      await admin.setSecret("evented-admitted", "v1");
      await publisher.settled();
      expect(publisher.counts).toMatchObject({ sent: 1, lost: 1 });
      // The topic's identity without its queue role: refused (403), retried, dead-lettered.
      const rule = stack.proxies.queue.addRule({
        service: "queue",
        pathPrefix: `/${name}/messages`,
        method: "POST",
        auth: "bearer",
        fault: "AuthorizationPermissionMismatch",
      });
      await admin.setSecret("evented-dead-lettered", "v1");
      await publisher.settled();
      expect(publisher.counts).toMatchObject({ deadLettered: 1, lost: 1 });
      const doctor = await cli("doctor", "--json");
      expect(doctor.code).toBe(1);
      expect(doctor.json.storage.ok).toBe(true);
      expect(doctor.json.deadLetters.diagnosis.code).toBe("EventsDeadLettered");
      expect(doctor.json.deadLetters.diagnosis.cause).toMatch(
        /1 Key Vault event\(s\) in 1 dead letter\(s\).*last delivery status 403 ×1/,
      );
      stack.proxies.queue.removeRule(rule);
      const replay = await cli("events", "--replay-dead-letters", "--json");
      expect(replay.code).toBe(0);
      expect(replay.json).toMatchObject({ blobs: 1, events: 1, backedUp: 1, removed: 1, kept: 0 });
      expect((await cli("events", "--dead-letters")).code).toBe(0);
      const healthy = await cli("doctor", "--json");
      expect(healthy.json.deadLetters).toEqual({ ok: true });
      // The delivered event is on the queue: drained, it is backed up too.
      const drained = await cli("events", "--drain", "--json");
      expect(drained.json).toMatchObject({ processed: 1, backedUp: 1, failed: 0 });
    } finally {
      Object.assign(firewall, before);
    }
  });
});
