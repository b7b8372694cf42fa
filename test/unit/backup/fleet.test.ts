import { describe, expect, it } from "vitest";
import { scheduleBackups } from "../../../src/backup/backupJobs.js";
import { verifyRef } from "../../../src/backup/catalog/verifyRun.js";
import { emitFleetStatus } from "../../../src/backup/fleetStatus.js";
import { buildReport } from "../../../src/backup/report.js";
import { main } from "../../../src/cli/main.js";
import { seed } from "../fakes/deps.js";
import { captureIo } from "../fakes/io.js";
import { armError } from "../fakes/memoryDirectory.js";
import { kvError } from "../fakes/memoryVault.js";
import { backUp, fleetWorld, hsms, reportOf, SubA, SubB } from "./fleetWorld.js";

describe("the report and the timer, fleet-wide", () => {
  it("a configured Managed HSM is never 'no longer found': the timer records nothing for it and the report keeps it ok", async () => {
    const w = fleetWorld({ hsms });
    seed(w.vault());
    expect((await backUp(w, "demo-hsm", undefined, true)).status).toBe("succeeded");
    const s = await scheduleBackups(w.deps);
    expect(s.missing).toEqual([]);
    expect(s.runs.map((r) => r.vault)).toContain("demo-hsm");
    expect(w.telemetry.events.filter((e) => e.status === "failed")).toEqual([]);
    const hsm = await reportOf(w, "demo-hsm");
    expect(hsm).toMatchObject({ kind: "managedHsm", verdict: "ok", reasons: [] });
  });

  it("a vault whose subscription can no longer be read stays in the report, at risk, with why; ARM's 429 the same", async () => {
    const w = fleetWorld();
    seed(w.vault());
    w.vault("team-b-kv").put("secrets", "b");
    expect((await backUp(w, "team-b-kv")).status).toBe("succeeded");
    for (const fault of [armError(403, "AuthorizationFailed"), armError(429, "TooManyRequests")]) {
      w.directory.fault = (sub) => (sub === SubB ? fault : undefined);
      const report = await buildReport({ ...w.deps });
      const b = report.vaults.find((v) => v.vault === "team-b-kv");
      expect(b?.verdict).toBe("at risk");
      expect(b?.notInFleet?.code).toBe("VaultNoLongerFound");
      expect(b?.reasons.join("; ")).toMatch(/not in today's fleet/);
      expect(b?.notInFleet?.cause).toContain(`could not read subscription(s) ${SubB}`);
      // It is not listed in Key Vault (not on today's allow-list): no coverage, no token sent to it.
      expect(b?.coverage).toBeUndefined();
    }
    const io = captureIo();
    w.directory.fault = (sub) => (sub === SubB ? armError(403, "AuthorizationFailed") : undefined);
    const code = await main(["report"], {}, io.io, () => ({ ...w.deps }));
    expect(code).toBe(1);
    expect(io.stdout()).toContain("team-b-kv");
  });

  it("a vault deleted after its last run failed is remembered too, by the timer and by the report", async () => {
    const w = fleetWorld();
    seed(w.vault());
    const b = w.vault("team-b-kv");
    b.put("secrets", "b");
    b.fault = (op) => (op === "list" ? kvError(403, "Forbidden", "ForbiddenByRbac") : undefined);
    const r = await backUp(w, "team-b-kv");
    expect(r.status).not.toBe("succeeded");
    w.directory.subscriptions.set(SubB, []);
    const s = await scheduleBackups(w.deps);
    expect(s.missing.map((m) => m.vault)).toEqual(["team-b-kv"]);
    expect((await reportOf(w, "team-b-kv"))?.notInFleet?.code).toBe("VaultNoLongerFound");
  });

  it("the timer's own 'no longer found' rows do not keep a vault remembered: it leaves the report 8 days after its last real run", async () => {
    const w = fleetWorld();
    seed(w.vault());
    w.vault("team-b-kv").put("secrets", "b");
    // Day 0 is just before the vault's last run.
    const start = w.deps.now().getTime();
    await backUp(w, "team-b-kv");
    w.directory.subscriptions.set(SubB, []);
    let day = 0;
    const deps = { ...w.deps, now: () => new Date(start + day * 86_400_000) };
    const remembered: boolean[] = [];
    for (day = 1; day <= 10; day++)
      remembered.push((await scheduleBackups(deps)).missing.some((m) => m.vault === "team-b-kv"));
    expect(remembered).toEqual([true, true, true, true, true, true, true, true, false, false]);
    expect((await buildReport(deps)).vaults.map((v) => v.vault)).not.toContain("team-b-kv");
  });

  it("coverage is the vault now against every kind the settings protect: a key no run ever backed up is missing", async () => {
    const w = fleetWorld();
    seed(w.vault());
    // The first and only run backs up secrets alone: the vault's keys and certificate are in no backup.
    expect((await backUp(w, "demo-vault", ["secrets"])).status).toBe("succeeded");
    let demo = await reportOf(w, "demo-vault");
    expect(demo?.coverage?.missing).toEqual(["certificates/www", "keys/dek", "keys/signing"]);
    expect(demo?.verdict).toBe("at risk");
    // A full run, then a secrets-only run, then a new key: the key is in no backup; the older keys
    // are in the full run, which still holds them.
    expect((await backUp(w, "demo-vault")).status).toBe("succeeded");
    expect((await backUp(w, "demo-vault", ["secrets"])).status).toBe("succeeded");
    w.vault().put("keys", "added-later");
    demo = await reportOf(w, "demo-vault");
    expect(demo?.coverage?.missing).toEqual(["keys/added-later"]);
    expect(demo?.reasons.join("; ")).toMatch(/1 object\(s\) in the vault are not in the backups/);
  });
});

describe("the hourly status the alerts read (issue 21)", () => {
  it("one event per vault of the fleet, discovered ones and HSMs too, and per vault gone lately; names in lower case; times only when known", async () => {
    const w = fleetWorld({
      hsms,
      drillVault: { name: "drill-vault", url: "https://drill-vault.vault.azure.net" },
    });
    seed(w.vault());
    w.directory.add(SubA, "Team-A-KV", { backup: "true" });
    w.vault("team-b-kv").put("secrets", "b");
    expect((await backUp(w, "team-b-kv")).status).toBe("succeeded");
    expect((await backUp(w, "demo-hsm", undefined, true)).status).toBe("succeeded");
    w.vault("old-kv").put("secrets", "o");
    w.directory.add(SubB, "old-kv", { backup: "true" });
    expect((await backUp(w, "old-kv")).status).toBe("succeeded");
    w.directory.subscriptions.set(
      SubB,
      w.directory.subscriptions.get(SubB)?.filter((v) => v.name !== "old-kv") ?? [],
    );
    const statuses = await emitFleetStatus({ ...w.deps });
    expect(w.telemetry.statuses).toEqual(statuses);
    const by = Object.fromEntries(statuses.map((s) => [s.vault, s]));
    expect(Object.keys(by).sort()).toEqual(["demo-hsm", "demo-vault", "old-kv", "team-a-kv", "team-b-kv"]);
    expect(by["team-b-kv"]).toMatchObject({
      kind: "vault",
      inFleet: true,
      drilled: true,
      lastSuccessAt: expect.any(String),
    });
    expect(by["team-a-kv"]).toEqual({ vault: "team-a-kv", kind: "vault", inFleet: true, drilled: true });
    expect(by["demo-hsm"]).toMatchObject({
      kind: "managedHsm",
      drilled: false,
      lastSuccessAt: expect.any(String),
    });
    expect(by["old-kv"]).toMatchObject({ inFleet: false, drilled: false, lastSuccessAt: expect.any(String) });
    // No Key Vault call: the status is the inventory's, not a listing.
    expect(w.vault("team-a-kv").calls.list + w.vault().calls.list).toBe(0);
  });
});

describe("what discovery could not read is said fleet-wide (adversary, issue 20)", () => {
  it("a subscription that cannot be read makes the report not ok (exit 1) even when no vault of it ran lately, and the status names it", async () => {
    const w = fleetWorld();
    seed(w.vault());
    await backUp(w, "demo-vault");
    w.directory.fault = (sub) => (sub === SubB ? armError(403, "AuthorizationFailed") : undefined);
    const report = await buildReport({ ...w.deps });
    expect(report.vaults.map((v) => v.vault)).toEqual(["demo-vault"]);
    expect(report.unread).toEqual([
      { subscription: SubB, diagnosis: expect.objectContaining({ code: "ArmForbidden" }) },
    ]);
    expect(report.ok).toBe(false);
    const io = captureIo();
    expect(await main(["report"], {}, io.io, () => ({ ...w.deps }))).toBe(1);
    expect(io.stdout()).toContain(`subscription ${SubB} could not be read`);
    const statuses = await emitFleetStatus({ ...w.deps });
    expect(statuses).toContainEqual({
      vault: `subscription/${SubB}`,
      kind: "subscription",
      inFleet: false,
      drilled: false,
    });
  });

  it("while its subscription stays unreadable, a vault is not forgotten after 8 days", async () => {
    const w = fleetWorld();
    seed(w.vault());
    const start = w.deps.now().getTime();
    w.vault("team-b-kv").put("secrets", "b");
    await backUp(w, "team-b-kv");
    w.directory.fault = (sub) => (sub === SubB ? armError(403, "AuthorizationFailed") : undefined);
    const deps = { ...w.deps, now: () => new Date(start + 10 * 86_400_000) };
    expect((await scheduleBackups(deps)).missing.map((m) => m.vault)).toEqual(["team-b-kv"]);
    expect((await buildReport({ ...deps })).vaults.map((v) => v.vault)).toContain("team-b-kv");
  });

  it("a Managed HSM taken off BACKUP_MANAGED_HSMS is reported as an HSM; a vault discovery leaves out is reported with discovery's reason", async () => {
    const w = fleetWorld({ hsms });
    seed(w.vault());
    expect((await backUp(w, "demo-hsm", undefined, true)).status).toBe("succeeded");
    w.vault("team-b-kv").put("secrets", "b");
    await backUp(w, "team-b-kv");
    const later = {
      ...w.deps,
      config: {
        ...w.deps.config,
        hsms: [],
        restoreTargets: [{ name: "team-b-kv", url: "https://team-b-kv.vault.azure.net" }],
      },
    };
    const report = await buildReport(later);
    const hsm = report.vaults.find((v) => v.vault === "demo-hsm");
    expect(hsm).toMatchObject({ kind: "managedHsm", notInFleet: { code: "VaultNoLongerFound" } });
    // Its backups still verify: a name the settings no longer hold is not a tampered manifest.
    expect((await verifyRef(later, "latest", "demo-hsm")).ok).toBe(true);
    expect(hsm?.reasons.join("; ")).not.toMatch(/drill/);
    expect(report.vaults.find((v) => v.vault === "team-b-kv")?.notInFleet?.cause).toContain(
      "discovery finds it in subscription",
    );
    expect(report.vaults.find((v) => v.vault === "team-b-kv")?.notInFleet?.cause).toContain(
      "it is a restore target",
    );
  });
});
