import { describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runPrefix } from "../../../src/domain/manifest.js";
import { BackupOperatorRole } from "../../stack/keyvault/roles.js";
import { appFor, cliJob } from "../helpers.js";
import { blobsUnder, container, faultStack } from "./faultStack.js";

const stackOf = faultStack();

describe("storage firewall", () => {
  it("fails the run at the preflight with one diagnosis, before any Key Vault call, writing nothing", async () => {
    stackOf().proxies.blob.addRule({ fault: "AuthorizationFailure" });
    stackOf().emulator.resetStats("demo-vault");
    const j = cliJob();
    const r = await runBackup(appFor(), j);
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "preflight",
      diagnosis: { code: "StorageFirewall" },
    });
    expect(r.diagnosis?.fix).toContain("Allow trusted Microsoft services");
    expect(stackOf().emulator.stats("demo-vault").total).toBe(0);
    stackOf().proxies.blob.clearRules();
    await appFor().blobs.probe();
    expect(await blobsUnder("manual/")).toEqual([]);
    expect((await appFor().inventory.get(j.runId))?.status).toBe("failed");
  });

  it("a PutBlob AuthorizationFailure that starts mid-run ends the run with that one diagnosis and a final row", async () => {
    const a = appFor({}, { tuning: { concurrency: 2 } });
    const j = cliJob();
    let armed = false;
    const r = await runBackup(a, j, {
      onProgress: (p) => {
        if (!armed && p.done >= 5) {
          armed = true;
          stackOf().proxies.blob.addRule({
            operation: "PutBlob",
            pathPrefix: `/${container()}/manual/`,
            fault: "AuthorizationFailure",
          });
        }
      },
    });
    expect(r).toMatchObject({
      status: "failed",
      stoppedAt: "mid-run",
      diagnosis: { code: "StorageFirewall" },
    });
    stackOf().proxies.blob.clearRules();
    expect(await a.inventory.get(j.runId)).toMatchObject({
      status: "failed",
      firstFailureCode: "StorageFirewall",
    });
    expect(await blobsUnder(`${runPrefix("manual", "demo-vault", j.runId)}manifest.json`)).toEqual([]);
  });

  it("a table 403 after the manifest committed: succeeded, 'latest' finds it, the next run repairs the row", async () => {
    const a = appFor();
    const j = cliJob();
    const r = await runBackup(a, j, {
      onProgress: (p) => {
        if (p.kind === "certificates" && p.listingDone && p.done === p.listed)
          stackOf().proxies.table.addRule({ fault: "AuthorizationPermissionMismatch" });
      },
    });
    expect(r).toMatchObject({ status: "succeeded", inventoryStale: true });
    stackOf().proxies.table.clearRules();
    expect((await a.inventory.get(j.runId))?.status).toBe("running");
    expect((await findRun(a, "latest", "demo-vault")).manifest.runId).toBe(j.runId);
    await runBackup(a, cliJob(undefined, ["keys"]));
    expect(await a.inventory.get(j.runId)).toMatchObject({
      status: "succeeded",
      manifestSha256: expect.any(String),
    });
  });
});

describe("Key Vault authorization", () => {
  it("a missing backup permission is a ForbiddenByRbac diagnosis naming the action", async () => {
    const { url } = await stackOf().emulator.createVault("list-only-vault");
    stackOf().emulator.call("list-only-vault", "PUT", "/secrets/one", { value: "1" });
    stackOf().emulator.assignRole("list-only-vault", {
      principalId: stackOf().identities.app.principalId,
      role: { dataActions: ["Microsoft.KeyVault/vaults/secrets/readMetadata/action"] },
    });
    const r = await runBackup(
      appFor({ BACKUP_VAULTS: `list-only-vault=${url}`, RESTORE_TARGET_VAULTS: "", BACKUP_KINDS: "secrets" }),
      cliJob("list-only-vault"),
    );
    expect(r.status).toBe("failed");
    expect(r.failed[0]).toMatchObject({ kind: "secrets", name: "one", code: "KeyVaultRbac" });
    expect(r.failed[0]?.diagnosis.cause).toContain("Microsoft.KeyVault/vaults/secrets/backup/action");
  });

  it("a vault that refuses listing fails that kind with one entry; the other kinds go on (partial)", async () => {
    const { url } = await stackOf().emulator.createVault("half-vault");
    stackOf().emulator.call("half-vault", "PUT", "/secrets/s", { value: "1" });
    stackOf().emulator.call("half-vault", "POST", "/keys/k/create", { kty: "EC" });
    stackOf().emulator.assignRole("half-vault", {
      principalId: stackOf().identities.app.principalId,
      role: { dataActions: BackupOperatorRole.dataActions.filter((x) => !x.includes("/keys/")) },
    });
    const a = appFor({ BACKUP_VAULTS: `half-vault=${url}`, RESTORE_TARGET_VAULTS: "" });
    const r = await runBackup(a, cliJob("half-vault"));
    expect(r.status).toBe("partial");
    expect(r.failed).toEqual([expect.objectContaining({ kind: "keys", name: "*", code: "KeyVaultRbac" })]);
    expect((await findRun(a, r.runId, "half-vault")).manifest.items.map((i) => i.name)).toEqual(["s"]);
    expect((await a.inventory.get(r.runId))?.firstFailureCode).toBe("KeyVaultRbac");
  });
});

describe("objects Key Vault cannot back up", () => {
  it("an object over the version limit is a named failure; the run is partial", async () => {
    stackOf().emulator.vault("demo-vault").config.maxBackupVersions = 5;
    try {
      for (let i = 0; i < 6; i++)
        stackOf().emulator.call("demo-vault", "PUT", "/secrets/too-many-versions", { value: `v${i}` });
      const r = await runBackup(appFor({}, { tuning: { versionLimit: 5 } }), cliJob(undefined, ["secrets"]));
      expect(r.status).toBe("partial");
      expect(r.failed).toEqual([
        expect.objectContaining({ kind: "secrets", name: "too-many-versions", code: "TooManyVersions" }),
      ]);
      expect(r.failed[0]?.diagnosis.cause).toContain("has 6 versions");
      expect(r.counts.secrets.backedUp).toBe(25);
    } finally {
      stackOf().emulator.vault("demo-vault").config.maxBackupVersions = 500;
      stackOf().emulator.call("demo-vault", "DELETE", "/secrets/too-many-versions");
      stackOf().emulator.call("demo-vault", "DELETE", "/deletedsecrets/too-many-versions");
    }
  });
});

describe("throttling and transient faults", () => {
  it("honours Retry-After when the vault sends it", async () => {
    stackOf().emulator.setLimits("demo-vault", { perTenSeconds: 20, retryAfter: true });
    stackOf().emulator.resetStats("demo-vault");
    const r = await runBackup(appFor(), cliJob(undefined, ["secrets"]));
    expect(stackOf().emulator.stats("demo-vault").throttled).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
  }, 60_000);

  it("503s and dropped connections are retried", async () => {
    stackOf().emulator.setFaults("demo-vault", { errorRate: 0.15, errorStatus: 503, dropRate: 0.05 });
    stackOf().emulator.resetStats("demo-vault");
    const r = await runBackup(appFor(), cliJob());
    expect(stackOf().emulator.stats("demo-vault").byStatus["503"] ?? 0).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
  }, 60_000);
});
