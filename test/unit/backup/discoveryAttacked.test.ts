import { describe, expect, it } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import { discoverFleet } from "../../../src/backup/fleet.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { newRunId } from "../../../src/domain/runId.js";
import { loadConfig } from "../../../src/loadConfig.js";
import { seed, world } from "../fakes/deps.js";
import { discoveryWorld, SubA, SubB } from "./fleetWorld.js";

describe("discovery settings", () => {
  const storage = { BACKUP_STORAGE: "UseDevelopmentStorage=true" };
  it("BACKUP_SUBSCRIPTIONS alone is enough; subscription ids are GUIDs, once; a tag needs subscriptions", () => {
    const c = loadConfig(
      { ...storage, BACKUP_SUBSCRIPTIONS: `${SubA.toUpperCase()}, ${SubB}`, BACKUP_VAULT_TAG: "backup=true" },
      "function",
    );
    expect(c.subscriptions).toEqual([SubA, SubB]);
    expect(c.vaultTag).toEqual({ name: "backup", value: "true" });
    expect(c.armEndpoint).toBe("https://management.azure.com");
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig({ ...storage, ...env }, "function");
      } catch (e) {
        return String((e as Error).message);
      }
      return "accepted";
    };
    expect(bad({ BACKUP_SUBSCRIPTIONS: "prod" })).toMatch(/'prod' is not a subscription id/);
    expect(bad({ BACKUP_SUBSCRIPTIONS: `${SubA},${SubA}` })).toMatch(/listed twice/);
    expect(bad({ BACKUP_VAULTS: "a-kv", BACKUP_VAULT_TAG: "backup=true" })).toMatch(
      /set BACKUP_SUBSCRIPTIONS too/,
    );
    expect(bad({ BACKUP_SUBSCRIPTIONS: SubA, BACKUP_VAULT_TAG: "backup" })).toMatch(/name=value/);
    expect(bad({ BACKUP_SUBSCRIPTIONS: SubA, BACKUP_ARM_ENDPOINT: "http://management.azure.com" })).toMatch(
      /must be https/,
    );
  });
});

describe("discovery, attacked", () => {
  it("a discovered vault must be a vault name on its own host, a URL no other vault has, and not a restore target", async () => {
    const w = world({ subscriptions: [SubA] });
    w.directory
      .add(SubA, "evil-kv", {}, "https://attacker.example.com:8443/")
      .add(SubA, "other-kv", {}, "https://demo-vault.vault.azure.net/")
      .add(SubA, "copy-kv", {}, "https://restore-vault.vault.azure.net/")
      .add(SubA, "../daily/demo-vault", {}, "https://x.vault.azure.net/")
      .add(SubA, "pe-kv", {}, "https://pe-kv.privatelink.vaultcore.azure.net/");
    const fleet = await discoverFleet(w.deps);
    expect(fleet.vaults.map((v) => v.name)).toEqual(["demo-vault", "pe-kv"]);
    const why = Object.fromEntries(fleet.excluded.map((x) => [x.name, x.reason]));
    expect(why["evil-kv"]).toMatch(/not the vault's own host/);
    expect(why["other-kv"]).toMatch(/not the vault's own host/);
    expect(why["copy-kv"]).toMatch(/not the vault's own host/);
    expect(why["../daily/demo-vault"]).toMatch(/not a Key Vault name/);
  });

  it("the same name in two subscriptions: the first is kept, the second named", async () => {
    const w = world({ subscriptions: [SubA, SubB] });
    w.directory.add(SubA, "twin-kv").add(SubB, "twin-kv");
    const fleet = await discoverFleet(w.deps);
    expect(fleet.vaults.filter((v) => v.name === "twin-kv")).toEqual([
      expect.objectContaining({ subscription: SubA }),
    ]);
    expect(fleet.excluded).toEqual([
      expect.objectContaining({ name: "twin-kv", subscription: SubB, reason: expect.stringContaining(SubA) }),
    ]);
  });

  it("a listed vault learns its subscription even when discovery would leave it out (untagged): one budget per subscription", async () => {
    const w = world({ subscriptions: [SubA], vaultTag: { name: "backup", value: "true" } });
    w.directory.add(SubA, "demo-vault").add(SubA, "restore-vault");
    const fleet = await discoverFleet(w.deps);
    expect(fleet.vaults).toEqual([
      expect.objectContaining({ name: "demo-vault", source: "listed", subscription: SubA }),
    ]);
    expect(fleet.targets?.get("restore-vault")).toBe(SubA);
  });

  it("a job the timer queued for a vault tagged a moment ago: the worker looks again before refusing", async () => {
    const w = discoveryWorld();
    w.vault("late-kv").put("secrets", "x");
    // The worker's fleet is cached before the vault is tagged.
    await runBackup(w.deps, { runId: newRunId(), vault: "demo-vault", tier: "manual", trigger: "cli" });
    w.directory.add(SubA, "late-kv", { backup: "true" });
    const r = await runBackup(w.deps, {
      runId: newRunId(),
      vault: "late-kv",
      tier: "daily",
      trigger: "timer",
    });
    expect(r.status).toBe("succeeded");
  });

  it("refused on the queue's last delivery (not in the fleet, or no budget): a failed run with row and event, not silence", async () => {
    const w = discoveryWorld();
    const gone = {
      runId: newRunId(),
      vault: "scratch-kv",
      tier: "daily" as const,
      trigger: "timer" as const,
    };
    const r = await runBackup(w.deps, gone, { lastDelivery: true });
    expect(r).toMatchObject({ status: "failed", diagnosis: { code: "VaultNotInFleet" } });
    expect(w.storage.rows.get(gone.runId)).toMatchObject({
      status: "failed",
      firstFailureCode: "VaultNotInFleet",
    });
    const busy = world({ ratePer10s: 1000, subscriptionRatePer10s: 1000 }, { budgetWaitMs: 0 });
    seed(busy.vault());
    await busy.storage.budgetSlots.tryAcquire("unknown-subscription", 1, () => undefined);
    const j = { runId: newRunId(), vault: "demo-vault", tier: "daily" as const, trigger: "timer" as const };
    const b = await runBackup(busy.deps, j, { lastDelivery: true });
    expect(b).toMatchObject({ status: "failed", diagnosis: { code: "SubscriptionBudgetBusy" } });
    expect(busy.telemetry.events).toEqual([
      expect.objectContaining({
        runId: j.runId,
        status: "failed",
        firstFailureCode: "SubscriptionBudgetBusy",
      }),
    ]);
    // Not the last delivery: thrown, retryable, nothing recorded.
    const k = { ...j, runId: newRunId() };
    await expect(runBackup(busy.deps, k)).rejects.toSatisfy((e) => isKvBackupError(e, "BudgetBusy"));
    expect(busy.storage.rows.has(k.runId)).toBe(false);
  });
});
