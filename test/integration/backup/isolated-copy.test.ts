import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareVaults } from "../../stack/compareVaults.js";
import { addDemoVaults, addDrillVault, type StackBase, stackEnv, startBase } from "../../stack/stack.js";
import { OpenFirewall } from "../../stack/storage/faultProxy.js";
import { appCredential, quickOperatorApp, runCli, sharedBase, testTls } from "../helpers.js";

/*
 * The isolated copy end to end on the local stack: the real SDK clients, the stack's copy account
 * (its own firewall, a role model that gives the app read + add only, version-level immutability),
 * Put Blob From URL answered by the stack's proxy as Storage does. The file ends by deleting the
 * backup account, so it has a base of its own (not the worker's shared one).
 */
let base: StackBase;
let env: Record<string, string>;
const kvbackup = (...args: string[]) => runCli(args, env, quickOperatorApp);

beforeAll(async () => {
  // The worker's identity endpoint (this process's credentials and their token cache use it); the
  // rest — Key Vault, Azurite, the copy account — this file's own.
  base = await startBase({
    dir: join(process.env.KVBACKUP_TEST_TLS_DIR as string, `stack-copy-${process.pid}`),
    tls: testTls(),
    identity: (await sharedBase()).identity,
  });
  // As startTestStack does: this process's credentials sign in at the worker's identity endpoint.
  process.env.IDENTITY_ENDPOINT = base.identity.endpoint;
  process.env.IDENTITY_HEADER = base.identity.header;
  const { vaults } = await addDemoVaults(base, true, true);
  env = {
    ...stackEnv(base, vaults),
    ...(await addDrillVault(base)).env,
    ...base.copy.env,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "",
  };
}, 120_000);

afterAll(async () => {
  await base?.stop();
});

const runOf = (json: {
  runs: { runId: string; status: string; copy?: { runs: Record<string, unknown>[] } }[];
}) => json.runs[0] as { runId: string; status: string; copy?: { runs: Record<string, unknown>[] } };

describe("the isolated copy on the local stack", () => {
  let first: string;

  it("a run is copied server-side, manifest last, verified; verify --from copy reads it back", async () => {
    const backup = await kvbackup("backup", "--vault", "demo-vault", "--json");
    expect(backup.code).toBe(0);
    const run = runOf(backup.json);
    first = run.runId;
    expect(run.copy?.runs[0]).toMatchObject({ runId: first, status: "copied", method: "server-side" });
    const list = await kvbackup("list", "--vault", "demo-vault", "--json");
    expect(list.json.runs[0]).toMatchObject({
      runId: first,
      copy: { status: "copied", method: "server-side" },
    });
    const verify = await kvbackup("verify", "latest", "--vault", "demo-vault", "--from", "copy", "--json");
    expect(verify.code).toBe(0);
    expect(verify.json).toMatchObject({ runId: first, ok: true });
    expect(verify.json.checked).toBeGreaterThan(10);
  });

  it("the app's identity can neither delete nor overwrite a copied blob (role model, then immutability)", async () => {
    const copy = new BlobServiceClient(base.copy.url, appCredential()).getContainerClient(
      base.copy.container,
    );
    const blobs: string[] = [];
    for await (const b of copy.listBlobsFlat({ prefix: "manual/demo-vault/" })) blobs.push(b.name);
    const manifest = blobs.find((b) => b.endsWith(`${first}/manifest.json`)) as string;
    expect(manifest).toBeDefined();
    const refusal = async (call: Promise<unknown>) =>
      call.then(
        () => "done",
        (e: { statusCode?: number; code?: string }) => `${e.statusCode} ${e.code}`,
      );
    expect(await refusal(copy.getBlobClient(manifest).delete())).toBe("403 AuthorizationPermissionMismatch");
    expect(await refusal(copy.getBlockBlobClient(manifest).upload("{}", 2))).toBe(
      "403 AuthorizationPermissionMismatch",
    );
    const kept = await copy.getBlobClient(manifest).downloadToBuffer();
    expect(JSON.parse(kept.toString("utf8")).runId).toBe(first);
  });

  it("doctor proves the copy append-only, and fails when the app's identity could delete there", async () => {
    const ok = await kvbackup("doctor", "--json");
    expect(ok.json.copy).toMatchObject({
      ok: true,
      checks: { read: { ok: true }, add: { ok: true }, noDelete: { ok: true }, noOverwrite: { ok: true } },
    });
    const app = base.identities.app.principalId;
    const before = base.copy.roles.get(app);
    base.copy.roles.set(app, [
      ...(before ?? []),
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    ]);
    try {
      // Immutability still refuses (409), but the role let the calls through: red, each version
      // would be the app's to destroy once its retention ends.
      const retained = await kvbackup("doctor", "--json");
      expect(retained.code).toBe(1);
      expect(retained.json.copy.checks.noDelete.diagnosis.cause).toMatch(
        /only the version's retention refused it/,
      );
      base.copy.immutable = false;
      const bad = await kvbackup("doctor", "--json");
      expect(bad.code).toBe(1);
      expect(bad.json.copy.checks.noDelete.diagnosis.code).toBe("CopyNotAppendOnly");
      expect(bad.json.copy.checks.noOverwrite.diagnosis.code).toBe("CopyNotAppendOnly");
    } finally {
      base.copy.immutable = true;
      if (before) base.copy.roles.set(app, before);
    }
  });

  it("when the backup account's firewall keeps Storage's copy service out, the blobs are streamed through the app", async () => {
    Object.assign(base.network.firewall, { defaultAction: "Deny", functionSubnet: true });
    try {
      const backup = await kvbackup("backup", "--vault", "demo-vault", "--json");
      expect(backup.code).toBe(0);
      const mine = runOf(backup.json).copy?.runs[0];
      expect(mine).toMatchObject({ status: "copied", method: "streamed" });
      expect(String(mine?.fellBack)).toMatch(/CannotVerifyCopySource/);
    } finally {
      Object.assign(base.network.firewall, OpenFirewall);
    }
  });

  it("a copy the copy's firewall refuses leaves the run succeeded, says why, and kvbackup copy catches up", async () => {
    Object.assign(base.copy.network.firewall, { defaultAction: "Deny", functionSubnet: false });
    let owed: string;
    try {
      const backup = await kvbackup("backup", "--vault", "demo-vault", "--json");
      expect(backup.code).toBe(0);
      const run = runOf(backup.json);
      owed = run.runId;
      expect(run.status).toBe("succeeded");
      expect(run.copy?.runs[0]).toMatchObject({ status: "failed", diagnosis: { code: "CopyUnreachable" } });
      const doctor = await kvbackup("doctor", "--json");
      expect(doctor.json.copy.checks.read.diagnosis.code).toBe("CopyUnreachable");
    } finally {
      Object.assign(base.copy.network.firewall, OpenFirewall);
    }
    const copy = await kvbackup("copy", "--json");
    expect(copy.code).toBe(0);
    expect(copy.json.vaults[0].runs).toEqual([expect.objectContaining({ runId: owed, status: "copied" })]);
    expect(copy.json.vaults[0].lagSeconds).toBe(0);
  });

  it("drill --from copy proves the copy restores", async () => {
    const drill = await kvbackup("drill", "--vault", "demo-vault", "--from", "copy", "--json");
    expect(drill.code).toBe(0);
    expect(drill.json.drills[0]).toMatchObject({
      vault: "demo-vault",
      status: "succeeded",
      from: "copy",
      mismatches: [],
    });
  });

  it("with the backup account deleted, the vault is restored from the copy, every object as it was", {
    timeout: 180_000,
  }, async () => {
    await base.deletePrimaryAccount();
    const intoRestoreVault = (...more: string[]) =>
      kvbackup("restore", "latest", "--vault", "demo-vault", "--to", "restore-vault", "--json", ...more);
    const fromPrimary = await intoRestoreVault();
    expect(fromPrimary.code).toBe(1);
    expect(JSON.stringify(fromPrimary.json)).toMatch(/StorageUnreachable/);
    const restore = await intoRestoreVault("--from", "copy");
    expect(restore.code).toBe(0);
    expect(restore.json.source).toMatchObject({ vault: "demo-vault", from: "copy" });
    const compared = await compareVaults(
      env.BACKUP_VAULTS?.split("=")[1] as string,
      env.RESTORE_TARGET_VAULTS?.split("=")[1] as string,
    );
    expect(compared.differences).toEqual([]);
    expect(compared.total).toBeGreaterThan(5);
    const verify = await kvbackup("verify", "latest", "--vault", "demo-vault", "--from", "copy", "--json");
    expect(verify.json.ok).toBe(true);
  });
});
