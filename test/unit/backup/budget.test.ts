import { describe, expect, it } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import { budgetOf } from "../../../src/backup/subscriptionBudget.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { newRunId } from "../../../src/domain/runId.js";
import { world } from "../fakes/deps.js";
import { storageError } from "../fakes/memoryStorage.js";

const Sub = "00000000-0000-0000-0000-00000000000a";
const vaults = ["one-kv", "two-kv", "three-kv"].map((name) => ({
  name,
  url: `https://${name}.vault.azure.net`,
  subscription: Sub,
}));
const job = (vault: string) => ({
  runId: newRunId(),
  vault,
  tier: "manual" as const,
  trigger: "cli" as const,
});

describe("the subscription budget", () => {
  it("is cut into slots of one vault's rate: floor(S / R) runs at R each, never more than S together", () => {
    const cfg = (ratePer10s: number, subscriptionRatePer10s: number) => ({
      config: { ...world().deps.config, ratePer10s, subscriptionRatePer10s },
    });
    expect(budgetOf(cfg(2000, 10000), vaults[0] as never)).toEqual({
      scope: Sub,
      slots: 5,
      ratePer10s: 2000,
    });
    expect(budgetOf(cfg(2000, 3000), vaults[0] as never)).toEqual({ scope: Sub, slots: 1, ratePer10s: 2000 });
    expect(budgetOf(cfg(2000, 1000), vaults[0] as never)).toEqual({ scope: Sub, slots: 1, ratePer10s: 1000 });
    expect(budgetOf(cfg(2000, 10000), { name: "x", url: "https://x.vault.azure.net" }).scope).toBe(
      "unknown-subscription",
    );
  });

  it("three runs of one subscription with room for two: never more than two at once, the third waits, all succeed", async () => {
    const w = world({ vaults, ratePer10s: 1000, subscriptionRatePer10s: 2000 }, { concurrency: 1 });
    let peak = 0;
    for (const v of vaults) {
      const mv = w.vault(v.name);
      for (let i = 0; i < 3; i++) mv.put("secrets", `s${i}`);
      mv.onBackup = async () => {
        peak = Math.max(peak, w.storage.slots.get(Sub)?.size ?? 0);
        // Let the other runs get as far as they can before this one goes on.
        await new Promise<void>((resolve) => setImmediate(resolve));
      };
    }
    const results = await Promise.all(vaults.map((v) => runBackup(w.deps, job(v.name))));
    expect(results.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(peak).toBe(2);
    expect(w.storage.budgetWaits).toBeGreaterThanOrEqual(1);
    expect(w.storage.slots.get(Sub)?.size).toBe(0);
  });

  it("no slot free within the wait: BudgetBusy, retryable, nothing written (the queue gives the job back later)", async () => {
    const w = world({ vaults, ratePer10s: 1000, subscriptionRatePer10s: 1000 }, { budgetWaitMs: 0 });
    await w.storage.budgetSlots.tryAcquire(Sub, 1, () => undefined);
    const j = job("one-kv");
    const err = await runBackup(w.deps, j).catch((e) => e);
    expect(isKvBackupError(err, "BudgetBusy") && err.retryable).toBe(true);
    expect(w.storage.rows.has(j.runId)).toBe(false);
    expect(w.storage.held.size).toBe(0);
  });

  it("a slot taken away mid-run stops the run (LeaseLost, retryable); a refused renewal is that storage failure", async () => {
    for (const [reason, check] of [
      [undefined, (e: unknown) => isKvBackupError(e, "LeaseLost") && e.retryable],
      [storageError(403, "AuthorizationFailure"), undefined],
    ] as const) {
      const w = world({ vaults }, { concurrency: 1 });
      const v = w.vault("one-kv");
      for (let i = 0; i < 4; i++) v.put("secrets", `s${i}`);
      v.onBackup = () => {
        if (v.calls.backup === 2) w.storage.slots.get(Sub)?.get(0)?.(reason);
      };
      const r = await runBackup(w.deps, job("one-kv")).catch((e) => e);
      if (check) expect(check(r)).toBe(true);
      else
        expect(r).toMatchObject({
          status: "failed",
          stoppedAt: "mid-run",
          diagnosis: { code: "StorageFirewall" },
        });
      expect([...w.storage.documents.keys()].some((k) => k.endsWith("manifest.json"))).toBe(false);
    }
  });
});
