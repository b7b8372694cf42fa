import { describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { listRuns } from "../../../src/backup/catalog/listRuns.js";
import { verifyRef } from "../../../src/backup/catalog/verifyRun.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { main } from "../../../src/cli/main.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { seed } from "../fakes/deps.js";
import { captureIo } from "../fakes/io.js";
import { armError } from "../fakes/memoryDirectory.js";
import { backUp, fleetWorld, hsms, SubB } from "./fleetWorld.js";

describe("a vault that is gone: its backups are still read and restored", () => {
  async function goneWorld() {
    const w = fleetWorld();
    seed(w.vault());
    const b = w.vault("team-b-kv");
    b.put("secrets", "storage-connection-string").put("keys", "signing");
    const r = await backUp(w, "team-b-kv");
    expect(r.status).toBe("succeeded");
    // The vault is deleted: discovery no longer finds it, nobody edited BACKUP_VAULTS.
    w.directory.subscriptions.set(SubB, []);
    return { w, runId: r.runId };
  }

  it("list, show, verify and 'latest' find its runs; a restore into a vault on the allow-list restores everything", async () => {
    const { w, runId } = await goneWorld();
    const deps = { ...w.deps };
    expect((await listRuns(deps, { vault: "team-b-kv" })).map((r) => r.runId)).toEqual([runId]);
    expect((await findRun(deps, "latest", "Team-B-KV")).manifest.runId).toBe(runId);
    expect((await verifyRef(deps, "latest", "team-b-kv")).ok).toBe(true);
    const report = await runRestore(deps, {
      runId: "latest",
      vault: "team-b-kv",
      targetVault: "restore-vault",
    });
    expect(report.status).toBe("succeeded");
    expect([...w.vault("restore-vault").objects.secrets.keys()]).toEqual(["storage-connection-string"]);
    const io = captureIo();
    const code = await main(
      ["restore", "latest", "--vault", "team-b-kv", "--to", "restore-vault", "--dry-run"],
      {},
      io.io,
      () => ({ ...w.deps }),
    );
    expect(io.stderr()).not.toMatch(/not in BACKUP_VAULTS/);
    // Everything is in restore-vault now: the dry run plans skips (the conflict policy), exit 0.
    expect(io.stdout()).toMatch(/0 to restore, 2 to skip/);
    expect(code).toBe(0);
  });

  it("the target stays on the allow-list: a restore into the gone vault itself is refused with what to do", async () => {
    const { w } = await goneWorld();
    const calls = { ...w.vault("team-b-kv").calls };
    const err = await runRestore({ ...w.deps }, { runId: "latest", vault: "team-b-kv" }).catch((e) => e);
    expect(isKvBackupError(err, "VaultNotAllowed")).toBe(true);
    expect(String(err.message)).toMatch(/--to/);
    expect(w.vault("team-b-kv").calls).toEqual(calls);
  });

  it("a restore target not found while a subscription cannot be read: discovery's failure (exit 1, its diagnosis), not bad usage (adversary)", async () => {
    const { w } = await goneWorld();
    w.directory.fault = (sub) => (sub === SubB ? armError(403, "AuthorizationFailed") : undefined);
    const err = await runRestore({ ...w.deps }, { runId: "latest", vault: "team-b-kv" }).catch((e) => e);
    expect(isKvBackupError(err, "DiscoveryIncomplete")).toBe(true);
    expect(err.diagnosis?.code).toBe("ArmForbidden");
    const io = captureIo();
    const args = ["restore", "latest", "--vault", "team-b-kv", "--to", "team-b-kv", "--dry-run"];
    expect(await main(args, {}, io.io, () => ({ ...w.deps }))).toBe(1);
  });

  it("a vault with no runs in the account and not in the fleet is still refused (a typo is not 'never backed up')", async () => {
    const { w } = await goneWorld();
    const err = await listRuns({ ...w.deps }, { vault: "team-c-kv" }).catch((e) => e);
    expect(isKvBackupError(err, "VaultNotAllowed")).toBe(true);
    expect(String(err.message)).toMatch(/no runs/);
  });
});

describe("kvbackup backup plans as the timer and POST /api/backups do", () => {
  it("a vault of a subscription discovery cannot read: exit 1 naming discovery's failure, not a usage error", async () => {
    const w = fleetWorld();
    w.directory.fault = (sub) => (sub === SubB ? armError(403, "AuthorizationFailed") : undefined);
    const io = captureIo();
    expect(await main(["backup", "--vault", "team-b-kv"], {}, io.io, () => ({ ...w.deps }))).toBe(1);
    expect(io.stderr()).toMatch(/discovery could not read subscription\(s\) .*ArmForbidden/);
    expect(io.stderr()).toMatch(/fix: /);
    expect(io.stderr()).not.toMatch(/Usage|kvbackup backup \[--vault/);
    const json = captureIo();
    expect(await main(["backup", "--vault", "team-b-kv", "--json"], {}, json.io, () => ({ ...w.deps }))).toBe(
      1,
    );
    expect(JSON.parse(json.stdout()).error).toMatchObject({
      code: "DiscoveryIncomplete",
      diagnosis: { code: "ArmForbidden" },
    });
  });

  it("an HSM asked for as a vault is pointed to --hsm; an unknown HSM is refused; runIds are unique", async () => {
    const w = fleetWorld({ hsms });
    const io = captureIo();
    expect(await main(["backup", "--vault", "demo-hsm"], {}, io.io, () => ({ ...w.deps }))).toBe(2);
    expect(io.stderr()).toContain("'demo-hsm' is a Managed HSM: ask for it as an HSM (--hsm demo-hsm");
    const other = captureIo();
    expect(await main(["backup", "--hsm", "other-hsm"], {}, other.io, () => ({ ...w.deps }))).toBe(2);
    expect(other.stderr()).toContain("not in BACKUP_MANAGED_HSMS (demo-hsm)");
    seed(w.vault());
    const all = captureIo();
    expect(await main(["backup", "--json"], {}, all.io, () => ({ ...w.deps }))).toBe(0);
    const runs = JSON.parse(all.stdout()).runs as { runId: string; vault: string }[];
    expect(runs.map((r) => r.vault)).toEqual(["demo-vault", "team-b-kv", "demo-hsm"]);
    expect(new Set(runs.map((r) => r.runId)).size).toBe(3);
  });
});
