import { describe, expect, it } from "vitest";
import { findRun } from "../../../../src/backup/catalog/findRun.js";
import { runBackup } from "../../../../src/backup/engine.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { storageError } from "../../fakes/memoryStorage.js";
import { kvError } from "../../fakes/memoryVault.js";

const job = (over: Partial<Parameters<typeof runBackup>[1]> = {}) => ({
  runId: newRunId(new Date("2026-11-26T02:00:00Z")),
  vault: "demo-vault",
  tier: "daily" as const,
  trigger: "timer" as const,
  ...over,
});
const manifestOf = (w: ReturnType<typeof world>, path: string) =>
  JSON.parse(Buffer.from(w.storage.documents.get(path)?.bytes ?? []).toString("utf8"));

describe("a run", () => {
  it("backs up every object, skips a certificate's key and secret, writes the manifest last, and says succeeded", async () => {
    const w = world();
    seed(w.vault());
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("succeeded");
    expect(r.counts.secrets).toEqual({ backedUp: 6, skipped: 1, failed: 0 });
    expect(r.counts.keys).toEqual({ backedUp: 2, skipped: 1, failed: 0 });
    expect(r.counts.certificates).toEqual({ backedUp: 1, skipped: 0, failed: 0 });
    const m = manifestOf(w, r.manifestPath);
    expect(m).toMatchObject({
      schemaVersion: 2,
      mode: "full",
      kinds: ["secrets", "keys", "certificates"],
      status: "succeeded",
    });
    expect(m.items).toHaveLength(9);
    for (const i of m.items) expect(i).not.toHaveProperty("version");
    expect(m.items.find((i: { name: string }) => i.name === "retired")).toMatchObject({
      enabled: false,
      tags: { status: "retired" },
    });
    expect(w.storage.rowWrites.map((x) => x.status)).toEqual(["running", "succeeded"]);
    expect(w.storage.rows.get(r.runId)?.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(w.telemetry.events).toEqual([expect.objectContaining({ runId: r.runId, status: "succeeded" })]);
  });

  it("kinds asked for twice are backed up once", async () => {
    const w = world();
    seed(w.vault());
    const r = await runBackup(w.deps, job({ kinds: ["secrets", "secrets", "keys"] }));
    expect(r.counts.secrets.backedUp).toBe(6);
    expect(w.vault().calls.backup).toBe(6 + 2);
  });

  it("a kind whose listing is refused is one failure; the others go on: partial", async () => {
    const w = world();
    seed(w.vault()).fault = (op, kind) =>
      op === "list" && kind === "keys" ? kvError(403, "Forbidden", "ForbiddenByRbac") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("partial");
    expect(r.failed).toEqual([expect.objectContaining({ kind: "keys", name: "*", code: "KeyVaultRbac" })]);
    expect(w.storage.rows.get(r.runId)).toMatchObject({
      status: "partial",
      firstFailureCode: "KeyVaultRbac",
    });
  });

  it("an object over the version limit is a named failure", async () => {
    const w = world({}, { versionLimit: 2 });
    seed(w.vault()).fault = (op, _k, name) =>
      op === "backup" && name === "signing" ? kvError(400, "BadParameter") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r.failed).toEqual([
      expect.objectContaining({ kind: "keys", name: "signing", code: "TooManyVersions" }),
    ]);
    expect(r.failed[0]?.diagnosis.cause).toContain("has 3 versions");
  });

  it("nothing backed up and failures: failed, and no manifest", async () => {
    const w = world();
    seed(w.vault()).fault = (op) =>
      op === "list" ? kvError(403, "Forbidden", "ForbiddenByFirewall") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("failed");
    expect(w.storage.documents.has(r.manifestPath)).toBe(false);
    expect(w.telemetry.events[0]).toMatchObject({ status: "failed", firstFailureCode: "KeyVaultFirewall" });
  });
});

describe("storage paths", () => {
  it("a blocked container fails the run at the preflight, once, before any Key Vault call; the event still fires", async () => {
    const w = world();
    seed(w.vault());
    w.storage.fault = (op) => (op === "probe" ? storageError(403, "AuthorizationFailure") : undefined);
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "preflight",
      diagnosis: { code: "StorageFirewall" },
    });
    expect(w.vault().calls).toEqual({ list: 0, backup: 0, restore: 0, other: 0 });
    expect(w.telemetry.events).toEqual([
      expect.objectContaining({ status: "failed", firstFailureCode: "StorageFirewall" }),
    ]);
  });

  it("a blocked table fails the preflight too: a run that cannot be recorded does not start", async () => {
    const w = world();
    seed(w.vault());
    w.storage.fault = (op) =>
      op === "tableProbe" ? storageError(403, "AuthorizationPermissionMismatch") : undefined;
    expect((await runBackup(w.deps, job())).diagnosis?.code).toBe("StorageRbac");
  });

  it("storage lost mid-run ends the run with one diagnosis, a final row and the event; no manifest", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    let puts = 0;
    w.storage.fault = (op) =>
      op === "put" && ++puts > 3 ? storageError(403, "AuthorizationFailure") : undefined;
    const r = await runBackup(w.deps, job());
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "mid-run",
      diagnosis: { code: "StorageFirewall" },
    });
    expect(w.storage.documents.has(r.manifestPath)).toBe(false);
    expect(w.storage.rows.get(r.runId)).toMatchObject({
      status: "failed",
      firstFailureCode: "StorageFirewall",
    });
    expect(w.telemetry.events).toEqual([
      expect.objectContaining({ status: "failed", firstFailureCode: "StorageFirewall" }),
    ]);
  });

  it("storage lost mid-run with the table gone too: the result and the event still say failed", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    let puts = 0;
    w.storage.fault = (op) =>
      (op === "put" && ++puts > 2) || (op === "rowWrite" && puts > 2)
        ? storageError(403, "AuthorizationFailure")
        : undefined;
    const r = await runBackup(w.deps, job());
    expect(r.status).toBe("failed");
    expect(w.telemetry.events[0]?.status).toBe("failed");
  });

  it("a table refusal after the manifest committed: the run is succeeded, 'latest' finds it, and the next run repairs the row", async () => {
    const w = world();
    seed(w.vault());
    const j = job();
    w.storage.fault = (op) =>
      op === "rowWrite" && w.storage.documents.size > 0
        ? storageError(403, "AuthorizationPermissionMismatch")
        : undefined;
    const r = await runBackup(w.deps, j);
    expect(r).toMatchObject({ status: "succeeded", inventoryStale: true });
    expect(w.storage.rows.get(j.runId)?.status).toBe("running");
    w.storage.fault = () => undefined;
    expect((await findRun(w.deps, "latest", "demo-vault")).manifest.runId).toBe(j.runId);
    await runBackup(w.deps, job({ runId: newRunId(new Date("2026-11-27T02:00:00Z")) }));
    expect(w.storage.rows.get(j.runId)).toMatchObject({
      status: "succeeded",
      manifestSha256: expect.any(String),
    });
  });
});

describe("runs that stop and come back", () => {
  it("aborted midway, then rerun with its runId: resumes, one row, no object backed up twice", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const ac = new AbortController();
    v.onBackup = () => {
      if (v.calls.backup === 4) ac.abort();
    };
    const j = job();
    await expect(runBackup(w.deps, j, { signal: ac.signal })).rejects.toSatisfy((e) =>
      isKvBackupError(e, "Aborted"),
    );
    expect(w.storage.rows.get(j.runId)?.status).toBe("running");
    expect(w.telemetry.events).toEqual([]);
    const written = w.storage.blobs.size;
    v.onBackup = () => undefined;
    const before = v.calls.backup;
    const r = await runBackup(w.deps, j);
    expect(r.status).toBe("succeeded");
    expect(v.calls.backup - before).toBe(9 - written);
    expect(new Set(w.storage.rowWrites.map((x) => x.runId))).toEqual(new Set([j.runId]));
  });

  it("a committed runId delivered again does nothing again and emits no second event", async () => {
    const w = world();
    const v = seed(w.vault());
    const j = job();
    await runBackup(w.deps, j);
    const calls = v.calls.backup;
    const again = await runBackup(w.deps, j);
    expect(again).toMatchObject({ alreadyCommitted: true, status: "succeeded" });
    expect(again.counts.secrets.backedUp).toBe(6);
    expect(v.calls.backup).toBe(calls);
    expect(w.telemetry.events).toHaveLength(1);
  });

  it("a run killed outright is marked abandoned by the vault's next run, with the event", async () => {
    const w = world();
    seed(w.vault());
    const dead = job({ runId: newRunId(new Date("2026-11-25T02:00:00Z")) });
    const ac = new AbortController();
    ac.abort();
    w.vault().onBackup = () => undefined;
    await w.storage.inventory.put({
      vault: "demo-vault",
      runId: dead.runId,
      tier: "daily",
      trigger: "timer",
      mode: "full",
      status: "running",
      startedAt: "2026-11-25T02:00:00.000Z",
      counts: {
        secrets: { backedUp: 1, skipped: 0, failed: 0 },
        keys: { backedUp: 0, skipped: 0, failed: 0 },
        certificates: { backedUp: 0, skipped: 0, failed: 0 },
      },
      bytes: 0,
      manifest: `daily/demo-vault/2026/11/25/${dead.runId}/manifest.json`,
    });
    await runBackup(w.deps, job());
    expect(w.storage.rows.get(dead.runId)).toMatchObject({
      status: "abandoned",
      firstFailureCode: "Abandoned",
    });
    expect(w.telemetry.events.map((e) => [e.runId, e.status])).toContainEqual([dead.runId, "abandoned"]);
  });

  it("a second run of a vault while one holds its lease is refused and touches nothing", async () => {
    const w = world();
    seed(w.vault());
    await w.storage.leases.acquire("demo-vault", () => undefined);
    const j = job();
    await expect(runBackup(w.deps, j)).rejects.toSatisfy((e) => isKvBackupError(e, "AlreadyRunning"));
    expect(w.storage.rows.has(j.runId)).toBe(false);
  });

  it("a run whose lease is lost stops with LeaseLost and commits nothing", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    v.onBackup = () => {
      if (v.calls.backup === 2) w.storage.loseLease("demo-vault");
    };
    const j = job();
    await expect(runBackup(w.deps, j)).rejects.toSatisfy((e) => isKvBackupError(e, "LeaseLost"));
    expect([...w.storage.documents.keys()].some((k) => k.endsWith("manifest.json"))).toBe(false);
  });

  it("a vault off the allow-list is refused before anything", async () => {
    const w = world();
    await expect(runBackup(w.deps, job({ vault: "other-vault" }))).rejects.toSatisfy((e) =>
      isKvBackupError(e, "VaultNotAllowed"),
    );
    expect(w.storage.rowWrites).toEqual([]);
  });
});
