import { describe, expect, it } from "vitest";
import { eventBlob, eventBlobFacts } from "../../../../src/backup/events/backupEvent.js";
import { runRestoreJob, submitRestore } from "../../../../src/backup/restore/restoreJobs.js";
import { manifestBlob, runPrefix } from "../../../../src/domain/manifest.js";
import { seed, world } from "../../fakes/deps.js";
import { kvError } from "../../fakes/memoryVault.js";
import { backUp, evented, restoreAt, type W } from "./pointInTimeWorld.js";

/** Runs hook once, while the run backs up `during` (an object in the middle of the vault). */
function whileBackingUp(w: W, during: string, hook: () => Promise<void>): void {
  let done = false;
  w.vault().onBackup = async (_kind, name) => {
    if (done || name !== during) return;
    done = true;
    await hook();
  };
}

describe("restore as of a point in time, attacked (adversary on issue 23)", () => {
  it("an object created while a run was going, its event backup taken during the run, is restored", async () => {
    const w = world();
    seed(w.vault());
    whileBackingUp(w, "echo", async () => {
      w.vault().put("secrets", "zulu");
      await evented(w, "zulu");
    });
    await backUp(w);
    const r = await restoreAt(w, w.deps.now().toISOString());
    expect(r.status).toBe("succeeded");
    expect(w.vault("restore-vault").valueOf("secrets", "zulu")).toBe(w.vault().valueOf("secrets", "zulu"));
  });

  it("an object changed while a run was going, after the run had backed it up, comes back as changed", async () => {
    const w = world();
    seed(w.vault());
    whileBackingUp(w, "echo", async () => {
      w.vault().put("secrets", "alpha"); // alpha was backed up before echo
      await evented(w, "alpha");
    });
    await backUp(w);
    const r = await restoreAt(w, w.deps.now().toISOString());
    expect(r.plan.find((p) => p.name === "alpha")?.from).toMatch(/^event /);
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(w.vault().valueOf("secrets", "alpha"));
  });

  it("an object the run failed to back up, event-backed-up since, is restored and not also 'not in this backup'", async () => {
    const w = world();
    seed(w.vault()).fault = (op, _kind, name) =>
      op === "backup" && name === "bravo" ? kvError(403, "Forbidden") : undefined;
    await backUp(w);
    w.vault().fault = () => undefined;
    w.vault().put("secrets", "bravo");
    await evented(w, "bravo");
    const r = await restoreAt(w, w.deps.now().toISOString());
    expect(r.results?.filter((e) => e.name === "bravo")).toEqual([
      expect.objectContaining({ outcome: "restored" }),
    ]);
    expect(r.status).toBe("succeeded");
  });

  it("a version made while its object's event backup is under way is not taken as held by it", async () => {
    const w = world();
    seed(w.vault());
    let v2At = "";
    whileBackingUp(w, "alpha", async () => {
      w.vault().put("secrets", "alpha");
      v2At = w.deps.now().toISOString();
    });
    expect((await evented(w, "alpha")).outcome).toBe("backed-up");
    w.vault().onBackup = () => undefined;
    const second = await evented(w, "alpha", v2At);
    expect(second.outcome).toBe("backed-up");
  });

  it("a time older than the vault's newest 500 rows still finds its run", async () => {
    const w = world();
    seed(w.vault());
    const first = await backUp(w);
    const at = w.deps.now().toISOString();
    const row = w.storage.rows.get(first.runId);
    for (let i = 0; i < 501; i++) {
      const startedAt = new Date(Date.parse(at) + (i + 1) * 60_000).toISOString();
      w.storage.rows.set(`later-${i}`, {
        ...(row as NonNullable<typeof row>),
        runId: `later-${i}`,
        status: "failed",
        startedAt,
      });
    }
    expect((await restoreAt(w, at, true)).source.runId).toBe(first.runId);
  });

  it("blobs under events/ outside the layout are never planned", async () => {
    const w = world({ kinds: ["secrets"] });
    seed(w.vault());
    await backUp(w);
    const good = eventBlob("demo-vault", "secrets", "alpha", w.deps.now(), "abc");
    const bytes = await w.deps.blobs.read((await w.deps.blobs.list("daily/")).keys().next().value as string);
    for (const path of [
      good.replace("/alpha/", "/alpha/nested/"),
      good.replace("/alpha/", "/"),
      good.replace("/alpha/", "/MiXeD/"),
      good.replace("events/demo-vault/", "events/other-vault/"),
    ])
      await w.deps.blobs.putOnce(path, bytes, { sha256: "x" });
    const r = await restoreAt(w, w.deps.now().toISOString(), true);
    expect(r.plan.filter((p) => p.from?.startsWith("event"))).toEqual([]);
    expect(r.plan.map((p) => p.name)).not.toContain("nested");
  });

  it("a queued restore with a time is pinned to the run it reported: that run damaged since is refused, not swapped", async () => {
    const w = world();
    seed(w.vault());
    await backUp(w);
    const second = await backUp(w);
    const submitted = await submitRestore(w.deps, {
      runId: "latest",
      at: w.deps.now().toISOString(),
      vault: "demo-vault",
      targetVault: "restore-vault",
    });
    if (submitted.dryRun) throw new Error("not a dry run");
    expect(submitted.runId).toBe(second.runId);
    const path = manifestBlob(runPrefix("daily", "demo-vault", second.runId));
    const found = await w.deps.documents.read(path);
    const edited = new TextDecoder().decode(found?.bytes).replace('"demo-vault"', '"Demo-vault"');
    await w.deps.documents.replace(path, new TextEncoder().encode(edited));
    const state = await runRestoreJob(w.deps, submitted.restoreId);
    expect(state).toMatchObject({ status: "failed", diagnosis: { code: "CorruptManifest" } });
  });
  it("an event backup that ended after the time is not used for it: it may hold a version made after the time", async () => {
    const w = world();
    seed(w.vault());
    await backUp(w);
    const before = w.vault().valueOf("secrets", "alpha");
    let madeDuring = "";
    whileBackingUp(w, "alpha", async () => {
      w.vault().put("secrets", "alpha"); // a version made while the event backup's call runs
      madeDuring = w.vault().valueOf("secrets", "alpha") as string;
    });
    const r = await evented(w, "alpha");
    const facts = eventBlobFacts(r.blob as string);
    expect(facts && facts.startedAt < facts.takenAt).toBe(true);
    // As of the call's start: the run's copy, not the event backup (which holds what came after).
    await restoreAt(w, facts?.startedAt as string);
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(before);
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).not.toBe(madeDuring);
  });
});
