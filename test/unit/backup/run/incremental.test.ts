import { describe, expect, it } from "vitest";
import { verifyRun } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { seed, world } from "../../fakes/deps.js";
import { expectRestoresToTheVault, manifestOf, run, stoppedAtCopy } from "./incrementalWorld.js";

describe("incremental daily runs", () => {
  it("back up only what changed, copy the rest server-side, and still restore to exactly the vault", async () => {
    const w = world({}, { concurrency: 4 });
    const v = seed(w.vault());
    const first = await run(w);
    expect(first.mode).toBe("full");
    v.put("secrets", "alpha", { contentType: "text/plain", updatedOn: "2026-11-21T10:00:00.000Z" });
    v.put("secrets", "foxtrot", { contentType: "text/plain" });
    v.remove("secrets", "bravo");
    const backupsBefore = v.calls.backup;
    const second = await run(w);
    expect(second).toMatchObject({ status: "succeeded", mode: "incremental" });
    // alpha (changed) and foxtrot (new) only; the certificate's key and secret are never backed up.
    expect(v.calls.backup - backupsBefore).toBe(2);
    expect(second.copied).toBe(7);
    expect(w.storage.copies).toBe(7);
    const m = manifestOf(w, second.manifestPath);
    expect(m.mode).toBe("incremental");
    const copied = m.items.filter((i) => i.copiedFrom);
    expect(copied).toHaveLength(7);
    expect(
      copied.every(
        (i) =>
          i.copiedFrom === first.runId && i.blob.startsWith(second.manifestPath.replace("manifest.json", "")),
      ),
    ).toBe(true);
    expect(m.items.find((i) => i.name === "alpha")?.copiedFrom).toBeUndefined();
    expect(m.items.map((i) => i.name)).not.toContain("bravo");
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true, checked: 9 });
    await expectRestoresToTheVault(w, second.runId);
  });

  it("the base's folder deleted after the run (lifecycle) does not touch the incremental run: it restores on its own", async () => {
    const w = world();
    seed(w.vault());
    const first = await run(w);
    const second = await run(w);
    const firstPrefix = first.manifestPath.replace("manifest.json", "");
    for (const k of [...w.storage.blobs.keys()]) if (k.startsWith(firstPrefix)) w.storage.blobs.delete(k);
    w.storage.documents.delete(first.manifestPath);
    expect((await verifyRun(w.deps, manifestOf(w, second.manifestPath))).ok).toBe(true);
    await expectRestoresToTheVault(w, second.runId);
  });

  it("a base blob gone (aged out) is backed up from Key Vault instead of copied", async () => {
    const w = world();
    const v = seed(w.vault());
    const first = await run(w);
    const gone = manifestOf(w, first.manifestPath).items.find((i) => i.name === "charlie")?.blob as string;
    w.storage.blobs.delete(gone);
    const before = v.calls.backup;
    const second = await run(w);
    expect(second.status).toBe("succeeded");
    expect(v.calls.backup - before).toBe(1);
    expect(
      manifestOf(w, second.manifestPath).items.find((i) => i.name === "charlie")?.copiedFrom,
    ).toBeUndefined();
  });

  it("weekly runs, runs asked --full, and BACKUP_INCREMENTAL=false back up everything", async () => {
    for (const [config, over] of [
      [{}, { tier: "weekly" as const }],
      [{}, { mode: "full" as const }],
      [{ incremental: false }, {}],
      [{}, { tier: "manual" as const }],
    ] as const) {
      const w = world(config);
      const v = seed(w.vault());
      await run(w);
      const before = v.calls.backup;
      const r = await run(w, over);
      expect(r.mode).toBe("full");
      expect(r.copied).toBe(0);
      expect(v.calls.backup - before).toBe(9);
    }
  });

  it("a manual run asked incremental is one", async () => {
    const w = world();
    seed(w.vault());
    await run(w);
    expect((await run(w, { tier: "manual", mode: "incremental" })).mode).toBe("incremental");
  });

  it("no committed run yet, or only damaged manifests: the run is full, and says so", async () => {
    const w = world();
    const v = seed(w.vault());
    expect((await run(w)).mode).toBe("full");
    const latest = await run(w);
    expect(latest.mode).toBe("incremental");
    // Every earlier manifest damaged: passed over, none left as a base.
    for (const [path, doc] of w.storage.documents)
      if (path.endsWith("manifest.json")) doc.bytes = Buffer.from("{ not json");
    const before = v.calls.backup;
    const r = await run(w);
    expect(r).toMatchObject({ mode: "full", copied: 0, status: "succeeded" });
    expect(v.calls.backup - before).toBe(9);
  });

  it("an incremental run killed midway resumes: copied blobs are kept and still say where they came from", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const first = await run(w);
    v.put("secrets", "echo", { contentType: "text/plain", updatedOn: "2026-11-25T10:00:00.000Z" });
    const job = await stoppedAtCopy(w, 4);
    const r = await runBackup(w.deps, job);
    expect(r).toMatchObject({ status: "succeeded", mode: "incremental" });
    const m = manifestOf(w, r.manifestPath);
    expect(m.items.filter((i) => i.copiedFrom === first.runId)).toHaveLength(8);
    expect(m.items.find((i) => i.name === "echo")?.copiedFrom).toBeUndefined();
    // The run's result counts what its manifest holds copied, the first attempt's copies included.
    expect(r.copied).toBe(8);
    expect((await verifyRun(w.deps, m)).ok).toBe(true);
  });
});
