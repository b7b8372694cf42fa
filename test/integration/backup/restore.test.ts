import { SecretClient } from "@azure/keyvault-secrets";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import type { Stack } from "../../stack/stack.js";
import { appCredential, appFor, cliJob, identityCredential, kvOptions, startTestStack } from "../helpers.js";

let stack: Stack;
let runId: string;
const admin = (url: string) =>
  new SecretClient(url, identityCredential(stack.identities.admin.clientId), kvOptions);
const outcomes = (results: { name: string; outcome: string }[] = []) =>
  Object.fromEntries(results.map((r) => [r.name, r.outcome]));
const quick = { tuning: { conflictRetryMs: 10_000 } };

beforeAll(async () => {
  stack = await startTestStack();
  const r = await runBackup(appFor(), cliJob());
  expect(r.status).toBe("succeeded");
  runId = r.runId;
});
afterEach(() => {
  stack.emulator.setLimits("restore-vault", { perTenSeconds: 4000 });
  stack.emulator.setTiming("demo-vault", { purgeMs: 0 });
});
afterAll(async () => {
  await stack?.stop();
});

describe("restore through the real SDKs", () => {
  it("into the source vault after delete + purge, filtered by name", async () => {
    for (const [kind, name] of [
      ["secrets", "billing-prod-db-password"],
      ["keys", "signing-key-p256"],
      ["certificates", "mtls-client"],
    ]) {
      stack.emulator.call("demo-vault", "DELETE", `/${kind}/${name}`);
      stack.emulator.call("demo-vault", "DELETE", `/deleted${kind}/${name}`);
    }
    const report = await runRestore(appFor(), {
      runId,
      vault: "demo-vault",
      names: ["secrets/billing-prod-db-password", "keys/signing-key-p256", "mtls-client", "feature-flags"],
    });
    expect(outcomes(report.results)).toEqual({
      "billing-prod-db-password": "restored",
      "signing-key-p256": "restored",
      "mtls-client": "restored",
      "feature-flags": "skipped-exists",
    });
    expect(report.status).toBe("succeeded");
    expect((await admin(stack.vaults.demo.url).getSecret("billing-prod-db-password")).value).toBe(
      "pw-billing-prod-v2",
    );
    expect((await admin(stack.vaults.demo.url).getSecret("mtls-client")).properties.managed).toBe(true);
  });

  it("'latest' into restore-vault restores everything; the same again skips (skip) or fails (fail) every object", async () => {
    const first = await runRestore(appFor(), {
      runId: "latest",
      vault: "demo-vault",
      targetVault: "restore-vault",
    });
    expect(first.status).toBe("succeeded");
    expect(first.results?.filter((r) => r.outcome === "restored")).toHaveLength(33);
    const names = [];
    for await (const s of admin(stack.vaults.restore.url).listPropertiesOfSecrets()) names.push(s.name);
    expect(names).toHaveLength(28);
    const again = await runRestore(appFor(), { runId, vault: "demo-vault", targetVault: "restore-vault" });
    expect(again.status).toBe("succeeded");
    expect(again.results?.every((r) => r.outcome === "skipped-exists")).toBe(true);
    const strict = await runRestore(appFor(), {
      runId,
      vault: "demo-vault",
      targetVault: "restore-vault",
      onConflict: "fail",
      kinds: ["keys"],
    });
    expect(strict.status).toBe("failed");
    const conflicts = strict.results?.filter((r) => r.outcome === "failed") ?? [];
    expect(conflicts).toHaveLength(5);
    expect(conflicts.every((r) => r.diagnosis?.code === "RestoreConflict")).toBe(true);
    // The keys behind certificates were asked for (kinds: keys) but only come back with their certificate.
    const managed = strict.results?.filter((r) => r.outcome === "not-in-backup") ?? [];
    expect(managed.length).toBeGreaterThan(0);
    expect(managed.every((r) => r.detail?.includes("restore the certificate"))).toBe(true);
  });

  it("a soft-deleted name is planned as a skip with how to recover or purge, and the restore is not ok; dry runs write nothing", async () => {
    stack.emulator.call("restore-vault", "DELETE", "/secrets/feature-flags");
    stack.emulator.resetStats("restore-vault");
    const req = { runId, vault: "demo-vault", targetVault: "restore-vault", names: ["feature-flags"] };
    const plan = await runRestore(appFor(), { ...req, dryRun: true });
    expect(plan).toMatchObject({ status: "planned", expected: "failed" });
    expect(plan.plan).toEqual([
      expect.objectContaining({
        name: "feature-flags",
        action: "skip-deleted",
        detail: expect.stringContaining("recover"),
      }),
    ]);
    expect(
      Object.keys(stack.emulator.stats("restore-vault").byOperation).some((op) => op.startsWith("Restore")),
    ).toBe(false);
    const real = await runRestore(appFor(), req);
    expect(real.results?.[0]).toMatchObject({
      outcome: "skipped-deleted",
      diagnosis: { code: "DeletedButRecoverable" },
    });
    expect(real.status).toBe("failed");
  });

  it("a transient conflict (purge still running) is retried; an unknown name is 'not in this backup' and the restore is partial", async () => {
    stack.emulator.setTiming("demo-vault", { purgeMs: 700 });
    stack.emulator.call("demo-vault", "DELETE", "/secrets/old-smtp-relay");
    stack.emulator.call("demo-vault", "DELETE", "/deletedsecrets/old-smtp-relay");
    const report = await runRestore(appFor({}, quick), {
      runId,
      vault: "demo-vault",
      names: ["old-smtp-relay", "no-such-secret"],
    });
    expect(outcomes(report.results)).toEqual({
      "old-smtp-relay": "restored",
      "no-such-secret": "not-in-backup",
    });
    expect(report.status).toBe("partial");
  });

  it("a corrupt blob is refused and reported, never sent; verify reports corrupt, missing and extra blobs", async () => {
    const a = appFor();
    const r = await runBackup(a, cliJob(undefined, ["secrets"]));
    const { manifest } = await findRun(a, r.runId, "demo-vault");
    expect((await verifyRun(a, manifest)).ok).toBe(true);
    const container = new BlobServiceClient(
      process.env.BACKUP_STORAGE__blobServiceUri as string,
      appCredential(),
    ).getContainerClient(process.env.BACKUP_CONTAINER as string);
    const victim = manifest.items.find((i) => i.name === "expiring-token");
    const gone = manifest.items.find((i) => i.name === "orders-dev-db-password");
    await container.getBlockBlobClient(victim?.blob as string).uploadData(Buffer.from("tampered"));
    await container.getBlockBlobClient(gone?.blob as string).delete();
    await container
      .getBlockBlobClient(r.manifestPath.replace("manifest.json", "secrets/smuggled.kvbak"))
      .uploadData(Buffer.from("x"));
    const v = await verifyRun(a, manifest);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => [p.problem, p.blob.split("/").at(-1)])).toEqual([
      ["corrupt", "expiring-token.kvbak"],
      ["missing", "orders-dev-db-password.kvbak"],
      ["extra", "smuggled.kvbak"],
    ]);
    stack.emulator.call("demo-vault", "DELETE", "/secrets/expiring-token");
    stack.emulator.call("demo-vault", "DELETE", "/deletedsecrets/expiring-token");
    stack.emulator.resetStats("demo-vault");
    const report = await runRestore(a, { runId: r.runId, vault: "demo-vault", names: ["expiring-token"] });
    expect(report.results?.[0]).toMatchObject({ outcome: "failed", diagnosis: { code: "CorruptBlob" } });
    expect(report.status).toBe("failed");
    expect(stack.emulator.stats("demo-vault").byOperation.RestoreSecret).toBeUndefined();
  });

  it("a manifest made invalid JSON or {} is a CorruptManifest, and 'latest' passes over it to the newest sound run", async () => {
    const a = appFor();
    const sound = await runBackup(a, cliJob(undefined, ["keys"]));
    const damaged = await runBackup(a, cliJob(undefined, ["keys"]));
    const container = new BlobServiceClient(
      process.env.BACKUP_STORAGE__blobServiceUri as string,
      appCredential(),
    ).getContainerClient(process.env.BACKUP_CONTAINER as string);
    for (const body of ["{not json", "{}"]) {
      await container.getBlockBlobClient(damaged.manifestPath).uploadData(Buffer.from(body));
      expect((await findRun(a, "latest", "demo-vault")).manifest.runId).toBe(sound.runId);
      await expect(runRestore(a, { runId: damaged.runId, vault: "demo-vault" })).rejects.toSatisfy(
        (e: unknown) => isKvBackupError(e, "CorruptManifest"),
      );
    }
  });

  it("a vault in another security world refuses the blob with a diagnosis that says why", async () => {
    const { url } = await stack.emulator.createVault("far-vault", { securityWorld: "other-geography" });
    stack.emulator.assignRole("far-vault", {
      principalId: stack.identities.app.principalId,
      role: "Key Vault Administrator",
    });
    const a = appFor({ RESTORE_TARGET_VAULTS: `${process.env.RESTORE_TARGET_VAULTS},far-vault=${url}` });
    const report = await runRestore(a, {
      runId,
      vault: "demo-vault",
      targetVault: "far-vault",
      names: ["feature-flags"],
    });
    expect(report.results?.[0]).toMatchObject({ outcome: "failed", diagnosis: { code: "RestoreRejected" } });
    expect(report.results?.[0]?.diagnosis?.cause).toContain("same subscription and the same geography");
  });

  it("a target off the allow-list is refused before any Key Vault call; an unknown run is NotFound", async () => {
    stack.emulator.resetStats("demo-vault");
    stack.emulator.resetStats("restore-vault");
    await expect(
      runRestore(appFor(), { runId, vault: "demo-vault", targetVault: "elsewhere-vault" }),
    ).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "VaultNotAllowed"));
    expect(stack.emulator.stats("demo-vault").total + stack.emulator.stats("restore-vault").total).toBe(0);
    await expect(
      runRestore(appFor(), { runId: "20200101T000000Z-aaaaaa", vault: "demo-vault" }),
    ).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "NotFound"));
  });

  it("a partial run restores what it holds, names what it does not, and says partial", async () => {
    stack.emulator.vault("demo-vault").config.maxBackupVersions = 4;
    for (let i = 0; i < 5; i++)
      stack.emulator.call("demo-vault", "PUT", "/secrets/restore-many", { value: `v${i}` });
    const r = await runBackup(appFor({}, { tuning: { versionLimit: 4 } }), cliJob(undefined, ["secrets"]));
    stack.emulator.vault("demo-vault").config.maxBackupVersions = 500;
    expect(r.status).toBe("partial");
    const { url } = await stack.emulator.createVault("partial-target");
    stack.emulator.assignRole("partial-target", {
      principalId: stack.identities.app.principalId,
      role: "Key Vault Administrator",
    });
    const report = await runRestore(appFor({ RESTORE_TARGET_VAULTS: `partial-target=${url}` }), {
      runId: r.runId,
      vault: "demo-vault",
      targetVault: "partial-target",
    });
    expect(report.results?.find((x) => x.name === "restore-many")).toMatchObject({
      outcome: "not-in-backup",
      detail: expect.stringContaining("TooManyVersions"),
    });
    expect(report.results?.filter((x) => x.outcome === "restored").length).toBeGreaterThan(20);
    expect(report.status).toBe("partial");
  });

  it("completes under a 429 storm on the target", async () => {
    const { url } = await stack.emulator.createVault("storm-target");
    stack.emulator.assignRole("storm-target", {
      principalId: stack.identities.app.principalId,
      role: "Key Vault Administrator",
    });
    stack.emulator.setLimits("storm-target", { perTenSeconds: 6 });
    const report = await runRestore(appFor({ RESTORE_TARGET_VAULTS: `storm-target=${url}` }), {
      runId,
      vault: "demo-vault",
      targetVault: "storm-target",
      kinds: ["keys"],
    });
    expect(stack.emulator.stats("storm-target").throttled).toBeGreaterThan(0);
    expect(report.results?.filter((x) => x.outcome === "restored")).toHaveLength(5);
    // Everything else asked for is a certificate's key, named as such: the restore is not called succeeded.
    const rest = report.results?.filter((x) => x.outcome !== "restored") ?? [];
    expect(rest.every((x) => x.outcome === "not-in-backup" && x.detail?.includes("certificate"))).toBe(true);
    expect(report.status).toBe(rest.length ? "partial" : "succeeded");
  }, 60_000);
});
