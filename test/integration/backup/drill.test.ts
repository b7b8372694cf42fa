import { InvocationContext } from "@azure/functions";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import { enqueueDrills } from "../../../src/backup/drill/drillJobs.js";
import type { DrillResult } from "../../../src/backup/drill/drillTypes.js";
import type { BackupJob } from "../../../src/backup/engine.js";
import { Queues } from "../../../src/domain/config.js";
import { newRunId } from "../../../src/domain/runId.js";
import { backupWorker } from "../../../src/functions/workers.js";
import { loadConfig } from "../../../src/loadConfig.js";
import { addDrillVault, type Stack } from "../../stack/stack.js";
import { takeJobs } from "../../stack/takeJobs.js";
import { QuickRestores, quickOperatorApp, runCli, startTestStack } from "../helpers.js";

const ctx = () => new InvocationContext({ functionName: "test", logHandler: () => undefined });
let stack: Stack;
const tok = () => Math.random().toString(36).slice(2, 7);

const kvbackup = (args: string[], env: Record<string, string>) => runCli(args, env, quickOperatorApp);

/** Everything in a vault of the emulator, active or soft-deleted. */
const contents = (name: string): string[] => {
  const v = stack.emulator.vault(name);
  return [v.secrets, v.keys, v.certificates].flatMap((s) => [
    ...s.list(true).map((o) => `${o.name}`),
    ...s.listDeleted().map((o) => `deleted:${o.object.name}`),
  ]);
};

beforeAll(async () => {
  stack = await startTestStack();
  expect((await kvbackup(["backup", "--vault", "demo-vault", "--json"], stack.env)).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe("restore drills against the local Azure", () => {
  it("kvbackup drill proves the latest run in the scratch vault without a secret value, leaves it empty, and the report says so", async () => {
    const scratch = await addDrillVault(stack, `drill-${tok()}`);
    const env = { ...stack.env, ...scratch.env };
    const doctor = await kvbackup(["doctor", "--json"], env);
    expect(doctor.json.drillVault).toMatchObject({ name: scratch.vault.name, ok: true });
    const getSecretsBefore = stack.emulator.stats(scratch.vault.name).byOperation?.GetSecret ?? 0;
    const d = await kvbackup(["drill", "--json"], env);
    expect(d.code).toBe(0);
    const drill = d.json.drills[0];
    expect(drill).toMatchObject({ vault: "demo-vault", status: "succeeded", mismatches: [] });
    expect(drill.compared).toBeGreaterThan(30);
    expect(drill.againstSource).toBe(drill.compared);
    expect(contents(scratch.vault.name)).toEqual([]);
    // Never a value: no GetSecret on either vault (the drill role does not even allow it).
    expect(stack.emulator.stats(scratch.vault.name).byOperation?.GetSecret ?? 0).toBe(getSecretsBefore);
    const report = await kvbackup(["report", "--json"], env);
    const demo = report.json.vaults.find((v: { vault: string }) => v.vault === "demo-vault");
    expect(demo.lastProvenRestore.runId).toBe(drill.runId);
    expect(demo.coverage).toMatchObject({ missing: [], failed: [] });
    expect(demo.verdict).toBe("ok");
    expect(report.code).toBe(0);
    const table = await kvbackup(["report"], env);
    expect(table.stdout).toMatch(/demo-vault .* ok/);
  }, 120_000);

  it("catches a damaged run: a blob changed in storage is named, and the drill fails; the report says at risk", async () => {
    const scratch = await addDrillVault(stack, `drill-${tok()}`);
    const env = { ...stack.env, ...scratch.env };
    const last = await kvbackup(["list", "--vault", "demo-vault", "--json"], env);
    const runId = last.json.runs[0].runId;
    const show = await kvbackup(["show", runId, "--json"], env);
    const item = show.json.manifest.items.find((i: { kind: string }) => i.kind === "secrets");
    const container = BlobServiceClient.fromConnectionString(
      env.STACK_STORAGE_CONNECTION_STRING as string,
    ).getContainerClient(env.BACKUP_CONTAINER as string);
    const blob = container.getBlockBlobClient(item.blob);
    const original = await blob.downloadToBuffer();
    await blob.upload(Buffer.from("not the backup"), 14);
    try {
      const d = await kvbackup(["drill", "--json"], env);
      expect(d.code).toBe(1);
      const drill = d.json.drills[0];
      expect(drill.status).toBe("failed");
      expect(drill.diagnosis.code).toBe("DrillMismatch");
      expect(drill.mismatches).toEqual([
        expect.objectContaining({ kind: "secrets", name: item.name, field: "blob" }),
      ]);
      expect(contents(scratch.vault.name)).toEqual([]);
      const report = await kvbackup(["report", "--json"], env);
      const demo = report.json.vaults.find((v: { vault: string }) => v.vault === "demo-vault");
      expect(demo.verdict).toBe("at risk");
      expect(demo.reasons.join("; ")).toMatch(/newest drill .* failed \(DrillMismatch\)/);
    } finally {
      await blob.upload(original, original.length);
    }
  }, 120_000);

  it("refuses an unsafe scratch vault (something of someone else's in it), names purge protection and another geography", async () => {
    const busy = await addDrillVault(stack, `drill-${tok()}`);
    stack.emulator.call(busy.vault.name, "PUT", "/secrets/not-a-drill-leftover?api-version=2025-07-01", {
      value: "x",
    });
    const refused = await kvbackup(["drill", "--json"], { ...stack.env, ...busy.env });
    expect([refused.code, refused.json.drills[0].diagnosis.code]).toEqual([1, "DrillVaultNotEmpty"]);
    expect(contents(busy.vault.name)).toEqual(["not-a-drill-leftover"]);

    const locked = await addDrillVault(stack, `drill-${tok()}`, { purgeProtection: true });
    const p = await kvbackup(["drill", "--json"], { ...stack.env, ...locked.env });
    expect([p.code, p.json.drills[0].diagnosis.code]).toEqual([1, "DrillVaultPurgeProtected"]);

    const elsewhere = await addDrillVault(stack, `drill-${tok()}`, { securityWorld: "another-geography" });
    const w = await kvbackup(["drill", "--json"], { ...stack.env, ...elsewhere.env });
    expect([w.code, w.json.drills[0].diagnosis.code]).toEqual([1, "RestoreRejected"]);
    expect(contents(elsewhere.vault.name)).toEqual([]);
  }, 120_000);

  it("the timer's drills run in the queue worker; a drill killed mid-way leaves leftovers the next drill purges", async () => {
    const scratch = await addDrillVault(stack, `drill-${tok()}`);
    const env = { ...stack.env, ...scratch.env };
    const app = createApp(loadConfig(env, "function"), QuickRestores);
    await takeJobs<BackupJob>(Queues.backup, 32);
    const queued = await enqueueDrills(app, { trigger: "timer" });
    expect(queued.map((q) => q.vault)).toEqual(["demo-vault"]);
    // Interrupt the first drill after its first restores: what it restored stays behind.
    const abort = new AbortController();
    const { runDrill } = await import("../../../src/backup/drill/runDrill.js");
    const killedId = newRunId(new Date(Date.now() - 60_000));
    await expect(
      runDrill(
        app,
        { vault: "demo-vault", drillId: killedId, trigger: "cli" },
        {
          signal: abort.signal,
          onProgress: (phase, done) => {
            if (phase === "restore" && done === 3) abort.abort();
          },
        },
      ),
    ).rejects.toThrow();
    expect(contents(scratch.vault.name).length).toBeGreaterThan(0);
    const [job] = await takeJobs<BackupJob>(Queues.backup, 1);
    const d = (await backupWorker(app)(JSON.parse(JSON.stringify(job)), ctx())) as DrillResult;
    expect(d).toMatchObject({ status: "succeeded", vault: "demo-vault" });
    expect(contents(scratch.vault.name)).toEqual([]);
    // The killed drill's row is not left "running": the next drill marked it abandoned.
    const rows = await app.drills.list({ vault: "demo-vault" });
    expect(rows.find((r) => r.drillId === killedId)?.status).toBe("abandoned");
  }, 120_000);
});
