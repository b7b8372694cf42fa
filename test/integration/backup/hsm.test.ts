import { HttpRequest, InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app.js";
import { enqueueBackups } from "../../../src/backup/backupJobs.js";
import type { BackupJob } from "../../../src/backup/engine.js";
import type { RunResult } from "../../../src/backup/run/record.js";
import { Queues } from "../../../src/domain/config.js";
import { postBackups } from "../../../src/functions/backupsApi.js";
import { backupWorker } from "../../../src/functions/workers.js";
import { loadConfig } from "../../../src/loadConfig.js";
import type { ManagedHsmEmulator } from "../../stack/hsm/hsmEmulator.js";
import { addHsm, type Stack } from "../../stack/stack.js";
import { takeJobs } from "../../stack/takeJobs.js";
import { runCli, startTestStack } from "../helpers.js";

const ctx = () => new InvocationContext({ functionName: "test", logHandler: () => undefined });
let stack: Stack;
let hsm: ManagedHsmEmulator;
let resourceId: string;
let env: Record<string, string>;
const name = `hsm-${Math.random().toString(36).slice(2, 8)}`;
const quick = { tuning: { hsmPollMs: 20, hsmJobTimeoutMs: 30_000 } };

/** The CLI in this process against the stack, polling the HSM's jobs quickly. */
const kvbackup = (args: string[]) => runCli(args, env, (e) => createApp(loadConfig(e, "operator"), quick));

/** The storage account's network rules, through the stack's admin API (PUT /storage/firewall). */
async function firewall(rules: {
  defaultAction: "Allow" | "Deny";
  functionSubnet?: boolean;
  resourceInstances?: string[];
  trustedServices?: boolean;
}): Promise<void> {
  const r = await fetch(`${stack.admin.url}/storage/firewall`, {
    method: "PUT",
    headers: { authorization: `Bearer ${stack.admin.token}`, "content-type": "application/json" },
    body: JSON.stringify(rules),
  });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  stack = await startTestStack();
  const added = await addHsm(stack, name, { retryAfterSeconds: 0 });
  hsm = added.hsm;
  resourceId = added.resourceId;
  env = { ...stack.env, ...added.env };
});
afterAll(async () => {
  await hsm?.stop();
  await stack?.stop();
});

describe("a Managed HSM full backup behind the storage firewall (the `az keyvault backup start --hsm-name` case)", () => {
  it("only the Function's VNet rule: the HSM's own writes are refused, diagnosed as such; the resource instance rule fixes it", async () => {
    await firewall({ defaultAction: "Deny", functionSubnet: true });
    const refusedBefore = stack.proxies.blob.refusedBy.get(resourceId) ?? 0;
    const failed = await kvbackup(["backup", "--hsm", name, "--json"]);
    expect(failed.code).toBe(1);
    const run = failed.json.runs[0];
    expect(run).toMatchObject({ vault: name, status: "failed" });
    expect(run.diagnosis.code).toBe("HsmStorageFirewall");
    expect(run.diagnosis.cause).toContain("VNet rule");
    expect(run.diagnosis.fix).toContain(
      `--resource-id $(az keyvault show --hsm-name ${name} --query id -o tsv)`,
    );
    // The proxy refused the HSM itself, never the app (the Function's subnet is admitted).
    expect((stack.proxies.blob.refusedBy.get(resourceId) ?? 0) - refusedBefore).toBeGreaterThan(0);
    expect(stack.proxies.blob.refusedBy.get("app") ?? 0).toBe(0);
    const doctor = await kvbackup(["doctor", "--json"]);
    expect(doctor.code).toBe(1);
    expect(doctor.json.hsms[0]).toMatchObject({ name, ok: false, diagnosis: { code: "HsmStorageFirewall" } });
    const list = await kvbackup(["list", "--vault", name, "--json"]);
    expect(list.json.runs[0]).toMatchObject({
      runId: run.runId,
      status: "failed",
      firstFailureCode: "HsmStorageFirewall",
    });

    await firewall({ defaultAction: "Deny", functionSubnet: true, resourceInstances: [resourceId] });
    expect((await kvbackup(["doctor", "--json"])).json.hsms[0].ok).toBe(true);
    const ok = await kvbackup(["backup", "--hsm", name, "--json"]);
    expect(ok.code).toBe(0);
    const good = ok.json.runs[0];
    expect(good).toMatchObject({
      status: "succeeded",
      hsm: { container: `${env.BACKUP_CONTAINER}-hsm-manual` },
    });
    expect(good.hsm.folder).toMatch(new RegExp(`^mhsm-${name}-\\d{16}$`));
    expect(good.hsm.files).toBe(3);
    const verify = await kvbackup(["verify", "latest", "--vault", name, "--json"]);
    expect(verify.json).toMatchObject({ ok: true, expected: 3, checked: 3 });
    const show = await kvbackup(["show", good.runId, "--json"]);
    expect(show.json.manifest.hsm.folder).toBe(good.hsm.folder);
    const shown = await kvbackup(["show", good.runId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`Managed HSM full backup (job `);
    expect(shown.stdout).toContain(`3 file(s)`);
    expect(shown.stdout).toContain(`${env.BACKUP_CONTAINER}-hsm-manual/${good.hsm.folder}/`);
  });

  it("the trusted-services bypass admits the HSM too; the Function's subnet missing fails at the app's own preflight instead", async () => {
    await firewall({ defaultAction: "Deny", functionSubnet: true, trustedServices: true });
    expect((await kvbackup(["backup", "--hsm", name, "--json"])).code).toBe(0);
    await firewall({ defaultAction: "Deny", functionSubnet: false, trustedServices: true });
    const blocked = await kvbackup(["backup", "--hsm", name, "--json"]);
    expect(blocked.code).toBe(1);
    expect(blocked.json.runs[0]).toMatchObject({
      status: "failed",
      stoppedAt: "preflight",
      diagnosis: { code: "StorageFirewall" },
    });
    await firewall({ defaultAction: "Allow" });
  });

  it("selective key restore brings a purged key back with every version; a key still there is not overwritten, and says so", async () => {
    await firewall({ defaultAction: "Deny", functionSubnet: true, resourceInstances: [resourceId] });
    const before = JSON.stringify(hsm.keys.get("hsm-signing-key"));
    expect((await kvbackup(["backup", "--hsm", name])).code).toBe(0);
    hsm.keys.delete("hsm-signing-key");
    // Restores need the HSM's restore actions (an HSM administrator runs them; the app's backup role is not enough).
    const denied = await kvbackup(["restore", "latest", "--hsm", name, "--key", "hsm-signing-key", "--json"]);
    expect([denied.code, denied.json.diagnosis.code]).toEqual([1, "HsmRestoreForbidden"]);
    expect(denied.json.diagnosis.fix).toContain(`az keyvault role assignment create --hsm-name ${name}`);
    hsm.assign(stack.identities.app.principalId, "Managed HSM Administrator");
    const restored = await kvbackup([
      "restore",
      "latest",
      "--hsm",
      name,
      "--key",
      "hsm-signing-key",
      "--json",
    ]);
    expect(restored.code).toBe(0);
    expect(restored.json).toMatchObject({ status: "succeeded", restoredVersions: 2, notOverwritten: 0 });
    expect(JSON.stringify(hsm.keys.get("hsm-signing-key"))).toBe(before);
    const again = await kvbackup(["restore", "latest", "--hsm", name, "--key", "hsm-signing-key"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("could not overwrite 2 version(s)");
    const absent = await kvbackup(["restore", "latest", "--hsm", name, "--key", "never-existed", "--json"]);
    expect(absent.code).toBe(1);
    expect(absent.json).toMatchObject({ status: "failed", diagnosis: { code: "HsmJobFailed" } });
    hsm.unassign(stack.identities.app.principalId);
    hsm.assign(stack.identities.app.principalId, "Managed HSM Backup");
  });

  it("a full restore needs --full-restore and the HSM's name typed; then every key is the backup's", async () => {
    expect((await kvbackup(["restore", "latest", "--hsm", name, "--full-restore"])).code).toBe(2);
    expect(
      (await kvbackup(["restore", "latest", "--hsm", name, "--full-restore", "--confirm", "other"])).code,
    ).toBe(2);
    expect(
      (
        await kvbackup([
          "restore",
          "latest",
          "--hsm",
          name,
          "--key",
          "k",
          "--full-restore",
          "--confirm",
          name,
        ])
      ).code,
    ).toBe(2);
    hsm.createKey("made-after-backup");
    hsm.keys.delete("hsm-wrapping-key");
    const full = await kvbackup([
      "restore",
      "latest",
      "--hsm",
      name,
      "--full-restore",
      "--confirm",
      name,
      "--json",
    ]);
    // The app's identity holds Managed HSM Backup only: restores need more, and the refusal is named.
    expect(full.code).toBe(1);
    expect(full.json.diagnosis.code).toBe("HsmRestoreForbidden");
    hsm.assign(stack.identities.app.principalId, "Managed HSM Administrator");
    try {
      const ok = await kvbackup([
        "restore",
        "latest",
        "--hsm",
        name,
        "--full-restore",
        "--confirm",
        name,
        "--json",
      ]);
      expect(ok.code).toBe(0);
      expect([...hsm.keys.keys()].sort()).toEqual(["hsm-signing-key", "hsm-wrapping-key"]);
    } finally {
      hsm.unassign(stack.identities.app.principalId);
      hsm.assign(stack.identities.app.principalId, "Managed HSM Backup");
    }
  });

  it("names the HSM identity's missing data role, the app's missing HSM role, and a backup already running", async () => {
    await firewall({ defaultAction: "Allow" });
    const rule = stack.proxies.blob.addRule({
      pathPrefix: `/${env.BACKUP_CONTAINER}-hsm-manual/`,
      operation: "PutBlob",
      fault: "AuthorizationPermissionMismatch",
    });
    const rbac = await kvbackup(["backup", "--hsm", name, "--json"]);
    stack.proxies.blob.removeRule(rule);
    expect(rbac.json.runs[0].diagnosis.code).toBe("HsmStorageRbac");

    hsm.unassign(stack.identities.app.principalId);
    const denied = await kvbackup(["backup", "--hsm", name, "--json"]);
    hsm.assign(stack.identities.app.principalId, "Managed HSM Backup");
    expect(denied.json.runs[0].diagnosis.code).toBe("HsmBackupForbidden");
    expect(denied.json.runs[0].diagnosis.fix).toContain(
      `az keyvault role assignment create --hsm-name ${name} --role "Managed HSM Backup"`,
    );

    // Someone else's backup holds the HSM (its writes slowed down): the service refuses a second job.
    const slow = stack.proxies.blob.addRule({ pathPrefix: "/other-container/", latencyMs: 3000 });
    const token = stack.identity.mint(stack.identities.admin, "https://managedhsm.azure.net");
    const theirs = await fetch(`${hsm.url}/backup?api-version=2025-07-01`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        storageResourceUri: `${env.BACKUP_STORAGE__blobServiceUri}/other-container`,
        useManagedIdentity: true,
      }),
    });
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get("azure-asyncoperation")).toMatch(/\/backup\/[0-9a-f]{32}\/pending$/);
    const busy = await kvbackup(["backup", "--hsm", name, "--json"]);
    stack.proxies.blob.removeRule(slow);
    expect(busy.json.runs[0].diagnosis.code).toBe("HsmBusy");
    await vi.waitFor(() => expect(hsm.busy).toBe(false), { timeout: 15_000, interval: 50 });
  });

  it("the timer and POST /api/backups queue HSM jobs beside the vaults'; the queue worker runs them", async () => {
    await firewall({ defaultAction: "Deny", functionSubnet: true, resourceInstances: [resourceId] });
    const app = createApp(loadConfig(env, "function"), quick);
    const queued = await enqueueBackups(app, { tier: "daily", trigger: "timer" });
    expect(queued.map((q) => [q.vault, q.hsm === true])).toEqual([
      ["demo-vault", false],
      [name, true],
    ]);
    await expect(enqueueBackups(app, { vaults: [name], tier: "manual", trigger: "http" })).rejects.toThrow(
      /is a Managed HSM/,
    );
    // POST /api/backups {"hsms": [...]}: one manual-tier HSM job; an unknown HSM is refused (nothing queued).
    const post = (body: unknown) =>
      postBackups(app)(
        new HttpRequest({
          method: "POST",
          url: "https://local/api/backups",
          body: { string: JSON.stringify(body) },
        }),
        ctx(),
      );
    const accepted = await post({ hsms: [name.toUpperCase()] });
    expect(accepted.status).toBe(202);
    expect(JSON.parse(String((accepted as { body?: unknown }).body)).runs).toEqual([
      expect.objectContaining({ vault: name, hsm: true, status: "queued" }),
    ]);
    expect((await post({ hsms: ["not-an-hsm"] })).status).toBe(400);
    expect((await post({ hsms: "x" })).status).toBe(400);
    const jobs = await takeJobs<BackupJob>(Queues.backup, 32);
    const job = jobs.find((j) => j.hsm);
    expect(job).toBeDefined();
    // Through the queue worker the Functions host calls (the message schema included).
    const r = (await backupWorker(app)(JSON.parse(JSON.stringify(job)), ctx())) as RunResult;
    expect(r).toMatchObject({ status: "succeeded", vault: name });
    expect(r.hsm?.container).toBe(`${env.BACKUP_CONTAINER}-hsm-daily`);
    await firewall({ defaultAction: "Allow" });
  });
});
