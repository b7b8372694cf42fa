import { describe, expect, it } from "vitest";
import { verifyRun } from "../../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { readManifestBytes } from "../../../../src/domain/manifestCheck.js";
import { seed, world } from "../../fakes/deps.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { interrupted, job, manifestOf } from "../adversaryWorld.js";

describe("objects that change or go between two attempts of a run", () => {
  it("an object changed since the earlier attempt is backed up again: blob and manifest hold the new state", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const j = await interrupted(w, "charlie");
    const path = [...w.storage.blobs.keys()].find((k) => k.endsWith("/alpha.kvbak")) as string;
    const old = w.storage.blobs.get(path)?.bytes;
    v.put("secrets", "alpha", {
      contentType: "application/rotated",
      tags: { rotated: "yes" },
      updatedOn: "2026-11-26T03:00:00.000Z",
    });
    const r = await runBackup(w.deps, j);
    expect(r.status).toBe("succeeded");
    const alpha = manifestOf(w, r.manifestPath).items.find((i) => i.name === "alpha");
    expect(alpha).toMatchObject({
      contentType: "application/rotated",
      tags: { rotated: "yes" },
      updatedOn: "2026-11-26T03:00:00.000Z",
    });
    expect(w.storage.blobs.get(path)?.bytes).not.toEqual(old);
    expect((await verifyRun(w.deps, manifestOf(w, r.manifestPath))).ok).toBe(true);
  });

  it("an unchanged object is not backed up again", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const j = await interrupted(w, "charlie");
    const before = v.calls.backup;
    const written = w.storage.blobs.size;
    await runBackup(w.deps, j);
    expect(v.calls.backup - before).toBe(6 - written);
  });

  it("under immutability a changed object's old blob stays: the manifest records what that blob holds", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const j = await interrupted(w, "charlie");
    w.storage.immutable = true;
    v.put("secrets", "alpha", { contentType: "application/rotated", updatedOn: "2026-11-26T03:00:00.000Z" });
    const r = await runBackup(w.deps, j);
    const m = manifestOf(w, r.manifestPath);
    const alpha = m.items.find((i) => i.name === "alpha");
    expect(alpha?.contentType).toBe("text/plain");
    expect((await verifyRun(w.deps, m)).ok).toBe(true);
  });

  it("a blob in the way that says nothing of itself, and storage will not replace it: a named failure, partial", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    const j = job({ kinds: ["secrets"] });
    const prefix = `daily/demo-vault/${j.runId.slice(0, 4)}/${j.runId.slice(4, 6)}/${j.runId.slice(6, 8)}/${j.runId}/`;
    w.storage.blobs.set(`${prefix}secrets/bravo.kvbak`, {
      bytes: Buffer.from("half"),
      facts: { sha256: "0".repeat(64) },
    });
    w.storage.immutable = true;
    const r = await runBackup(w.deps, j);
    expect(r.status).toBe("partial");
    const m = manifestOf(w, r.manifestPath);
    expect(m.items.map((i) => i.name)).not.toContain("bravo");
    expect(m.failed).toEqual([expect.objectContaining({ name: "bravo", code: "BlobInTheWay" })]);
  });

  it("a blob left by an earlier attempt for an object gone since is deleted at the commit; verify passes", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const j = await interrupted(w, "charlie");
    v.remove("secrets", "alpha");
    const r = await runBackup(w.deps, j);
    const m = manifestOf(w, r.manifestPath);
    expect([...w.storage.blobs.keys()].some((k) => k.endsWith("/alpha.kvbak"))).toBe(false);
    expect(m.leftovers).toBeUndefined();
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true, problems: [] });
  });

  it("one storage will not delete (immutability) is named in the manifest as a leftover, and verify knows it", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const j = await interrupted(w, "charlie");
    v.remove("secrets", "alpha");
    w.storage.immutable = true;
    const r = await runBackup(w.deps, j);
    const m = manifestOf(w, r.manifestPath);
    expect(m.leftovers).toEqual([expect.stringMatching(/\/secrets\/alpha\.kvbak$/)]);
    expect(m.items.map((i) => i.name)).not.toContain("alpha");
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true, problems: [] });
  });

  /** A daily run's manifest of demo-vault, as bytes, with `extra` fields over the empty one. */
  const manifestOfRun = (runId: string, extra: Record<string, unknown>) => {
    const prefix = `daily/demo-vault/2026/11/26/${runId}/`;
    const m = {
      schemaVersion: 2,
      runId,
      vault: { name: "demo-vault", url: "https://demo-vault.vault.azure.net" },
      tier: "daily",
      trigger: "timer",
      startedAt: "x",
      finishedAt: "x",
      status: "succeeded",
      items: [],
      skipped: [],
      failed: [],
      ...extra,
    };
    return readManifestBytes(`${prefix}manifest.json`, Buffer.from(JSON.stringify(m)));
  };

  it("a manifest naming as leftover a blob of another folder, or one of its own items, is refused", () => {
    const j = job();
    const prefix = `daily/demo-vault/2026/11/26/${j.runId}/`;
    const read = (leftovers: string[]) => manifestOfRun(j.runId, { leftovers });
    expect(read([`${prefix}secrets/a.kvbak`]).ok).toBe(true);
    expect(read(["daily/other-vault/x.kvbak"])).toMatchObject({ ok: false });
  });

  it("a manifest item whose ETag is not a strong ETag storage could have given is refused (a copy would send it as x-ms-source-if-match)", () => {
    const j = job();
    const prefix = `daily/demo-vault/2026/11/26/${j.runId}/`;
    const read = (etag: string) =>
      manifestOfRun(j.runId, {
        items: [
          {
            kind: "secrets",
            name: "a",
            blob: `${prefix}secrets/a.kvbak`,
            bytes: 3,
            sha256: "0".repeat(64),
            enabled: true,
            etag,
          },
        ],
      });
    // Quoted as the ETag header gives it, or bare as List Blobs gives it.
    expect(read('"0x8DD1F2A3B4C5D6E"').ok).toBe(true);
    expect(read("0x8DD1F2A3B4C5D6E").ok).toBe(true);
    for (const bad of [
      "*",
      '"*"',
      '"x,*"',
      "*,x",
      "0x1,0x2",
      'W/"0x1"',
      "W/0x1",
      '"日本"',
      "日本",
      '"a\u0001b"',
      '"a\r\nx-ms-foo: 1"',
      "a b",
      '""',
      '"a"b"',
      `"${"a".repeat(199)}"`,
    ])
      expect(read(bad), bad).toMatchObject({ ok: false });
  });
});

describe("a runId delivered twice", () => {
  it("a committed manifest edited since is refused on redelivery, and its row is left as it was", async () => {
    const w = world();
    seed(w.vault());
    const j = job();
    const first = await runBackup(w.deps, j);
    const row = structuredClone(w.storage.rows.get(j.runId));
    const doc = w.storage.documents.get(first.manifestPath);
    if (!doc) throw new Error("no manifest");
    const edited = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
    edited.status = "succeeded";
    edited.items = edited.items.slice(1);
    doc.bytes = Buffer.from(JSON.stringify(edited));
    const again = await runBackup(w.deps, j);
    expect(again).toMatchObject({ status: "failed", diagnosis: { code: "CorruptManifest" } });
    expect(w.storage.rows.get(j.runId)).toEqual(row);
    expect(w.telemetry.events).toHaveLength(1);
  });

  it("a delivery that commits while another of the same runId runs: the loser answers with the winner's manifest", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    const j = job();
    // The winner writes the manifest just before this delivery commits.
    let stolen = false;
    const create = w.storage.documentStore.create;
    w.storage.documentStore.create = async (path, bytes, signal) => {
      if (!stolen && path.endsWith("manifest.json")) {
        stolen = true;
        const all =
          bytes instanceof Uint8Array
            ? Buffer.from(bytes)
            : Buffer.concat([...bytes.chunks()].map((c) => Buffer.from(c)));
        const theirs = JSON.parse(all.toString("utf8"));
        theirs.finishedAt = "2026-11-26T02:00:59.000Z";
        await create(path, Buffer.from(JSON.stringify(theirs)), signal);
      }
      return create(path, bytes, signal);
    };
    const r = await runBackup(w.deps, j);
    expect(r).toMatchObject({ status: "succeeded", alreadyCommitted: true });
    expect(manifestOf(w, r.manifestPath).finishedAt).toBe("2026-11-26T02:00:59.000Z");
  });

  it("the winner's manifest gone again by then: a retryable failure, not a success", async () => {
    const w = world();
    seed(w.vault());
    const j = job();
    w.storage.documentStore.create = async () => false;
    await expect(runBackup(w.deps, j)).rejects.toSatisfy(
      (e) => isKvBackupError(e, "RunFailed") && e.retryable,
    );
  });
});

describe("storage lost outside the object writes", () => {
  it("at the lease: a failed run with the storage diagnosis, at the preflight", async () => {
    const w = world();
    seed(w.vault());
    w.storage.fault = (op) => (op === "lease" ? storageError(403, "AuthorizationFailure") : undefined);
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "preflight",
      diagnosis: { code: "StorageFirewall" },
    });
    expect(w.vault().calls.backup).toBe(0);
  });

  it("at the check for an earlier commit: failed with the storage diagnosis, nothing backed up", async () => {
    const w = world();
    seed(w.vault());
    w.storage.fault = (op) =>
      op === "docRead" ? storageError(403, "AuthorizationPermissionMismatch") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({ status: "failed", diagnosis: { code: "StorageRbac" } });
    expect(w.vault().calls.backup).toBe(0);
  });

  it("when the lease cannot be renewed because storage refuses: the run fails with that diagnosis, not LeaseLost", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    v.onBackup = () => {
      if (v.calls.backup === 2) w.storage.loseLease("demo-vault", storageError(403, "AuthorizationFailure"));
    };
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "mid-run",
      diagnosis: { code: "StorageFirewall" },
    });
    expect([...w.storage.documents.keys()].some((k) => k.endsWith("manifest.json"))).toBe(false);
    expect(w.telemetry.events).toEqual([expect.objectContaining({ status: "failed" })]);
  });
});
