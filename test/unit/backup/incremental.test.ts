import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import type { Manifest } from "../../../src/domain/manifest.js";
import { newRunId } from "../../../src/domain/runId.js";
import { Kinds, type Tier } from "../../../src/domain/vocabulary.js";
import { seed, world } from "../fakes/deps.js";

type World = ReturnType<typeof world>;

let clock = Date.parse("2026-11-20T02:00:00Z");
/** A run of demo-vault; each gets a later runId, as the days go by. */
const run = (w: World, over: { tier?: Tier; mode?: "full" | "incremental"; runId?: string } = {}) => {
  clock += 86_400_000;
  return runBackup(w.deps, {
    runId: over.runId ?? newRunId(new Date(clock)),
    vault: "demo-vault",
    tier: over.tier ?? "daily",
    trigger: "timer",
    ...(over.mode ? { mode: over.mode } : {}),
  });
};
const manifestOf = (w: World, path: string): Manifest =>
  JSON.parse(Buffer.from(w.storage.documents.get(path)?.bytes ?? []).toString("utf8"));

/** Every object's value in a vault, by kind/name: what "a restore equals the vault" compares. */
function contents(w: World, vault: string) {
  const v = w.vault(vault);
  const out: Record<string, string | undefined> = {};
  for (const kind of Kinds)
    for (const [name, o] of v.objects[kind])
      if (!o.info.managed) out[`${kind}/${name}`] = v.valueOf(kind, name);
  return out;
}

/** A restore of the run into an empty vault succeeds and equals demo-vault. */
async function expectRestoresToTheVault(w: World, runId: string): Promise<void> {
  const report = await runRestore(w.deps, { runId, vault: "demo-vault", targetVault: "restore-vault" });
  expect(report.status).toBe("succeeded");
  expect(contents(w, "restore-vault")).toEqual(contents(w, "demo-vault"));
}

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
    const ac = new AbortController();
    let copies = 0;
    const copy = w.storage.blobStore.copy;
    w.storage.blobStore.copy = async (...args) => {
      if (++copies === 4) ac.abort();
      return copy(...args);
    };
    clock += 86_400_000;
    const job = {
      runId: newRunId(new Date(clock)),
      vault: "demo-vault",
      tier: "daily" as const,
      trigger: "timer" as const,
    };
    await expect(runBackup(w.deps, job, { signal: ac.signal })).rejects.toThrow();
    w.storage.blobStore.copy = copy;
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
    const ac = new AbortController();
    let copies = 0;
    const copy = w.storage.blobStore.copy;
    w.storage.blobStore.copy = async (...args) => {
      if (++copies === 3) ac.abort();
      return copy(...args);
    };
    clock += 86_400_000;
    const job = {
      runId: newRunId(new Date(clock)),
      vault: "demo-vault",
      tier: "daily" as const,
      trigger: "timer" as const,
    };
    await expect(runBackup(w.deps, job, { signal: ac.signal })).rejects.toThrow();
    w.storage.blobStore.copy = copy;
    w.storage.documents.delete(first.manifestPath);
    const r = await runBackup(w.deps, job);
    const m = manifestOf(w, r.manifestPath);
    expect(m.items.some((i) => i.copiedFrom)).toBe(true);
    expect(m.mode).toBe("incremental");
    expect((await verifyRun(w.deps, m)).ok).toBe(true);
  });
});
