import { describe, expect, it } from "vitest";
import { verifyRun } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { backupEvent, eventBackupsOf } from "../../../../src/backup/events/backupEvent.js";
import { buildReport } from "../../../../src/backup/report.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { secretEvent } from "../events/eventsWorld.js";
import { expectRestoresToTheVault, manifestOf } from "./incrementalWorld.js";

/*
 * Issue 23: the daily run stays the anchor and uses what continuous protection already captured —
 * an object changed since the base run whose event backup holds its current state is copied from
 * it — and names the new versions the events missed.
 */

type W = ReturnType<typeof world>;

/** A world with continuous protection on, whose calendar the test moves (an hour at a time). */
function eventsWorld(): { w: W; later: (minutes: number) => Date } {
  const w = world({ eventsQueue: "keyvault-events" });
  let t = Date.parse("2026-11-26T02:00:00Z");
  const step = (ms: number): Date => {
    t += ms;
    return new Date(t);
  };
  w.deps.now = () => step(1000);
  return { w, later: (minutes) => step(minutes * 60_000) };
}

const daily = (w: W) =>
  runBackup(w.deps, { runId: newRunId(w.deps.now()), vault: "demo-vault", tier: "daily", trigger: "timer" });

/** A new version of secret `name` made at `at` (its creation and its last change). */
const newVersion = (w: W, name: string, at: Date) =>
  w.vault().put("secrets", name, {
    contentType: "text/plain",
    updatedOn: at.toISOString(),
    createdOn: at.toISOString(),
  });

/** Continuous protection on, a first daily run, then a new version of alpha an hour later, backed up by its event. */
async function alphaChangedWithItsEvent() {
  const { w, later } = eventsWorld();
  const v = seed(w.vault());
  await daily(w);
  const made = later(60);
  newVersion(w, "alpha", made);
  await backupEvent(w.deps, secretEvent({ version: "v9", at: made.toISOString() }));
  return { w, v, later, made };
}

const demoReport = async (w: W) => (await buildReport(w.deps)).vaults.find((v) => v.vault === "demo-vault");

describe("the daily run with continuous protection on", () => {
  it("copies a changed object from its event backup (no Key Vault call), names what the events missed, and restores to exactly the vault", async () => {
    const { w, later } = eventsWorld();
    const v = seed(w.vault());
    const first = await daily(w);
    const made = later(60);
    newVersion(w, "alpha", made);
    expect(
      (
        await backupEvent(
          w.deps,
          secretEvent({ version: "v9", at: new Date(made.getTime() + 40).toISOString() }),
        )
      ).outcome,
    ).toBe("backed-up");
    // foxtrot's event was dropped: no event backup.
    newVersion(w, "foxtrot", made);
    later(60);
    const before = v.calls.backup;
    const second = await daily(w);
    expect(second).toMatchObject({ status: "succeeded", mode: "incremental" });
    // foxtrot only: alpha came from its event backup, the rest from the base run.
    expect(v.calls.backup - before).toBe(1);
    expect(second.copied).toBe(9);
    const m = manifestOf(w, second.manifestPath);
    expect(m.items.find((i) => i.name === "alpha")?.copiedFrom).toBe("events");
    expect(m.items.find((i) => i.name === "foxtrot")?.copiedFrom).toBeUndefined();
    expect(m.items.filter((i) => i.copiedFrom === first.runId)).toHaveLength(8);
    expect(m.eventsMissed).toEqual([{ kind: "secrets", name: "foxtrot", createdOn: made.toISOString() }]);
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true, checked: 10 });
    await expectRestoresToTheVault(w, second.runId);
    // The report names the gap (the run took foxtrot; continuous protection had missed it).
    const r = await demoReport(w);
    expect(r?.verdict).toBe("at risk");
    expect(r?.reasons.join("\n")).toMatch(
      new RegExp(
        `events missed 1 new version\\(s\\) that run ${second.runId} then took from Key Vault \\(secrets/foxtrot\\)`,
      ),
    );
    // The next run finds no gap, and the report no longer names one.
    later(60);
    const third = await daily(w);
    expect(manifestOf(w, third.manifestPath).eventsMissed).toBeUndefined();
    expect((await demoReport(w))?.reasons.join("\n") ?? "").not.toMatch(/events missed/);
  });

  it("a change the event backup does not hold (a tag set after it) is taken from Key Vault, and is not a missed event", async () => {
    const { w, v, later, made } = await alphaChangedWithItsEvent();
    // An attribute change: no event; updatedOn moves, createdOn (the version's) does not.
    const tagged = later(5);
    v.put("secrets", "alpha", {
      contentType: "text/plain",
      tags: { owner: "team-b" },
      updatedOn: tagged.toISOString(),
      createdOn: made.toISOString(),
    });
    later(60);
    const before = v.calls.backup;
    const second = await daily(w);
    expect(v.calls.backup - before).toBe(1);
    const m = manifestOf(w, second.manifestPath);
    expect(m.items.find((i) => i.name === "alpha")).toMatchObject({ tags: { owner: "team-b" } });
    expect(m.items.find((i) => i.name === "alpha")?.copiedFrom).toBeUndefined();
    expect(m.eventsMissed).toBeUndefined();
    await expectRestoresToTheVault(w, second.runId);
  });

  it("a change within the events' grace (15 min) is not called missed yet; a full run copies nothing from events", async () => {
    const { w, later } = eventsWorld();
    const v = seed(w.vault());
    await daily(w);
    later(60);
    newVersion(w, "foxtrot", later(0));
    later(5);
    const second = await daily(w);
    expect(manifestOf(w, second.manifestPath).eventsMissed).toBeUndefined();
    const made = later(60);
    newVersion(w, "alpha", made);
    await backupEvent(w.deps, secretEvent({ version: "v9", at: made.toISOString() }));
    const before = v.calls.backup;
    const full = await runBackup(w.deps, {
      runId: newRunId(later(60)),
      vault: "demo-vault",
      tier: "weekly",
      trigger: "timer",
    });
    expect(full.mode).toBe("full");
    expect(full.copied).toBe(0);
    expect(v.calls.backup - before).toBe(10);
  });

  it("an event backup that does not say what it holds, or is rewritten after the listing, is not copied", async () => {
    const { w, later } = eventsWorld();
    const v = seed(w.vault());
    await daily(w);
    const made = later(60);
    newVersion(w, "alpha", made);
    newVersion(w, "bravo", made);
    await backupEvent(w.deps, secretEvent({ version: "v9", at: made.toISOString() }));
    await backupEvent(w.deps, secretEvent({ name: "bravo", version: "v9", at: made.toISOString() }));
    const [alphaBlob, bravoBlob] = ["alpha", "bravo"].map(
      (n) =>
        [...w.storage.blobs.keys()].find((b) => b.startsWith(`events/demo-vault/secrets/${n}/`)) as string,
    );
    // alpha's blob without its event time (written by an earlier version of kvbackup, or edited).
    const alpha = w.storage.blobs.get(alphaBlob as string);
    if (alpha?.facts) delete (alpha.facts as { eventAt?: string }).eventAt;
    expect(
      (await eventBackupsOf(w.deps.blobs, "demo-vault")).find((e) => e.name === "alpha")?.eventAt,
    ).toBeUndefined();
    // bravo's blob rewritten once the run has listed it: the copy asks for the listed version only.
    const copy = w.storage.blobStore.copy;
    w.storage.blobStore.copy = async (from, ...rest) => {
      if (from === bravoBlob)
        await w.storage.blobStore.putOnce(
          from,
          new Uint8Array([1, 2, 3]),
          { sha256: "0".repeat(64) },
          undefined,
          true,
        );
      return copy(from, ...rest);
    };
    later(60);
    const before = v.calls.backup;
    const second = await daily(w);
    w.storage.blobStore.copy = copy;
    expect(v.calls.backup - before).toBe(2);
    const m = manifestOf(w, second.manifestPath);
    expect(m.items.filter((i) => i.copiedFrom === "events")).toEqual([]);
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true });
    await expectRestoresToTheVault(w, second.runId);
  });
});

describe("what an event backup's metadata may say", () => {
  it("an event time later than the backup itself is not believed (the blob is not taken for a newer state)", async () => {
    const { w, later } = eventsWorld();
    seed(w.vault());
    const made = later(60);
    await backupEvent(w.deps, secretEvent({ version: "v9", at: made.toISOString() }));
    const [path] = [...w.storage.blobs.keys()].filter((b) =>
      b.startsWith("events/demo-vault/secrets/alpha/"),
    );
    const blob = w.storage.blobs.get(path as string);
    expect((await eventBackupsOf(w.deps.blobs, "demo-vault"))[0]?.eventAt).toBe(made.toISOString());
    (blob?.facts as { eventAt?: string }).eventAt = new Date(made.getTime() + 86_400_000).toISOString();
    expect((await eventBackupsOf(w.deps.blobs, "demo-vault"))[0]?.eventAt).toBeUndefined();
  });
});

describe("event backups the daily run must not take for the current state (adversary on issue 23)", () => {
  it("an object rolled back (an older backup restored: its times go back) is taken from Key Vault, not from the newer event backup", async () => {
    const { w, later } = eventsWorld();
    const v = seed(w.vault());
    const t0 = later(60);
    newVersion(w, "alpha", t0);
    const old = {
      ...(v.objects.secrets.get("alpha") as NonNullable<ReturnType<typeof v.objects.secrets.get>>),
    };
    newVersion(w, "alpha", later(60));
    await daily(w);
    const t2 = later(60);
    newVersion(w, "alpha", t2);
    await backupEvent(w.deps, secretEvent({ version: "v9", at: t2.toISOString() }));
    // Rolled back: delete, purge, restore the t0 backup — Key Vault keeps its times.
    v.objects.secrets.set("alpha", old);
    later(60);
    const before = v.calls.backup;
    const second = await daily(w);
    expect(v.calls.backup - before).toBe(1);
    expect(
      manifestOf(w, second.manifestPath).items.find((i) => i.name === "alpha")?.copiedFrom,
    ).toBeUndefined();
    await expectRestoresToTheVault(w, second.runId);
  });

  it("an event backup written before event times were recorded still counts as catching its change (no false 'missed')", async () => {
    const { w, v, later } = await alphaChangedWithItsEvent();
    for (const [path, blob] of w.storage.blobs)
      if (path.startsWith("events/")) delete (blob.facts as { eventAt?: string }).eventAt;
    later(60);
    const before = v.calls.backup;
    const second = await daily(w);
    expect(v.calls.backup - before).toBe(1);
    expect(manifestOf(w, second.manifestPath).eventsMissed).toBeUndefined();
  });
});

describe("what the events missed, on every kind of run (adversary on issue 23)", () => {
  it("the weekly full run names them too (it copies nothing from events)", async () => {
    const { w, later } = eventsWorld();
    seed(w.vault());
    await daily(w);
    const made = later(60);
    newVersion(w, "foxtrot", made);
    const full = await runBackup(w.deps, {
      runId: newRunId(later(60)),
      vault: "demo-vault",
      tier: "weekly",
      trigger: "timer",
    });
    expect(full).toMatchObject({ mode: "full", copied: 0 });
    expect(manifestOf(w, full.manifestPath).eventsMissed).toEqual([
      { kind: "secrets", name: "foxtrot", createdOn: made.toISOString() },
    ]);
  });

  it("a run stopped after taking a missed version from Key Vault, then resumed, still names it", async () => {
    const { w, later } = eventsWorld();
    const v = seed(w.vault());
    await daily(w);
    const made = later(60);
    newVersion(w, "alpha", made);
    later(60);
    const job = {
      runId: newRunId(w.deps.now()),
      vault: "demo-vault",
      tier: "daily" as const,
      trigger: "timer" as const,
    };
    const ac = new AbortController();
    v.onBackup = (_kind, name) => {
      if (name === "alpha") queueMicrotask(() => ac.abort());
    };
    await expect(runBackup(w.deps, job, { signal: ac.signal })).rejects.toThrow();
    v.onBackup = () => undefined;
    const resumed = await runBackup(w.deps, job);
    expect(resumed.status).toBe("succeeded");
    expect(manifestOf(w, resumed.manifestPath).eventsMissed).toEqual([
      { kind: "secrets", name: "alpha", createdOn: made.toISOString() },
    ]);
  });
});
