import { InvocationContext, type Timer } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackupJob } from "../../../src/backup/engine.js";
import type { RunResult } from "../../../src/backup/run/record.js";
import { main } from "../../../src/cli/main.js";
import { Queues } from "../../../src/domain/config.js";
import { scheduledBackup } from "../../../src/functions/scheduledBackup.js";
import { backupWorker } from "../../../src/functions/workers.js";
import { BackupOperatorRole, RestoreOperatorRole } from "../../stack/keyvault/roles.js";
import { addFleet, type Stack, StackSubscriptions } from "../../stack/stack.js";
import { takeJobs } from "../../stack/takeJobs.js";
import { captureIo } from "../../unit/fakes/io.js";
import { appFor, startTestStack } from "../helpers.js";

let stack: Stack;
let fleetEnv: Record<string, string>;
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};
const logs: string[] = [];
const ctx = () =>
  new InvocationContext({
    functionName: "test",
    logHandler: (_level, ...args) => void logs.push(args.join(" ")),
  });

/** The CLI in this process with the stack's settings and discovery on. */
async function kvbackup(args: string[]) {
  const { io, stdout } = captureIo();
  const code = await main(args, { ...stack.env, ...fleetEnv }, io);
  return { code, stdout: stdout() };
}

beforeAll(async () => {
  stack = await startTestStack();
  fleetEnv = await addFleet(stack, stack.vaults.demo);
});
afterAll(async () => {
  await stack?.stop();
});

describe("discovery through the local Azure Resource Manager and the real ARM SDK", () => {
  it("kvbackup discover: listed and tagged vaults in two subscriptions (pages followed), the untagged one left out", async () => {
    const r = await kvbackup(["discover", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.vaults.map((v: { name: string; source: string }) => `${v.name}:${v.source}`)).toEqual([
      "demo-vault:listed",
      "team-a-kv:discovered",
      "team-b-kv:discovered",
    ]);
    expect(doc.vaults[2]).toMatchObject({ subscription: StackSubscriptions.b, tags: { owner: "team-b" } });
    expect(doc.excluded).toEqual([
      {
        name: "scratch-kv",
        subscription: StackSubscriptions.a,
        reason: "no tag 'backup' (BACKUP_VAULT_TAG=backup=true)",
      },
    ]);
    // Subscription A holds 3 vaults at 2 a page: the SDK followed nextLink.
    expect(stack.arm.stats.byStatus[200]).toBeGreaterThanOrEqual(3);
  });

  it("kvbackup doctor on the fleet as the infra grants it: exit 0; restoring into a discovered vault is a note, not a failure (issue 21)", async () => {
    const r = await kvbackup(["doctor"]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/^FAIL/m);
    expect(r.stdout).toMatch(
      /^note team-a-kv secrets, keys, certificates: list \+ restore \(KeyVaultRbac\)$/m,
    );
    expect(r.stdout).toMatch(/^ok {3}team-a-kv secrets: list \+ backup$/m);
    expect(r.stdout).toMatch(/all checks passed \(notes on 2 vault\(s\) above/);
    const json = JSON.parse((await kvbackup(["doctor", "--json"])).stdout);
    const teamA = json.vaults.find((v: { name: string }) => v.name === "team-a-kv");
    expect(teamA).toMatchObject({
      use: "discovered",
      ok: true,
      restore: { secrets: { ok: false, optional: true } },
    });
    expect(json.vaults.find((v: { name: string }) => v.name === "demo-vault")).toMatchObject({
      use: "listed",
      ok: true,
    });
    // The same right missing on a listed vault is a failure: the configuration promises restores there.
    stack.emulator.removeRoles("demo-vault", stack.identities.app.principalId);
    stack.emulator.assignRole("demo-vault", {
      principalId: stack.identities.app.principalId,
      role: BackupOperatorRole,
    });
    try {
      const listed = await kvbackup(["doctor"]);
      expect(listed.code).toBe(1);
      expect(listed.stdout).toMatch(/^FAIL demo-vault secrets: list \+ restore$/m);
    } finally {
      stack.emulator.assignRole("demo-vault", {
        principalId: stack.identities.app.principalId,
        role: RestoreOperatorRole,
      });
    }
  }, 60_000);

  it("kvbackup backup --vault takes a discovered vault, as the timer does", async () => {
    const r = await kvbackup(["backup", "--vault", "team-a-kv", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).runs[0]).toMatchObject({ vault: "team-a-kv", status: "succeeded" });
  });

  it("the timer queues every vault of the fleet; the queue worker backs up a discovered vault", async () => {
    const app = appFor(fleetEnv);
    await takeJobs<BackupJob>(Queues.backup, 32);
    const runs = await scheduledBackup(app)(timer, ctx());
    expect(runs.map((r) => r.vault)).toEqual(["demo-vault", "team-a-kv", "team-b-kv"]);
    const jobs = await takeJobs<BackupJob>(Queues.backup, 32);
    const teamB = jobs.find((j) => j.vault === "team-b-kv");
    if (!teamB) throw new Error("no job for team-b-kv");
    const r = (await backupWorker(appFor(fleetEnv))(JSON.stringify(teamB), ctx())) as RunResult;
    expect(r).toMatchObject({ status: "succeeded", vault: "team-b-kv" });
    expect(r.counts.secrets.backedUp).toBe(3);
  }, 60_000);

  it("without read on a subscription: discover and doctor fail naming ArmForbidden; the other vaults are still queued", async () => {
    stack.arm.unassign(stack.identities.app.principalId, StackSubscriptions.b);
    try {
      const d = await kvbackup(["discover"]);
      expect(d.code).toBe(1);
      expect(d.stdout).toContain("ArmForbidden");
      const doctor = await kvbackup(["doctor", "--json"]);
      expect(doctor.code).toBe(1);
      expect(JSON.parse(doctor.stdout).discovery).toEqual([
        { subscription: StackSubscriptions.a, ok: true },
        {
          subscription: StackSubscriptions.b,
          ok: false,
          diagnosis: expect.objectContaining({ code: "ArmForbidden" }),
        },
      ]);
      const app = appFor(fleetEnv);
      await takeJobs<BackupJob>(Queues.backup, 32);
      logs.length = 0;
      const runs = await scheduledBackup(app)(timer, ctx());
      expect(runs.map((r) => r.vault)).toEqual(["demo-vault", "team-a-kv"]);
      // team-b-kv was backed up by the previous test: its absence is reported, not silent.
      expect(logs.join("\n")).toMatch(/vault team-b-kv is no longer backed up .*ArmForbidden/);
      await takeJobs<BackupJob>(Queues.backup, 32);
    } finally {
      stack.arm.assign({
        principalId: stack.identities.app.principalId,
        subscription: StackSubscriptions.b,
        role: { name: "Key Vault Discovery Reader", actions: ["Microsoft.KeyVault/vaults/read"] },
      });
    }
  }, 60_000);
});
