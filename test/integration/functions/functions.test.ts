import { HttpRequest, InvocationContext, type Timer } from "@azure/functions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import type { BackupJob } from "../../../src/backup/runVault.js";
import { loadConfig } from "../../../src/config.js";
import { isKvBackupError } from "../../../src/errors.js";
import { getBackup, listBackups, postBackups } from "../../../src/functions/backupsApi.js";
import { backupWorker } from "../../../src/functions/backupWorker.js";
import { getHealth } from "../../../src/functions/healthApi.js";
import { resetAppForTests } from "../../../src/functions/runtime.js";
import { scheduledBackup } from "../../../src/functions/scheduledBackup.js";
import type { Stack } from "../../stack/stack.js";
import { startTestStack } from "../helpers.js";

let stack: Stack;
const ctx = () => new InvocationContext({ functionName: "test", logHandler: () => undefined });
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};
const app = () => createApp(loadConfig(process.env));
const drain = async () => app().backupJobs.take(32);
const req = (init: ConstructorParameters<typeof HttpRequest>[0]) =>
  new HttpRequest({ url: "https://func.example/api/backups", ...init });
const body = (r: { body?: unknown }) => JSON.parse(String(r.body));

beforeAll(async () => {
  stack = await startTestStack();
  resetAppForTests(app());
});
afterEach(async () => {
  for (const p of Object.values(stack.proxies)) p.clearRules();
  await drain();
});
afterAll(async () => {
  resetAppForTests();
  await stack?.stop();
});

describe("scheduledBackup", () => {
  it("queues one daily job per vault on ordinary days and weekly ones on BACKUP_WEEKLY_DAY", async () => {
    const monday = new Date("2026-11-23T02:00:00Z");
    const sunday = new Date("2026-11-22T02:00:00Z");
    const daily = await scheduledBackup(timer, ctx(), monday);
    expect(daily).toEqual([
      { runId: expect.stringMatching(/^20\d{6}T\d{6}Z-[a-z2-7]{6}$/), vault: "demo-vault", status: "queued" },
    ]);
    const queued = (await drain()) as BackupJob[];
    expect(queued).toEqual([
      expect.objectContaining({
        vault: "demo-vault",
        tier: "daily",
        trigger: "timer",
        runId: daily[0]?.runId,
      }),
    ]);
    await scheduledBackup(timer, ctx(), sunday);
    expect(((await drain()) as BackupJob[])[0]?.tier).toBe("weekly");
  });
});

describe("backupWorker", () => {
  it("runs the queued job the way the host would hand it over", async () => {
    await scheduledBackup(timer, ctx());
    const [message] = await app().backupJobs.take(1);
    const r = await backupWorker(message, ctx());
    expect(r.status).toBe("succeeded");
    expect(r.counts.certificates.backedUp).toBe(3);
  });

  it("throws on a failed run (the host retries, then poisons) and on a malformed message", async () => {
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    const job: BackupJob = {
      runId: "20261122T020000Z-abcdef",
      vault: "demo-vault",
      tier: "daily",
      trigger: "timer",
    };
    await expect(backupWorker(job, ctx())).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "RunFailed"));
    await expect(backupWorker({ vault: "demo-vault" }, ctx())).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "BadRequest"),
    );
    await expect(backupWorker("not json", ctx())).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "BadRequest"),
    );
    await expect(backupWorker({ ...job, vault: "other-vault" }, ctx())).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "VaultNotAllowed"),
    );
  });
});

describe("HTTP API", () => {
  it("POST /api/backups queues manual runs: 202, Location, one message per vault", async () => {
    const r = await postBackups(
      req({
        method: "POST",
        body: { string: JSON.stringify({ vaults: ["demo-vault"], kinds: ["secrets"] }) },
      }),
      ctx(),
    );
    expect(r.status).toBe(202);
    const b = body(r);
    expect(b.runs).toHaveLength(1);
    expect((r.headers as Record<string, string>).location).toBe(`/api/backups/${b.runs[0].runId}`);
    const queued = (await drain()) as BackupJob[];
    expect(queued).toEqual([
      expect.objectContaining({ vault: "demo-vault", tier: "manual", trigger: "http", kinds: ["secrets"] }),
    ]);
  });

  it.each([
    ["malformed JSON", "{nope", 400],
    ["a vault not on the allow-list", JSON.stringify({ vaults: ["evil-vault"] }), 400],
    ["an unknown field", JSON.stringify({ vault: "demo-vault" }), 400],
    ["a bad kind", JSON.stringify({ kinds: ["passwords"] }), 400],
    ["a body too large", JSON.stringify({ vaults: ["a".repeat(20_000)] }), 413],
  ])("POST with %s is refused with problem+json and queues nothing", async (_label, text, status) => {
    const r = await postBackups(req({ method: "POST", body: { string: text } }), ctx());
    expect(r.status).toBe(status);
    expect((r.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
    expect(body(r)).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    expect(await drain()).toEqual([]);
  });

  it("GET /api/backups lists runs newest first with filters; GET /api/backups/{runId} shows row and manifest", async () => {
    const a = app();
    await scheduledBackup(timer, ctx());
    const [m1] = await a.backupJobs.take(1);
    const first = await backupWorker(m1, ctx());
    await new Promise((r) => setTimeout(r, 1100));
    await scheduledBackup(timer, ctx());
    const [m2] = await a.backupJobs.take(1);
    const second = await backupWorker(m2, ctx());
    const list = body(
      await listBackups(
        req({ method: "GET", query: { vault: "demo-vault", status: "succeeded", top: "2" } }),
        ctx(),
      ),
    );
    expect(list.runs.map((r: { runId: string }) => r.runId)).toEqual([second.runId, first.runId]);
    const one = await getBackup(req({ method: "GET", params: { runId: first.runId } }), ctx());
    expect(one.status).toBe(200);
    expect(body(one)).toMatchObject({
      run: { runId: first.runId, status: "succeeded" },
      manifest: { runId: first.runId, schemaVersion: 1 },
    });
    expect(
      (await getBackup(req({ method: "GET", params: { runId: "20990101T000000Z-aaaaaa" } }), ctx())).status,
    ).toBe(404);
    expect((await getBackup(req({ method: "GET", params: { runId: "../../etc" } }), ctx())).status).toBe(400);
    expect((await listBackups(req({ method: "GET", query: { top: "0" } }), ctx())).status).toBe(400);
    expect((await listBackups(req({ method: "GET", query: { since: "yesterday-ish" } }), ctx())).status).toBe(
      400,
    );
  });

  it("GET /api/health: 200 when everything is reachable, 503 with the firewall diagnosis when not", async () => {
    const ok = await getHealth(req({ method: "GET" }), ctx());
    expect(ok.status).toBe(200);
    expect(body(ok)).toMatchObject({
      ok: true,
      storage: { ok: true },
      vaults: [{ name: "demo-vault", ok: true }],
    });
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    stack.emulator.setNetwork("demo-vault", { defaultAction: "Deny" });
    try {
      const bad = body(await getHealth(req({ method: "GET" }), ctx()));
      expect(bad.ok).toBe(false);
      expect(bad.storage.diagnosis.code).toBe("StorageFirewall");
      expect(bad.vaults[0].kinds.secrets.diagnosis.code).toBe("KeyVaultFirewall");
    } finally {
      stack.emulator.setNetwork("demo-vault", { defaultAction: "Allow" });
    }
  });
});
