import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyRun } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { seed, world } from "../../fakes/deps.js";
import { expectRestoresToTheVault, manifestOf, run, stoppedAtCopy } from "./incrementalWorld.js";

describe("incremental runs, attacked", () => {
  it("a base blob damaged since (its size or its own SHA-256 no longer the manifest's) is not copied forward: backed up anew", async () => {
    const w = world();
    const v = seed(w.vault());
    const first = await run(w);
    const m1 = manifestOf(w, first.manifestPath);
    const [a, b] = [m1.items.find((i) => i.name === "alpha"), m1.items.find((i) => i.name === "bravo")];
    const blobA = w.storage.blobs.get(a?.blob as string);
    const blobB = w.storage.blobs.get(b?.blob as string);
    if (!blobA || !blobB) throw new Error("no blobs");
    blobA.bytes = blobA.bytes.slice(0, 10);
    blobB.facts = { ...blobB.facts, sha256: "f".repeat(64) };
    const before = v.calls.backup;
    const second = await run(w);
    expect(v.calls.backup - before).toBe(2);
    const m2 = manifestOf(w, second.manifestPath);
    expect(m2.items.filter((i) => i.copiedFrom)).toHaveLength(7);
    expect((await verifyRun(w.deps, m2)).ok).toBe(true);
  });

  it("a base blob rewritten since (other bytes with its size and metadata kept, or even the same bytes and metadata) is not copied: its ETag changed", async () => {
    const w = world();
    const v = seed(w.vault());
    const first = await run(w);
    const m1 = manifestOf(w, first.manifestPath);
    const a = m1.items.find((i) => i.name === "alpha");
    expect(a?.etag).toMatch(/^".+"$/);
    const blob = w.storage.blobs.get(a?.blob as string);
    if (!blob) throw new Error("no blob");
    blob.bytes = blob.bytes.map((b) => b ^ 0xff);
    const b = m1.items.find((i) => i.name === "bravo")?.blob as string;
    const same = w.storage.blobs.get(b);
    if (!same) throw new Error("no blob");
    w.storage.blobs.set(b, structuredClone(same));
    const before = v.calls.backup;
    const second = await run(w);
    expect(v.calls.backup - before).toBe(2);
    const m2 = manifestOf(w, second.manifestPath);
    expect(m2.items.find((i) => i.name === "alpha")?.copiedFrom).toBeUndefined();
    expect(m2.items.find((i) => i.name === "bravo")?.copiedFrom).toBeUndefined();
    expect(m2.items.filter((i) => i.copiedFrom)).toHaveLength(7);
    expect((await verifyRun(w.deps, m2)).ok).toBe(true);
    // A restore of the new run equals the vault: the rewritten blob's bytes never reached it.
    await expectRestoresToTheVault(w, second.runId);
  });

  it("an object listed with an empty content type is unchanged on the next incremental run (its item keeps the empty string)", async () => {
    const w = world();
    const v = seed(w.vault());
    v.put("secrets", "blank", { contentType: "" });
    const first = await run(w);
    expect(manifestOf(w, first.manifestPath).items.find((i) => i.name === "blank")?.contentType).toBe("");
    const before = v.calls.backup;
    const second = await run(w);
    expect(v.calls.backup - before).toBe(0);
    expect(manifestOf(w, second.manifestPath).items.find((i) => i.name === "blank")).toMatchObject({
      contentType: "",
      copiedFrom: first.runId,
    });
  });

  it("a base whose items all carry ETags is not listed; a base of an earlier version (no ETags) is, and its blobs' metadata checked", async () => {
    const w = world();
    const v = seed(w.vault());
    const first = await run(w);
    const listed: string[] = [];
    w.storage.fault = (op, path) => {
      if (op === "list" && path) listed.push(path);
      return undefined;
    };
    const firstPrefix = first.manifestPath.replace("manifest.json", "");
    const second = await run(w);
    expect(second.copied).toBe(9);
    expect(listed).not.toContain(firstPrefix);
    // The second run's manifest as an earlier version wrote it: no ETags (its row's hash follows).
    const m2 = manifestOf(w, second.manifestPath);
    for (const i of m2.items) delete i.etag;
    const bytes = Buffer.from(`${JSON.stringify(m2)}\n`);
    const doc = w.storage.documents.get(second.manifestPath);
    const row = w.storage.rows.get(second.runId);
    if (!doc || !row) throw new Error("no manifest");
    doc.bytes = bytes;
    row.manifestSha256 = createHash("sha256").update(bytes).digest("hex");
    // ... and one of its blobs damaged: only the metadata check sees it.
    const bravo = w.storage.blobs.get(m2.items.find((i) => i.name === "bravo")?.blob as string);
    if (!bravo) throw new Error("no blob");
    bravo.facts = { ...bravo.facts, sha256: "f".repeat(64) };
    const before = v.calls.backup;
    const third = await run(w);
    expect(listed).toContain(second.manifestPath.replace("manifest.json", ""));
    expect(v.calls.backup - before).toBe(1);
    const m3 = manifestOf(w, third.manifestPath);
    expect(m3.items.filter((i) => i.copiedFrom === second.runId)).toHaveLength(8);
    expect(m3.items.every((i) => i.etag)).toBe(true);
    expect((await verifyRun(w.deps, m3)).ok).toBe(true);
  });

  it("a copy that fails leaving a blob behind: the object is backed up over it, and the run verifies", async () => {
    const w = world();
    seed(w.vault());
    await run(w);
    const copy = w.storage.blobStore.copy;
    w.storage.blobStore.copy = async (_from, to, facts) => {
      // What a failed Copy Blob leaves in Azure: our metadata, not our bytes.
      w.storage.blobs.set(to, { bytes: new Uint8Array(0), facts: structuredClone(facts) });
      return undefined;
    };
    const r = await run(w);
    w.storage.blobStore.copy = copy;
    expect(r.status).toBe("succeeded");
    const m = manifestOf(w, r.manifestPath);
    expect(m.items.some((i) => i.copiedFrom)).toBe(false);
    expect((await verifyRun(w.deps, m)).ok).toBe(true);
  });

  it("an incremental run resumed after its base went: its copied items keep it incremental", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    const first = await run(w);
    const job = await stoppedAtCopy(w, 3);
    w.storage.documents.delete(first.manifestPath);
    const r = await runBackup(w.deps, job);
    const m = manifestOf(w, r.manifestPath);
    expect(m.items.some((i) => i.copiedFrom)).toBe(true);
    expect(m.mode).toBe("incremental");
    expect((await verifyRun(w.deps, m)).ok).toBe(true);
  });
});
