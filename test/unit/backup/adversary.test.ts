import { describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { VaultLimiter } from "../../../src/backup/limiter.js";
import { planRestore } from "../../../src/backup/restore/plan.js";
import { runRestoreJob, submitRestore } from "../../../src/backup/restore/restoreJobs.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import type { Manifest } from "../../../src/domain/manifest.js";
import { readManifestBytes } from "../../../src/domain/manifestCheck.js";
import { newRunId } from "../../../src/domain/runId.js";
import { seed, world } from "../fakes/deps.js";
import { fakeClock } from "../fakes/fakeClock.js";
import { storageError } from "../fakes/memoryStorage.js";
import { kvError } from "../fakes/memoryVault.js";

/**
 * Regressions for what an adversary broke in the engine: each attack, then what must hold — and,
 * where data is at stake, that the run still restores or verifies as it says.
 */

const job = (over: Partial<Parameters<typeof runBackup>[1]> = {}) => ({
  runId: newRunId(new Date("2026-11-26T02:00:00Z")),
  vault: "demo-vault",
  tier: "daily" as const,
  trigger: "timer" as const,
  ...over,
});
const manifestOf = (w: ReturnType<typeof world>, path: string): Manifest =>
  JSON.parse(Buffer.from(w.storage.documents.get(path)?.bytes ?? []).toString("utf8"));

/** Runs a secrets-only backup that stops (aborted) when the backup of `stopAt` starts. */
async function interrupted(w: ReturnType<typeof world>, stopAt: string) {
  const v = w.vault();
  const ac = new AbortController();
  v.onBackup = (_k, name) => {
    if (name === stopAt) ac.abort();
  };
  const j = job({ kinds: ["secrets"] });
  await expect(runBackup(w.deps, j, { signal: ac.signal })).rejects.toThrow();
  v.onBackup = () => undefined;
  return j;
}

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

describe("restore filters", () => {
  it("kinds: keys on a vault with certificates names each certificate's key as not in the backup", async () => {
    const w = world();
    seed(w.vault());
    const r = await runBackup(w.deps, job());
    const plan = await planRestore(
      w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() })),
      manifestOf(w, r.manifestPath),
      { kinds: ["keys"] },
    );
    expect(plan.filter((p) => p.action === "restore").map((p) => p.name)).toEqual(["dek", "signing"]);
    expect(plan.filter((p) => p.action === "not-in-backup")).toEqual([
      expect.objectContaining({ kind: "keys", name: "www", detail: expect.stringContaining("certificate") }),
    ]);
    const withCertificates = await planRestore(
      w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() })),
      manifestOf(w, r.manifestPath),
      { kinds: ["keys", "certificates"] },
    );
    expect(withCertificates.every((p) => p.action === "restore")).toBe(true);
  });
});

describe("faults the matrix had no test for", () => {
  it("an object deleted between its listing and its backup is a skip (deleted-during-run), not a failure", async () => {
    const w = world();
    const v = seed(w.vault());
    // Listed, then deleted: its backup call is the first to find it gone.
    v.fault = (op, kind, name) => {
      if (op === "backup" && kind === "secrets" && name === "bravo") v.remove("secrets", "bravo");
      return undefined;
    };
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("succeeded");
    const m = manifestOf(w, r.manifestPath);
    expect(m.skipped).toContainEqual({ kind: "secrets", name: "bravo", reason: "deleted-during-run" });
    expect(m.items.map((i) => i.name)).not.toContain("bravo");
  });

  it("storage busy (503 ServerBusy after the SDK's retries) mid-run: failed, StorageBusy, no manifest", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    let puts = 0;
    w.storage.fault = (op) => (op === "put" && ++puts > 2 ? storageError(503, "ServerBusy") : undefined);
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({ status: "failed", stoppedAt: "mid-run", diagnosis: { code: "StorageBusy" } });
    expect(w.storage.documents.has(r.manifestPath)).toBe(false);
    expect(w.telemetry.events).toEqual([
      expect.objectContaining({ status: "failed", firstFailureCode: "StorageBusy" }),
    ]);
  });

  it("Key Vault answering 503 for one object after every retry: that object fails KeyVaultUnavailable, the run is partial", async () => {
    const w = world();
    seed(w.vault()).fault = (op, _k, name) =>
      op === "backup" && name === "charlie" ? kvError(503, "ServiceUnavailable") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("partial");
    expect(r.failed).toEqual([expect.objectContaining({ name: "charlie", code: "KeyVaultUnavailable" })]);
  });

  it("'latest' of a vault with no committed run, and a committed run whose manifest was deleted: NotFound, said plainly", async () => {
    const w = world();
    seed(w.vault());
    await expect(findRun(w.deps, "latest", "demo-vault")).rejects.toSatisfy(
      (e) =>
        isKvBackupError(e, "NotFound") && /no committed run of vault 'demo-vault'/.test(String(e.message)),
    );
    const r = await runBackup(w.deps, job());
    w.storage.documents.delete(r.manifestPath);
    await expect(findRun(w.deps, r.runId, "demo-vault")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "NotFound"),
    );
    await expect(findRun(w.deps, "latest", "demo-vault")).rejects.toSatisfy((e) =>
      isKvBackupError(e, "NotFound"),
    );
  });
});

describe("a resumed run whose listing fails part-way", () => {
  it("keeps the earlier attempt's blobs of that kind (named as leftovers), and the plan says what the run holds", async () => {
    const w = world({}, { concurrency: 1 });
    const v = w.vault();
    for (let i = 0; i < 9; i++) v.put("secrets", `s${i}`, { updatedOn: "2026-11-26T01:00:00.000Z" });
    v.put("keys", "k1", { updatedOn: "2026-11-26T01:00:00.000Z" });
    const j = job();
    const ac = new AbortController();
    v.onBackup = (kind) => {
      if (kind === "keys") ac.abort();
    };
    await expect(runBackup(w.deps, j, { signal: ac.signal })).rejects.toThrow();
    v.onBackup = () => undefined;
    const secretBlobs = () => [...w.storage.blobs.keys()].filter((k) => k.includes("/secrets/"));
    expect(secretBlobs()).toHaveLength(9);
    let pages = 0;
    v.fault = (op, kind) =>
      op === "list" && kind === "secrets" && ++pages === 2 ? kvError(503, "ServiceUnavailable") : undefined;
    const r = await runBackup(w.deps, j);
    expect(r.status).toBe("partial");
    expect(secretBlobs()).toHaveLength(9);
    const m = manifestOf(w, r.manifestPath);
    const held = m.items.filter((i) => i.kind === "secrets").map((i) => i.blob);
    expect([...held, ...(m.leftovers ?? [])].sort()).toEqual(secretBlobs().sort());
    expect(await verifyRun(w.deps, m)).toMatchObject({ ok: true });
    const plan = await planRestore(
      w.vault("restore-vault").port(new VaultLimiter({ ratePer10s: 4000, clock: fakeClock() })),
      m,
      {},
    );
    expect(plan.find((p) => p.name === "*")?.detail).toContain(
      "holds only the secrets listed before the failure",
    );
  });
});

describe("queued restores", () => {
  it("'latest' is pinned when the restore is accepted: a run committed before the worker starts is not restored instead", async () => {
    const w = world();
    const v = w.vault();
    v.put("secrets", "db-password").put("secrets", "other");
    const good = await runBackup(w.deps, job({ tier: "manual" }));
    v.remove("secrets", "db-password");
    const asked = await submitRestore(w.deps, {
      runId: "latest",
      vault: "demo-vault",
      targetVault: "restore-vault",
    });
    if (asked.dryRun) throw new Error("not a dry run");
    expect(asked.runId).toBe(good.runId);
    // The damaged vault's own backup commits first.
    await runBackup(w.deps, job({ tier: "manual", runId: newRunId(new Date("2026-11-26T03:00:00Z")) }));
    const done = await runRestoreJob(w.deps, asked.restoreId);
    expect(done.status).toBe("succeeded");
    expect(done.report?.source.runId).toBe(good.runId);
    expect(w.vault("restore-vault").valueOf("secrets", "db-password")).toBeDefined();
  });

  it.each(["skip", "fail"] as const)(
    "delivered again after a cut-off (onConflict %s): what the earlier attempt restored is reported restored",
    async (onConflict) => {
      const w = world();
      w.vault().put("secrets", "a").put("secrets", "b");
      const run = await runBackup(w.deps, job({ tier: "manual" }));
      const asked = await submitRestore(w.deps, {
        runId: run.runId,
        vault: "demo-vault",
        targetVault: "restore-vault",
        onConflict,
      });
      if (asked.dryRun) throw new Error("not a dry run");
      // The earlier attempt restored "a", recorded it, and was cut off.
      w.vault("restore-vault").put("secrets", "a");
      const path = `restores/${asked.restoreId}.json`;
      const doc = w.storage.documents.get(path);
      if (!doc) throw new Error("no state");
      const state = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
      state.status = "running";
      state.progress = [{ kind: "secrets", name: "a", outcome: "restored" }];
      doc.bytes = Buffer.from(JSON.stringify(state));
      const done = await runRestoreJob(w.deps, asked.restoreId);
      expect(done.status).toBe("succeeded");
      expect(done.report?.results?.map((r) => `${r.name}:${r.outcome}`).sort()).toEqual([
        "a:restored",
        "b:restored",
      ]);
    },
  );
});

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
