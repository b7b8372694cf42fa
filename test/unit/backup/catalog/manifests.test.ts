import { describe, expect, it } from "vitest";
import { findRun } from "../../../../src/backup/catalog/findRun.js";
import { showRun } from "../../../../src/backup/catalog/showRun.js";
import { verifyRef } from "../../../../src/backup/catalog/verifyRun.js";
import { runRestore } from "../../../../src/backup/restore/runRestore.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { twoRuns } from "../catalogWorld.js";

describe("manifests that cannot be trusted", () => {
  it.each([
    ["not JSON", () => "{ this is not json"],
    ["an empty object", () => ({})],
    [
      "two items swapped (blob, sha256, bytes)",
      (m: { items: { blob: string; sha256: string; bytes: number }[] }) => {
        const [a, b] = m.items;
        if (!a || !b) throw new Error("need two items");
        [a.blob, b.blob] = [b.blob, a.blob];
        [a.sha256, b.sha256] = [b.sha256, a.sha256];
        [a.bytes, b.bytes] = [b.bytes, a.bytes];
        return m;
      },
    ],
    [
      "a valid manifest edited after the commit",
      (m: { status: string }) => ({ ...m, status: "succeeded", finishedAt: "2030-01-01T00:00:00Z" }),
    ],
  ])(
    "%s: 'latest' passes over it; by runId it is a CorruptManifest diagnosis, never a crash",
    async (_label, edit) => {
      const { w, older, newer, edit: apply } = await twoRuns();
      apply(edit as (m: Record<string, unknown>) => unknown);
      expect((await findRun(w.deps, "latest", "demo-vault")).manifest.runId).toBe(older.runId);
      const e = await findRun(w.deps, newer.runId, "demo-vault").catch((x: unknown) => x);
      expect(isKvBackupError(e, "CorruptManifest")).toBe(true);
      expect((e as { diagnosis?: { code: string } }).diagnosis?.code).toBe("CorruptManifest");
      const shown = await showRun(w.deps, newer.runId);
      expect(shown.manifest).toBeUndefined();
      expect(shown.manifestProblem?.code).toBe("CorruptManifest");
      await expect(
        runRestore(w.deps, { runId: newer.runId, vault: "demo-vault", names: ["alpha"] }),
      ).rejects.toSatisfy((x) => isKvBackupError(x, "CorruptManifest"));
    },
  );

  it("verify reports corrupt, missing and extra blobs", async () => {
    const { w, newer } = await twoRuns();
    const paths = [...w.storage.blobs.keys()].filter((k) => k.includes(newer.runId));
    (w.storage.blobs.get(paths[0] as string) as { bytes: Uint8Array }).bytes = new Uint8Array([1]);
    w.storage.blobs.delete(paths[1] as string);
    w.storage.blobs.set(newer.manifestPath.replace("manifest.json", "secrets/smuggled.kvbak"), {
      bytes: new Uint8Array([2]),
      facts: { sha256: "x" },
    });
    const v = await verifyRef(w.deps, newer.runId, "demo-vault");
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.problem).sort()).toEqual(["corrupt", "extra", "missing"]);
  });

  it("showRun of an unknown run is NotFound; of a bad id BadRequest", async () => {
    const { w } = await twoRuns();
    await expect(showRun(w.deps, "20990101T000000Z-aaaaaa")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "NotFound"),
    );
    await expect(showRun(w.deps, "../etc")).rejects.toSatisfy((e) => isKvBackupError(e, "BadRequest"));
  });
});
