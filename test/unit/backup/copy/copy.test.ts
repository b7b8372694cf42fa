import { describe, expect, it } from "vitest";
import { verifyRef } from "../../../../src/backup/catalog/verifyRun.js";
import { copyHealth } from "../../../../src/backup/copy/copyHealth.js";
import { copyLagSeconds } from "../../../../src/backup/copy/copyLag.js";
import { copyPass } from "../../../../src/backup/copy/copyPass.js";
import { fromCopy } from "../../../../src/backup/copy/fromCopy.js";
import { runBackup, runRestore } from "../../../../src/backup/engine.js";
import { eventBlob } from "../../../../src/backup/events/backupEvent.js";
import { copyDiagnosis } from "../../../../src/diagnosis/copy.js";
import { azureCallError, KvBackupError } from "../../../../src/domain/errors.js";
import type { InventoryRow } from "../../../../src/domain/inventory.js";
import { sha256Hex } from "../../../../src/domain/manifestCheck.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { MemoryCopy } from "../../fakes/memoryCopy.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { postRestore } from "../../fakes/restoreRequest.js";
import { job as hsmJob, hsms as hsmList } from "../hsm/hsmWorld.js";
import { history } from "../restore/pointInTimeWorld.js";

/** The backup account deleted: its name no longer resolves. */
const accountGone = () =>
  azureCallError({ service: "storage", networkCode: "ENOTFOUND", message: "getaddrinfo ENOTFOUND (test)" });

const CopyConfig = {
  blobServiceUri: "https://copyacct.blob.core.windows.net",
  container: "keyvault-backups",
  maxLagHours: 26,
};

function copyWorld() {
  const w = world({ copy: CopyConfig });
  const copy = new MemoryCopy(w.storage);
  w.deps.copy = copy;
  seed(w.vault());
  return { w, copy };
}

let minute = 0;
const job = (tier: "daily" | "manual" = "manual") => ({
  // Runs of the day before the world's calendar: none named in its future (the copy refuses those as made up).
  runId: newRunId(new Date(Date.parse("2026-11-25T02:00:00Z") + ++minute * 60_000)),
  vault: "demo-vault",
  tier,
  trigger: "cli" as const,
});

/** Someone who may add to the copy puts `real`'s folder there again, as run `fake` in `tier`. */
function plant(copy: MemoryCopy, real: string, fake: string, tier?: string): void {
  const move = (p: string) => {
    const moved = p.replace(
      /\d{4}\/\d{2}\/\d{2}\/[^/]+\//,
      `${fake.slice(0, 4)}/${fake.slice(4, 6)}/${fake.slice(6, 8)}/${fake}/`,
    );
    return tier ? moved.replace(/^[a-z]+\//, `${tier}/`) : moved;
  };
  for (const [path, blob] of [...copy.store.blobs].filter(([p]) => p.includes(real)))
    copy.store.blobs.set(move(path), blob);
  for (const [path, doc] of [...copy.store.documents].filter(([p]) => p.includes(real))) {
    const m = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
    const forged = {
      ...m,
      runId: fake,
      ...(tier ? { tier } : {}),
      items: m.items.map((i: { blob: string }) => ({ ...i, blob: move(i.blob) })),
    };
    copy.store.documents.set(move(path), { bytes: Buffer.from(JSON.stringify(forged)), etag: '"p"' });
  }
}
describe("the isolated copy after a run", () => {
  it("copies every blob, the manifest last, verifies them, and records the copy on the run's row", async () => {
    const { w, copy } = copyWorld();
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("succeeded");
    const mine = r.copy?.runs.find((c) => c.runId === r.runId);
    expect(mine).toMatchObject({ status: "copied", blobs: 10, added: 10, method: "server-side" });
    expect(copy.added.at(-1)).toBe(r.manifestPath);
    expect(copy.added).toHaveLength(10);
    expect(w.storage.rows.get(r.runId)?.copy).toMatchObject({ status: "copied", blobs: 10 });
    expect(w.telemetry.copies).toEqual([
      expect.objectContaining({ runId: r.runId, status: "copied", lagSeconds: 0 }),
    ]);
  });

  it("a copy that fails leaves the run's verdict as it was, says why on its row, and the next pass copies it", async () => {
    const { w, copy } = copyWorld();
    copy.fault = () => storageError(403, "AuthorizationFailure");
    const first = await runBackup(w.deps, job());
    expect(first.status).toBe("succeeded");
    expect(w.telemetry.events.at(-1)).toMatchObject({ runId: first.runId, status: "succeeded" });
    expect(w.storage.rows.get(first.runId)?.status).toBe("succeeded");
    expect(w.storage.rows.get(first.runId)?.copy).toMatchObject({
      status: "failed",
      code: "CopyUnreachable",
    });
    expect(w.telemetry.copies.at(-1)).toMatchObject({ status: "failed", code: "CopyUnreachable" });
    copy.fault = () => undefined;
    const second = await runBackup(w.deps, job());
    expect(second.copy?.runs.map((c) => [c.runId, c.status])).toEqual([
      [second.runId, "copied"],
      [first.runId, "copied"],
    ]);
    expect(w.storage.rows.get(first.runId)?.copy?.status).toBe("copied");
  });

  it("a blob already in the copy that is not the run's bytes fails the copy (it cannot be written over)", async () => {
    const { w, copy } = copyWorld();
    const r = await runBackup(w.deps, job());
    const bad = newRunId(new Date("2026-11-25T23:00:00Z"));
    // Someone with add rights got there first with other bytes at the next run's path.
    const next = { ...job(), runId: bad };
    copy.fault = (path) => {
      if (path.includes(bad) && path.endsWith(".kvbak") && !copy.store.blobs.has(path)) {
        copy.store.blobs.set(path, { bytes: Uint8Array.from([1, 2, 3]), facts: { sha256: "0".repeat(64) } });
      }
      return undefined;
    };
    const second = await runBackup(w.deps, next);
    const mine = second.copy?.runs.find((c) => c.runId === bad);
    expect(mine?.status).toBe("failed");
    expect(mine?.diagnosis?.code).toBe("CopyMismatch");
    expect(w.storage.rows.get(r.runId)?.copy?.status).toBe("copied");
  });

  it("event backups are copied too, each read back against its SHA-256; a later pass trusts what it verified", async () => {
    const { w, copy } = copyWorld();
    const good = eventBlob("demo-vault", "secrets", "alpha", new Date("2026-11-26T02:01:00Z"), "v1");
    const bad = eventBlob("demo-vault", "secrets", "bravo", new Date("2026-11-26T02:01:00Z"), "v2");
    w.storage.blobs.set(good, {
      bytes: Uint8Array.from([9, 9]),
      facts: { sha256: sha256Hex(Uint8Array.from([9, 9])) },
    });
    // Its metadata's SHA-256 is not its bytes': read back from the copy, it is named.
    w.storage.blobs.set(bad, { bytes: Uint8Array.from([7]), facts: { sha256: "0".repeat(64) } });
    const r = await runBackup(w.deps, job());
    expect(r.copy?.events).toMatchObject({ added: 2, verified: 1, failed: 1 });
    expect(r.copy?.events.diagnosis?.code).toBe("CopyMismatch");
    expect(copy.store.blobs.has(good)).toBe(true);
    // The next pass reads back what it has not read yet: the bad one stays named (it cannot be replaced).
    const again = await copyPass({ ...w.deps, copy }, "demo-vault");
    expect(again.events).toMatchObject({ added: 0, verified: 1, present: 0, failed: 1 });
  });

  it("an event backup there before any pass read it is read back (a same-size blob with forged metadata is caught), then trusted", async () => {
    const { w, copy } = copyWorld();
    const good = eventBlob("demo-vault", "secrets", "alpha", new Date("2026-11-26T02:01:00Z"), "v1");
    const bytes = Uint8Array.from([9, 9]);
    w.storage.blobs.set(good, { bytes, facts: { sha256: sha256Hex(bytes) } });
    // Added to the copy by someone else first: same size, the primary's SHA-256 as metadata, other bytes.
    copy.store.blobs.set(good, { bytes: Uint8Array.from([6, 6]), facts: { sha256: sha256Hex(bytes) } });
    copy.created.set(good, "2026-11-26T01:00:00Z");
    const pass = await copyPass({ ...w.deps, copy }, "demo-vault");
    expect(pass.events).toMatchObject({
      verified: 0,
      present: 0,
      failed: 1,
      diagnosis: { code: "CopyMismatch" },
    });
    // A right one, read back once, is trusted by its listing afterwards (no read every pass).
    copy.store.blobs.set(good, { bytes, facts: { sha256: sha256Hex(bytes) } });
    expect((await copyPass({ ...w.deps, copy }, "demo-vault")).events).toMatchObject({
      verified: 1,
      failed: 0,
    });
    expect((await copyPass({ ...w.deps, copy }, "demo-vault")).events).toMatchObject({
      verified: 0,
      present: 1,
    });
  });
});

describe("reading the copy", () => {
  it("restores and verifies from the copy when the backup account's blobs and inventory are gone", async () => {
    const { w } = copyWorld();
    const r = await runBackup(w.deps, job());
    w.storage.blobs.clear();
    w.storage.documents.clear();
    w.storage.fault = (op) =>
      ["rowRead", "rowWrite", "lease", "list", "read", "docRead"].includes(op) ? accountGone() : undefined;
    const verified = await verifyRef(fromCopy(w.deps), "latest", "demo-vault");
    expect(verified).toMatchObject({ runId: r.runId, ok: true, expected: 9 });
    const restored = await runRestore(w.deps, {
      runId: "latest",
      vault: "demo-vault",
      targetVault: "restore-vault",
      from: "copy",
    });
    expect(restored.status).toBe("succeeded");
    expect(restored.source).toMatchObject({ runId: r.runId, from: "copy" });
    expect(w.vault("restore-vault").objects.secrets.size).toBe(6);
  });

  it("verify --from copy names a blob the copy holds with other bytes", async () => {
    const { w, copy } = copyWorld();
    const r = await runBackup(w.deps, job());
    const item = [...copy.store.blobs.keys()].find((k) => k.includes(r.runId)) as string;
    (copy.store.blobs.get(item) as { bytes: Uint8Array }).bytes = Uint8Array.from([0]);
    const v = await verifyRef(fromCopy(w.deps), r.runId, "demo-vault");
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ blob: item, problem: "corrupt" })]);
  });

  it("--from copy without BACKUP_COPY_BLOB_URI is a bad setting, named", () => {
    const w = world();
    expect(() => fromCopy(w.deps)).toThrow(/BACKUP_COPY_BLOB_URI/);
  });
});

describe("doctor on the copy", () => {
  it("is green only when delete and overwrite are refused to the app", async () => {
    const { w, copy } = copyWorld();
    expect((await copyHealth(w.deps))?.ok).toBe(true);
    copy.rights = { remove: "deleted", overwrite: "refused" };
    const h = await copyHealth(w.deps);
    expect(h?.ok).toBe(false);
    expect(h?.checks.noDelete.diagnosis?.code).toBe("CopyNotAppendOnly");
    copy.rights = { remove: "refused", overwrite: "overwritten" };
    expect((await copyHealth(w.deps))?.checks.noOverwrite.diagnosis?.code).toBe("CopyNotAppendOnly");
    // Refused only by the version's retention (409): the role let the delete through — red too.
    copy.rights = { remove: "retained", overwrite: "refused" };
    const retained = await copyHealth(w.deps);
    expect(retained?.ok).toBe(false);
    expect(retained?.checks.noDelete.diagnosis?.cause).toMatch(/only the version's retention refused it/);
  });
});

describe("copy lag", () => {
  const row = (runId: string, finishedAt: string, copied?: "copied" | "failed"): InventoryRow =>
    ({
      vault: "v",
      runId,
      status: "succeeded",
      startedAt: finishedAt,
      finishedAt,
      ...(copied ? { copy: { status: copied, at: finishedAt, blobs: 1, bytes: 1 } } : {}),
    }) as InventoryRow;
  const now = new Date("2026-12-07T12:00:00Z");

  it("is 0 when the newest run is copied, else the age of the oldest run the copy lacks", () => {
    expect(copyLagSeconds([row("c", "2026-12-07T11:00:00Z", "copied")], now)).toBe(0);
    expect(
      copyLagSeconds(
        [
          row("c", "2026-12-07T11:00:00Z", "failed"),
          row("b", "2026-12-07T10:00:00Z"),
          row("a", "2026-12-07T02:00:00Z", "copied"),
        ],
        now,
      ),
    ).toBe(2 * 3600);
    expect(copyLagSeconds([row("b", "2026-12-07T10:00:00Z"), row("a", "2026-12-06T12:00:00Z")], now)).toBe(
      24 * 3600,
    );
    expect(copyLagSeconds([], now)).toBeUndefined();
  });
});

describe("a point in time from the copy", () => {
  it("restores the vault as it was from the copied runs and event backups, with the backup account's blobs gone", async () => {
    const w = world({ copy: CopyConfig });
    const copy = new MemoryCopy(w.storage);
    w.deps.copy = copy;
    const h = await history(w);
    // Every event backup was added to the copy as it was written, with its SHA-256 and event time.
    expect([...copy.store.blobs.keys()].filter((k) => k.startsWith("events/"))).toHaveLength(3);
    w.storage.blobs.clear();
    w.storage.documents.clear();
    const r = await runRestore(w.deps, {
      runId: "latest",
      at: h.at,
      vault: "demo-vault",
      targetVault: "restore-vault",
      from: "copy",
    });
    expect(r.status).toBe("succeeded");
    expect(r.source).toMatchObject({ runId: h.first.runId, from: "copy" });
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(h.alphaThen);
    expect(w.vault("restore-vault").objects.secrets.has("zulu")).toBe(true);
  });
});

describe("POST /api/restores from the copy", () => {
  const post = (w: ReturnType<typeof world>, body: unknown) => postRestore(w.deps, body);

  it("plans from the copy with from: copy, and refuses any other from with a problem", async () => {
    const { w } = copyWorld();
    const r = await runBackup(w.deps, job());
    w.storage.blobs.clear();
    w.storage.documents.clear();
    const ask = { runId: "latest", vault: "demo-vault", targetVault: "restore-vault", dryRun: true };
    const ok = await post(w, { ...ask, from: "copy" });
    expect(ok.status).toBe(200);
    expect(JSON.parse(String(ok.body)).source).toMatchObject({ runId: r.runId, from: "copy" });
    const bad = await post(w, { ...ask, from: "primary" });
    expect(bad.status).toBe(400);
    expect(String(bad.body)).toMatch(/from/);
    // Without from, the backup account is read: its blobs are gone, and it says so.
    expect((await post(w, ask)).status).toBe(404);
  });
});

describe("a run added to the copy under an older name (a compromised identity may add)", () => {
  it("restore --at from the copy takes only what the copy held then, by Storage's creation time", async () => {
    const w = world({ copy: CopyConfig });
    const copy = new MemoryCopy(w.storage);
    w.deps.copy = copy;
    const h = await history(w);
    // Later, someone who may add plants a run named as taken just before `at`: a copy of the
    // newest real run's folder under that older runId, its blobs created now (after `at`).
    copy.now = () => new Date(Date.parse(h.at) + 3_600_000);
    const fake = newRunId(new Date(Date.parse(h.at) - 1000));
    const real = h.second.runId;
    for (const [path, blob] of [...copy.store.blobs].filter(([p]) => p.includes(real))) {
      const to = path.replace(real, fake).replace(/\/daily\/demo-vault\/\d{4}\/\d{2}\/\d{2}\//, (m) => m);
      copy.store.blobs.set(to, blob);
      copy.created.set(to, copy.now().toISOString());
    }
    for (const [path, doc] of [...copy.store.documents].filter(([p]) => p.includes(real))) {
      const manifest = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
      const forged = { ...manifest, runId: fake, startedAt: h.at, finishedAt: h.at };
      forged.items = manifest.items.map((i: { blob: string }) => ({
        ...i,
        blob: i.blob.replace(real, fake),
      }));
      const to = path.replace(real, fake);
      copy.store.documents.set(to, { bytes: Buffer.from(JSON.stringify(forged)), etag: '"f"' });
      copy.created.set(to, copy.now().toISOString());
    }
    const plan = await runRestore(w.deps, {
      runId: "latest",
      at: new Date(Date.parse(h.at) + 1).toISOString(),
      vault: "demo-vault",
      targetVault: "restore-vault",
      dryRun: true,
      from: "copy",
    });
    expect(plan.source.runId).toBe(h.first.runId);
  });
});

describe("a Managed HSM's run with the copy on", () => {
  it("is not copied, and the event says skipped (the copy-lagging alert counts it as accounted for)", async () => {
    const w = world({ hsms: hsmList, copy: CopyConfig }, { hsmPollMs: 1, hsmJobTimeoutMs: 50 });
    const copy = new MemoryCopy(w.storage);
    w.deps.copy = copy;
    const r = await runBackup(w.deps, hsmJob());
    expect(r.status).toBe("succeeded");
    expect(copy.added).toEqual([]);
    expect(w.telemetry.copies).toEqual([
      expect.objectContaining({
        runId: r.runId,
        vault: "demo-hsm",
        status: "skipped",
        code: "CopyNotForHsm",
      }),
    ]);
  });
});

describe("a run added to the copy by someone who may add (a replay of an old run)", () => {
  it("is not 'latest': named in the future it is made up; unknown to the backup account's inventory it is not taken", async () => {
    const { w, copy } = copyWorld();
    const old = await runBackup(w.deps, job());
    const newest = await runBackup(w.deps, job());
    plant(copy, old.runId, newRunId(new Date("2099-12-07T00:00:00Z")));
    plant(copy, old.runId, newRunId(new Date(w.deps.now().getTime() - 1000)));
    const v = await verifyRef(fromCopy(w.deps), "latest", "demo-vault");
    expect(v.runId).toBe(newest.runId);
    // A run the inventory knows, but whose manifest in the copy is not the one it recorded, is passed over too.
    const manifest = newest.manifestPath;
    const doc = copy.store.documents.get(manifest) as { bytes: Uint8Array; etag: string };
    const edited = {
      ...JSON.parse(Buffer.from(doc.bytes).toString("utf8")),
      status: "succeeded",
      skipped: [],
    };
    copy.store.documents.set(manifest, { bytes: Buffer.from(JSON.stringify(edited)), etag: '"e"' });
    expect((await verifyRef(fromCopy(w.deps), "latest", "demo-vault")).runId).toBe(old.runId);
  });
});

describe("from copy without a copy", () => {
  it("is the caller's mistake over HTTP: a 400 problem naming BACKUP_COPY_BLOB_URI, not a 503", async () => {
    const w = world();
    const res = await postRestore(w.deps, {
      runId: "latest",
      vault: "demo-vault",
      dryRun: true,
      from: "copy",
    });
    expect(res.status).toBe(400);
    expect(String(res.body)).toMatch(/BACKUP_COPY_BLOB_URI/);
  });
});

describe("the backup account's word on runs in the copy (adversary recheck)", () => {
  it("a runId the backup account has only as failed or running is not taken, from latest or by name", async () => {
    const { w, copy } = copyWorld();
    const old = await runBackup(w.deps, job());
    const newest = await runBackup(w.deps, job());
    // A newer run that never committed: its row stays, it has no manifest.
    const failed = job();
    const { copy: _c, manifestSha256: _m, ...row } = w.storage.rows.get(newest.runId) as InventoryRow;
    w.storage.rows.set(failed.runId, { ...row, runId: failed.runId, status: "failed" });
    plant(copy, old.runId, failed.runId);
    expect((await verifyRef(fromCopy(w.deps), "latest", "demo-vault")).runId).toBe(newest.runId);
    await expect(verifyRef(fromCopy(w.deps), failed.runId, "demo-vault")).rejects.toThrow(/no committed run/);
    // An id the account never recorded at all, named: refused while it answers.
    const unknown = job().runId;
    plant(copy, old.runId, unknown);
    await expect(verifyRef(fromCopy(w.deps), unknown, "demo-vault")).rejects.toThrow(/no committed run/);
  });

  it("a real run's id planted again in another tier: named, the account's row decides the folder (the forgery is not read)", async () => {
    const { w, copy } = copyWorld();
    const old = await runBackup(w.deps, job());
    const real = await runBackup(w.deps, job());
    plant(copy, old.runId, real.runId, "daily");
    const v = await verifyRef(fromCopy(w.deps), real.runId, "demo-vault");
    expect(v).toMatchObject({ runId: real.runId, ok: true, expected: 9 });
    expect(
      (
        await runRestore(w.deps, {
          runId: real.runId,
          vault: "demo-vault",
          targetVault: "restore-vault",
          from: "copy",
          dryRun: true,
        })
      ).source,
    ).toMatchObject({ runId: real.runId });
    // With the account gone, an id in two tiers is refused, not guessed.
    w.storage.fault = (op) => (op === "rowRead" ? accountGone() : undefined);
    await expect(verifyRef(fromCopy(w.deps), real.runId, "demo-vault")).rejects.toThrow(
      /is in 2 tiers of the isolated copy/,
    );
  });

  it("a table that refuses (403) or fails is an error, not 'the account is gone': the copy's word is taken only then, and says so", async () => {
    const { w } = copyWorld();
    const r = await runBackup(w.deps, job());
    w.storage.fault = (op) =>
      op === "rowRead" ? storageError(403, "AuthorizationPermissionMismatch") : undefined;
    await expect(verifyRef(fromCopy(w.deps), "latest", "demo-vault")).rejects.toThrow();
    w.storage.fault = (op) => (op === "rowRead" ? accountGone() : undefined);
    const restored = await runRestore(w.deps, {
      runId: "latest",
      vault: "demo-vault",
      targetVault: "restore-vault",
      from: "copy",
      dryRun: true,
    });
    expect(restored.source).toMatchObject({ runId: r.runId, from: "copy", unvouched: true });
  });
});

describe("adversary, third pass", () => {
  it("an event backup added to the copy that the backup account never had is not used by restore --at, while the account answers", async () => {
    const w = world({ copy: CopyConfig });
    const copy = new MemoryCopy(w.storage);
    w.deps.copy = copy;
    const h = await history(w);
    const current = w.vault().valueOf("secrets", "alpha");
    // alpha's first event backup again, under a newer name, with its real SHA-256 as metadata.
    const [first] = [...copy.store.blobs]
      .filter(([p]) => p.startsWith("events/demo-vault/secrets/alpha/"))
      .sort();
    const later = new Date(w.deps.now().getTime() + 1000);
    const forged = eventBlob("demo-vault", "secrets", "alpha", later, "vforged");
    copy.store.blobs.set(
      forged,
      structuredClone((first as [string, { bytes: Uint8Array; facts: { sha256: string } }])[1]),
    );
    const at = new Date(later.getTime() + 2000).toISOString();
    for (let i = 0; i < 10; i++) w.deps.now(); // the calendar past `at`
    const r = await runRestore(w.deps, {
      runId: "latest",
      at,
      vault: "demo-vault",
      targetVault: "restore-vault",
      from: "copy",
    });
    expect(r.status).toBe("succeeded");
    expect(r.source.unvouched).toBeUndefined();
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(current);
    expect(h.alphaThen).not.toBe(current);
  });

  it("a run committed in the backup account but not (yet) in the copy is said so, with what to do", async () => {
    const { w, copy } = copyWorld();
    copy.fault = () => storageError(403, "AuthorizationFailure");
    const r = await runBackup(w.deps, job());
    await expect(verifyRef(fromCopy(w.deps), r.runId, "demo-vault")).rejects.toThrow(
      /committed in the backup account but not in the isolated copy \(its copy: failed, CopyUnreachable\): kvbackup copy --vault demo-vault/,
    );
  });

  it("a copy tenant id that does not exist is named as such, not as a federation to fix", () => {
    const e = new KvBackupError("StorageFailed", "no token", {
      failure: {
        service: "storage",
        message: "no token",
        identity: {
          credential:
            "the app registration c1 in the copy's tenant t1, federated with the Function's managed identity",
          reason: "refused",
          detail:
            "endpoints_resolution_error: Could not resolve endpoints. AADSTS90002: Tenant 't1' not found.",
        },
      },
    });
    expect(copyDiagnosis(e, "https://copy")).toMatchObject({
      code: "CopySignInRefused",
      fix: expect.stringMatching(/Check BACKUP_COPY_TENANT_ID/),
    });
  });
});
