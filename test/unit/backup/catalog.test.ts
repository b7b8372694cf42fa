import { describe, expect, it } from "vitest";
import { enqueueBackups, scheduleBackups } from "../../../src/backup/backupJobs.js";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { showRun } from "../../../src/backup/catalog/showRun.js";
import { verifyRef } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { checkHealth } from "../../../src/backup/health.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { newRunId } from "../../../src/domain/runId.js";
import { seed, world } from "../fakes/deps.js";
import { storageError } from "../fakes/memoryStorage.js";
import { kvError } from "../fakes/memoryVault.js";

async function twoRuns() {
  const w = world();
  seed(w.vault());
  const older = await runBackup(w.deps, {
    runId: newRunId(new Date("2026-11-24T02:00:00Z")),
    vault: "demo-vault",
    tier: "daily",
    trigger: "timer",
  });
  const newer = await runBackup(w.deps, {
    runId: newRunId(new Date("2026-11-25T02:00:00Z")),
    vault: "demo-vault",
    tier: "daily",
    trigger: "timer",
  });
  const edit = (f: (m: Record<string, unknown>) => unknown) => {
    const doc = w.storage.documents.get(newer.manifestPath) as { bytes: Uint8Array };
    const m = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
    const next = f(m);
    doc.bytes = Buffer.from(typeof next === "string" ? next : JSON.stringify(next));
  };
  return { w, older, newer, edit };
}

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

describe("enqueueing", () => {
  it("vaults and kinds asked for twice queue once; a vault off the allow-list queues nothing", async () => {
    const w = world();
    const runs = await enqueueBackups(w.deps, {
      vaults: Array(100).fill("Demo-Vault"),
      kinds: ["secrets", "secrets"],
      tier: "manual",
      trigger: "http",
    });
    expect(runs).toHaveLength(1);
    expect(w.storage.queues.backup).toEqual([
      expect.objectContaining({ vault: "demo-vault", kinds: ["secrets"] }),
    ]);
    await expect(
      enqueueBackups(w.deps, { vaults: ["demo-vault", "evil-vault"], tier: "manual", trigger: "http" }),
    ).rejects.toSatisfy((e) => isKvBackupError(e, "VaultNotAllowed"));
    expect(w.storage.queues.backup).toHaveLength(1);
  });

  it("the timer queues every vault, weekly on BACKUP_WEEKLY_DAY", async () => {
    const w = world({ weeklyDay: "Thursday" });
    expect((await scheduleBackups(w.deps)).tier).toBe("weekly");
    const d = world({ weeklyDay: "Monday" });
    expect((await scheduleBackups(d.deps)).tier).toBe("daily");
  });
});

describe("health", () => {
  it("passes only when every path passes; a firewalled queue is a failing check with its diagnosis", async () => {
    const w = world();
    expect((await checkHealth(w.deps)).ok).toBe(true);
    w.storage.fault = (op, path) =>
      op === "queueProbe" && path === "restore" ? storageError(403, "AuthorizationFailure") : undefined;
    const bad = await checkHealth(w.deps);
    expect(bad.ok).toBe(false);
    expect(bad.storage.checks.restoreQueue.diagnosis?.code).toBe("StorageFirewall");
    expect(bad.storage.checks.blob.ok).toBe(true);
  });

  it("checks the restore right on every restore target", async () => {
    const w = world();
    w.vault("restore-vault").fault = (op) =>
      op === "restore" ? kvError(403, "Forbidden", "ForbiddenByRbac") : undefined;
    const r = await checkHealth(w.deps);
    expect(r.ok).toBe(false);
    expect(r.restoreTargets[0]?.restore.secrets?.diagnosis?.code).toBe("KeyVaultRbac");
  });

  it("has every probe in flight at once (storage paths, each vault's kinds and rights): an unreachable vault costs one probe's retries, not six", async () => {
    const w = world();
    // Each probe waits at the gate until `expected` are waiting: probes made one after another
    // would never get there (and the test would time out).
    let expected = Number.POSITIVE_INFINITY;
    let waiting = 0;
    let calls = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gated = async <T>(fn: () => Promise<T>): Promise<T> => {
      calls++;
      if (++waiting >= expected) open();
      if (expected !== Number.POSITIVE_INFINITY) await gate;
      return fn();
    };
    const makeVault = w.deps.vaults;
    w.deps.vaults = (...args: Parameters<typeof makeVault>) => {
      const port = makeVault(...args);
      return {
        ...port,
        probeBackup: (kind, signal) => gated(() => port.probeBackup(kind, signal)),
        probeRestore: (kind, signal) => gated(() => port.probeRestore(kind, signal)),
      };
    };
    for (const store of [w.deps.blobs, w.deps.backupJobs, w.deps.restoreJobs, w.deps.inventory] as {
      probe: (signal?: unknown) => Promise<void>;
    }[]) {
      const probe = store.probe.bind(store);
      store.probe = (signal) => gated(() => probe(signal));
    }
    // Counted once ungated, then all of them must be waiting together.
    expect((await checkHealth(w.deps)).ok).toBe(true);
    expected = calls;
    waiting = 0;
    expect(expected).toBeGreaterThanOrEqual(4 + 3 + 3);
    expect((await checkHealth(w.deps)).ok).toBe(true);
  }, 10_000);

  it("keeps one shape whatever fails: an inventory that cannot be read fails the drill vault's check with its diagnosis; behind a failing storage path every HSM and the drill's own check are listed, not proven (adversary on issue 21)", async () => {
    const drillVault = { name: "drill-vault", url: "https://drill-vault.vault.azure.net" };
    const hsms = [{ name: "demo-hsm", url: "https://demo-hsm.managedhsm.azure.net" }];
    const unreadable = world({ drillVault, hsms });
    unreadable.storage.fault = (op) => (op === "rowRead" ? storageError(503, "ServerBusy") : undefined);
    const r = await checkHealth(unreadable.deps);
    expect(r.ok).toBe(false);
    expect(r.drillVault).toMatchObject({ ok: false, problem: { code: "StorageBusy" } });
    const firewalled = world({ drillVault, hsms });
    firewalled.storage.fault = (op) =>
      op === "probe" ? storageError(403, "AuthorizationFailure") : undefined;
    const f = await checkHealth(firewalled.deps);
    expect(f.hsms).toEqual([{ ...hsms[0], ok: false, skipped: "not checked while the storage path fails" }]);
    expect(f.drillVault).toMatchObject({ ok: false, skipped: expect.stringContaining("not checked") });
    expect(Object.keys(f).sort()).toEqual(Object.keys(r).sort());
  });

  it("stopped (Ctrl-C) is Aborted, not a report of failed checks (adversary on issue 21)", async () => {
    const w = world();
    const stop = new AbortController();
    const makeVault = w.deps.vaults;
    // Stopped while the probes are out.
    w.deps.vaults = (...args: Parameters<typeof makeVault>) => {
      const port = makeVault(...args);
      return {
        ...port,
        probeBackup: async (kind, signal) => {
          stop.abort();
          return port.probeBackup(kind, signal);
        },
      };
    };
    await expect(checkHealth(w.deps, stop.signal)).rejects.toMatchObject({ code: "Aborted" });
  });

  it("names the operator's machine, not the Function's subnet, when the CLI is the caller", async () => {
    const w = world({ caller: "operator" });
    w.storage.fault = (op) => (op === "probe" ? storageError(403, "AuthorizationFailure") : undefined);
    const d = (await checkHealth(w.deps)).storage.diagnosis;
    expect(d?.cause).toContain("this machine");
    expect(d?.fix).toContain("--ip-address");
  });
});
