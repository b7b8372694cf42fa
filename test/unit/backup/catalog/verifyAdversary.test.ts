import { describe, expect, it } from "vitest";
import { verifyRun } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { seed, world } from "../../fakes/deps.js";
import { job, manifestOf } from "../adversaryWorld.js";

describe("verify", () => {
  it("a blob named manifest.json planted inside a kind's folder is extra; only the run's own manifest is not", async () => {
    const w = world();
    seed(w.vault());
    const r = await runBackup(w.deps, job());
    const planted = r.manifestPath.replace("manifest.json", "secrets/manifest.json");
    w.storage.blobs.set(planted, { bytes: Buffer.from("x"), facts: { sha256: "0".repeat(64) } });
    const v = await verifyRun(w.deps, manifestOf(w, r.manifestPath));
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([{ blob: planted, problem: "extra" }]);
  });
});
