import { describe, expect, it } from "vitest";
import { checkHealth } from "../../../src/backup/health.js";
import { world } from "../fakes/deps.js";
import { storageError } from "../fakes/memoryStorage.js";
import { kvError } from "../fakes/memoryVault.js";

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
