import { describe, expect, it } from "vitest";
import { runDrill } from "../../../../src/backup/drill/runDrill.js";
import { backupEvent } from "../../../../src/backup/events/backupEvent.js";
import { main } from "../../../../src/cli/main.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { secretEvent } from "../events/eventsWorld.js";
import { backup, drillVault, empty, killedDrill } from "./drillWorld.js";

/** Issue 23: a restore drill can prove a point-in-time restore (the run and the event backups since). */
const pitWorld = () => {
  const w = world({ drillVault, eventsQueue: "keyvault-events" });
  seed(w.vault());
  return w;
};
const drillAt = (w: ReturnType<typeof world>, at: string) =>
  runDrill(w.deps, { vault: "demo-vault", drillId: newRunId(new Date()), trigger: "cli", at });

describe("a point-in-time restore drill", () => {
  it("restores the vault as of the time — the run, an event backup of a changed object, an object made since — and proves it", async () => {
    const w = pitWorld();
    const run = await backup(w);
    w.vault().put("secrets", "alpha", { contentType: "text/plain" });
    expect((await backupEvent(w.deps, secretEvent({ version: "v0" }))).outcome).toBe("backed-up");
    w.vault().put("secrets", "foxtrot", {});
    expect((await backupEvent(w.deps, secretEvent({ name: "foxtrot", version: "v0" }))).outcome).toBe(
      "backed-up",
    );
    const at = w.deps.now().toISOString();
    const r = await drillAt(w, at);
    expect(r).toMatchObject({ status: "succeeded", runId: run.runId, at, compared: 10, mismatches: 0 });
    // The run's unchanged objects proved against the vault as it is now; the two from events by their versions.
    expect(r.againstSource).toBe(8);
    expect(empty(w)).toBe(true);
    expect(w.storage.drillRows.get(r.drillId)).toMatchObject({ status: "succeeded", at });
  });

  it("an event backup that does not hold the version its event named is a mismatch, and the drill fails", async () => {
    const w = pitWorld();
    await backup(w);
    w.vault().put("secrets", "alpha", {});
    // Named for version v7, which the object never had (a blob put there by hand, or renamed).
    expect((await backupEvent(w.deps, secretEvent({ version: "v7" }))).outcome).toBe("backed-up");
    const r = await drillAt(w, w.deps.now().toISOString());
    expect(r.status).toBe("failed");
    expect(r.mismatchList).toEqual([
      expect.objectContaining({
        kind: "secrets",
        name: "alpha",
        field: "version v7",
        expected: "present",
        actual: "missing",
      }),
    ]);
    expect(r.diagnosis?.code).toBe("DrillMismatch");
    expect(empty(w)).toBe(true);
  });

  it("kvbackup drill --at: a time that is not one, or in the future, is refused before anything is touched", async () => {
    const w = pitWorld();
    await backup(w);
    for (const at of ["2026-02-30T00:00:00Z", "yesterday", "2999-01-01T00:00:00Z"]) {
      const io = captureIo();
      expect(await main(["drill", "--vault", "demo-vault", "--at", at], {}, io.io, () => w.deps)).toBe(2);
      expect(io.stderr()).toMatch(/not an ISO 8601 time|in the future/);
    }
    expect(w.storage.drillRows.size).toBe(0);
    const io = captureIo();
    const at = w.deps.now().toISOString();
    expect(
      await main(["drill", "--vault", "demo-vault", "--at", at, "--json"], {}, io.io, () => w.deps),
    ).toBe(0);
    expect(JSON.parse(io.stdout()).drills[0]).toMatchObject({ status: "succeeded", at });
  });

  it("a point-in-time drill killed mid-restore: its leftovers from event backups are its own, purged by the next drill", async () => {
    const w = pitWorld();
    const run = await backup(w);
    w.vault().put("secrets", "foxtrot", {});
    await backupEvent(w.deps, secretEvent({ name: "foxtrot", version: "v0" }));
    const at = w.deps.now().toISOString();
    // What the killed drill left: its row and record (with its time), and foxtrot in the scratch vault.
    const objects = ["secrets/alpha", "secrets/foxtrot"];
    await killedDrill(w, run.runId, objects, at);
    w.vault("drill-vault").put("secrets", "foxtrot", {});
    const r = await drillAt(w, at);
    expect(r.status).toBe("succeeded");
    expect(empty(w)).toBe(true);
    // The same record without its time vouches only for the run's objects: foxtrot is foreign.
    const v = pitWorld();
    const run2 = await backup(v);
    v.vault().put("secrets", "foxtrot", {});
    await backupEvent(v.deps, secretEvent({ name: "foxtrot", version: "v0" }));
    await killedDrill(v, run2.runId, objects);
    v.vault("drill-vault").put("secrets", "foxtrot", {});
    const refused = await drillAt(v, v.deps.now().toISOString());
    expect([refused.status, refused.diagnosis?.code]).toEqual(["failed", "DrillVaultNotEmpty"]);
  });

  it("does not call it proved when the restore is not the vault as it was: an event backup without its SHA-256, a change no event backup holds (adversary)", async () => {
    const w = pitWorld();
    const dayBefore = "2026-11-25T02:00:00.000Z";
    for (const objects of Object.values(w.vault().objects))
      for (const o of objects.values()) o.info.updatedOn = dayBefore;
    await backup(w);
    // foxtrot made since, its event backup without a SHA-256 (not used by restore --at).
    w.vault().put("secrets", "foxtrot", {});
    const f = await backupEvent(w.deps, secretEvent({ name: "foxtrot", version: "v0" }));
    delete (w.storage.blobs.get(f.blob as string)?.facts as { sha256?: string } | undefined)?.sha256;
    // bravo changed since the run, before the drill's time, and no event backup holds it.
    w.vault().put("secrets", "bravo", { updatedOn: w.deps.now().toISOString() });
    const r = await drillAt(w, w.deps.now().toISOString());
    expect(r.status).toBe("failed");
    expect(r.mismatchList.map((m) => [m.name, m.field])).toEqual([
      ["bravo", "state at the time"],
      ["foxtrot", "event backup"],
    ]);
    expect(r.diagnosis?.code).toBe("DrillMismatch");
    expect(empty(w)).toBe(true);
  });
});
