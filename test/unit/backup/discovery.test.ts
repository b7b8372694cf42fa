import { describe, expect, it } from "vitest";
import { scheduleBackups } from "../../../src/backup/backupJobs.js";
import { runBackup } from "../../../src/backup/engine.js";
import { discoverFleet } from "../../../src/backup/fleet.js";
import { checkHealth } from "../../../src/backup/health.js";
import { main } from "../../../src/cli/main.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { newRunId } from "../../../src/domain/runId.js";
import { seed, world } from "../fakes/deps.js";
import { captureIo } from "../fakes/io.js";
import { armError } from "../fakes/memoryDirectory.js";
import { discoveryWorld, SubA, SubB } from "./fleetWorld.js";

describe("discovery", () => {
  it("the fleet: listed vaults, then discovered ones carrying the tag; the rest left out with the reason", async () => {
    const w = discoveryWorld();
    const fleet = await discoverFleet(w.deps);
    expect(fleet.vaults.map((v) => [v.name, v.source, v.subscription])).toEqual([
      ["demo-vault", "listed", SubA],
      ["team-a-kv", "discovered", SubA],
      ["team-b-kv", "discovered", SubB],
    ]);
    expect(fleet.vaults[1]?.url).toBe("https://team-a-kv.vault.azure.net");
    expect(fleet.excluded).toEqual([
      { name: "legacy-kv", subscription: SubA, reason: "tag backup=false, not true" },
      { name: "scratch-kv", subscription: SubA, reason: "no tag 'backup' (BACKUP_VAULT_TAG=backup=true)" },
      { name: "restore-vault", subscription: SubB, reason: "it is a restore target (RESTORE_TARGET_VAULTS)" },
    ]);
    expect(fleet.unread).toEqual([]);
  });

  it("the drill's scratch vault is never in the fleet, tagged or not (drills empty it)", async () => {
    const w = world({
      subscriptions: [SubA],
      drillVault: { name: "drill-kv", url: "https://drill-kv.vault.azure.net" },
    });
    w.directory.add(SubA, "one-kv").add(SubA, "drill-kv");
    const fleet = await discoverFleet(w.deps);
    expect(fleet.vaults.map((v) => v.name)).toEqual(["demo-vault", "one-kv"]);
    expect(fleet.excluded).toEqual([
      {
        name: "drill-kv",
        subscription: SubA,
        reason: expect.stringContaining("restore drill's scratch vault"),
      },
    ]);
  });

  it("without a tag filter every vault found is backed up", async () => {
    const w = world({ subscriptions: [SubA] });
    w.directory.add(SubA, "one-kv").add(SubA, "two-kv");
    expect((await discoverFleet(w.deps)).vaults.map((v) => v.name)).toEqual([
      "demo-vault",
      "one-kv",
      "two-kv",
    ]);
  });

  it("the timer queues one job per vault of the fleet, and a discovered vault backs up end to end", async () => {
    const w = discoveryWorld();
    seed(w.vault());
    w.vault("team-a-kv").put("secrets", "a-secret");
    const { runs, unread, missing } = await scheduleBackups(w.deps);
    expect(runs.map((r) => r.vault)).toEqual(["demo-vault", "team-a-kv", "team-b-kv"]);
    expect(unread).toEqual([]);
    expect(missing).toEqual([]);
    const job = w.storage.queues.backup.find((j) => j.vault === "team-a-kv");
    if (!job) throw new Error("no job");
    const r = await runBackup(w.deps, job);
    expect(r.status).toBe("succeeded");
    expect(r.counts.secrets.backedUp).toBe(1);
  });

  it("an ARM 403 on one subscription: its vaults are out, the others still queued, and the refusal is named", async () => {
    const w = discoveryWorld();
    w.directory.fault = (s) =>
      s === SubB
        ? armError(
            403,
            "AuthorizationFailed",
            `The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.KeyVault/vaults/read' over scope '/subscriptions/${SubB}' or the scope is invalid.`,
          )
        : undefined;
    const { runs, unread } = await scheduleBackups(w.deps);
    expect(runs.map((r) => r.vault)).toEqual(["demo-vault", "team-a-kv"]);
    expect(unread).toEqual([
      { subscription: SubB, diagnosis: expect.objectContaining({ code: "ArmForbidden" }) },
    ]);
    expect(unread[0]?.diagnosis.fix).toContain(`/subscriptions/${SubB}`);
    // A queued job for a vault of the unreadable subscription: refused as discovery's failure
    // (not the caller's mistake), with its diagnosis, retryable.
    const err = await runBackup(w.deps, {
      runId: newRunId(),
      vault: "team-b-kv",
      tier: "daily",
      trigger: "timer",
    }).catch((e) => e);
    expect(isKvBackupError(err, "DiscoveryIncomplete") && err.retryable).toBe(true);
    expect(err.diagnosis?.code).toBe("ArmForbidden");
    const health = await checkHealth(w.deps);
    expect(health.ok).toBe(false);
    expect(health.discovery).toEqual([
      { subscription: SubA, ok: true },
      { subscription: SubB, ok: false, diagnosis: expect.objectContaining({ code: "ArmForbidden" }) },
    ]);
  });

  it("a vault backed up lately that is no longer found gets a failed run (row + event); while its subscription is unread, the ARM diagnosis", async () => {
    const w = discoveryWorld();
    seed(w.vault());
    w.vault("team-b-kv").put("secrets", "b");
    await runBackup(w.deps, {
      runId: newRunId(new Date("2026-11-25T02:00:00Z")),
      vault: "team-b-kv",
      tier: "daily",
      trigger: "timer",
    });
    // Its tag is removed: no longer in the fleet.
    w.directory.subscriptions.set(SubB, []);
    let s = await scheduleBackups(w.deps);
    expect(s.missing).toEqual([
      expect.objectContaining({
        vault: "team-b-kv",
        diagnosis: expect.objectContaining({ code: "VaultNoLongerFound" }),
      }),
    ]);
    const row = w.storage.rows.get(s.missing[0]?.runId as string);
    expect(row).toMatchObject({
      vault: "team-b-kv",
      status: "failed",
      firstFailureCode: "VaultNoLongerFound",
    });
    expect(w.telemetry.events.at(-1)).toMatchObject({
      vault: "team-b-kv",
      status: "failed",
      firstFailureCode: "VaultNoLongerFound",
    });
    // The subscription unreadable instead: the report names that cause.
    w.directory.fault = (sub) => (sub === SubB ? armError(403, "AuthorizationFailed") : undefined);
    s = await scheduleBackups(w.deps);
    expect(s.missing[0]?.diagnosis).toMatchObject({
      code: "VaultNoLongerFound",
      cause: expect.stringContaining(`could not read subscription(s) ${SubB} (ArmForbidden)`),
    });
  });

  it("a vault off the list and not discovered is refused for good (not retryable) when discovery read everything", async () => {
    const w = discoveryWorld();
    const err = await runBackup(w.deps, {
      runId: newRunId(),
      vault: "scratch-kv",
      tier: "daily",
      trigger: "timer",
    }).catch((e) => e);
    expect(isKvBackupError(err, "VaultNotAllowed") && !err.retryable).toBe(true);
    expect(String(err.message)).toContain("nor discovered in BACKUP_SUBSCRIPTIONS");
  });

  it("kvbackup discover --json: the DESIGN contract {vaults, excluded}; a subscription not found exits 1 with its diagnosis", async () => {
    const w = discoveryWorld();
    const { io, stdout } = captureIo();
    expect(await main(["discover", "--json"], {}, io, () => w.deps)).toBe(0);
    const doc = JSON.parse(stdout());
    expect(doc.vaults[1]).toEqual({
      name: "team-a-kv",
      url: "https://team-a-kv.vault.azure.net",
      source: "discovered",
      subscription: SubA,
      tags: { backup: "true", owner: "team-a" },
    });
    expect(doc.excluded).toHaveLength(3);
    const gone = world({ subscriptions: ["00000000-0000-0000-0000-0000000000ff"] });
    const text = captureIo();
    expect(await main(["discover"], {}, text.io, () => gone.deps)).toBe(1);
    expect(text.stdout()).toContain("SubscriptionNotFound");
  });
});
