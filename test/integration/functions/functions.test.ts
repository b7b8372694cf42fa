import { HttpRequest, type HttpResponseInit, InvocationContext, type Timer } from "@azure/functions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BackupJob } from "../../../src/backup/deps.js";
import type { RunResult } from "../../../src/backup/run/record.js";
import { Queues } from "../../../src/domain/config.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { getBackup, listBackups, postBackups } from "../../../src/functions/backupsApi.js";
import { getHealth } from "../../../src/functions/healthApi.js";
import { scheduledBackup } from "../../../src/functions/scheduledBackup.js";
import { backupWorker } from "../../../src/functions/workers.js";
import type { Stack } from "../../stack/stack.js";
import { takeJobs } from "../../stack/takeJobs.js";
import { appFor, DoctorKeys, startTestStack } from "../helpers.js";

let stack: Stack;
const ctx = () => new InvocationContext({ functionName: "test", logHandler: () => undefined });
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};
/** The app at a given moment (the timer's tier and the runIds follow the clock). */
const at = (iso?: string) => appFor({}, iso ? { now: () => new Date(iso) } : {});
const drain = async () => takeJobs<BackupJob>(Queues.backup, 32);
const req = (init: ConstructorParameters<typeof HttpRequest>[0]) =>
  new HttpRequest({ url: "https://func.example/api/backups", ...init });
const body = (r: HttpResponseInit) => JSON.parse(String(r.body));

beforeAll(async () => {
  stack = await startTestStack();
  await drain();
});
afterEach(async () => {
  for (const p of Object.values(stack.proxies)) p.clearRules();
  await drain();
});
afterAll(async () => {
  await stack?.stop();
});

describe("scheduledBackup", () => {
  it("queues one daily job per vault on ordinary days and weekly ones on BACKUP_WEEKLY_DAY", async () => {
    const daily = await scheduledBackup(at("2026-11-23T02:00:00Z"))(timer, ctx());
    expect(daily).toEqual([
      {
        runId: expect.stringMatching(/^20261123T020000Z-[a-z2-7]{6}$/),
        vault: "demo-vault",
        status: "queued",
      },
    ]);
    expect(await drain()).toEqual([
      expect.objectContaining({
        vault: "demo-vault",
        tier: "daily",
        trigger: "timer",
        runId: daily[0]?.runId,
      }),
    ]);
    await scheduledBackup(at("2026-11-22T02:00:00Z"))(timer, ctx());
    expect(((await drain()) as BackupJob[])[0]?.tier).toBe("weekly");
  });
});

describe("backupWorker", () => {
  it("runs the queued job the way the host would hand it over (base64 JSON text or an object)", async () => {
    await scheduledBackup(at())(timer, ctx());
    const [message] = await takeJobs<BackupJob>(Queues.backup, 1);
    const r = (await backupWorker(appFor())(JSON.stringify(message), ctx())) as RunResult;
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
    const worker = backupWorker(appFor());
    await expect(worker(job, ctx())).rejects.toSatisfy((e: unknown) => isKvBackupError(e, "RunFailed"));
    await expect(worker({ vault: "demo-vault" }, ctx())).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "BadRequest"),
    );
    await expect(worker("not json", ctx())).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "BadRequest"),
    );
    await expect(worker({ ...job, vault: "other-vault" }, ctx())).rejects.toSatisfy((e: unknown) =>
      isKvBackupError(e, "VaultNotAllowed"),
    );
    stack.proxies.blob.clearRules();
    expect(await appFor().inventory.get(job.runId)).toMatchObject({
      status: "failed",
      firstFailureCode: "StorageFirewall",
    });
  });
});

describe("HTTP API", () => {
  it("POST /api/backups queues manual runs: 202, Location, one message per vault, repeats once", async () => {
    const r = await postBackups(appFor())(
      req({
        method: "POST",
        body: {
          string: JSON.stringify({ vaults: ["demo-vault", "Demo-Vault"], kinds: ["secrets", "secrets"] }),
        },
      }),
      ctx(),
    );
    expect(r.status).toBe(202);
    const b = body(r);
    expect(b.runs).toHaveLength(1);
    expect((r.headers as Record<string, string>).location).toBe(`/api/backups/${b.runs[0].runId}`);
    expect(await drain()).toEqual([
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
    const r = await postBackups(appFor())(req({ method: "POST", body: { string: text } }), ctx());
    expect(r.status).toBe(status);
    expect((r.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
    expect(body(r)).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    expect(await drain()).toEqual([]);
  });

  it("GET /api/backups lists runs newest first with filters; GET /api/backups/{runId} shows row and manifest", async () => {
    await scheduledBackup(at("2027-01-04T02:00:00Z"))(timer, ctx());
    const first = (await backupWorker(appFor())((await drain())[0], ctx())) as RunResult;
    await scheduledBackup(at("2027-01-05T02:00:00Z"))(timer, ctx());
    const second = (await backupWorker(appFor())((await drain())[0], ctx())) as RunResult;
    const list = body(
      await listBackups(appFor())(
        req({ method: "GET", query: { vault: "demo-vault", status: "succeeded", top: "2" } }),
        ctx(),
      ),
    );
    expect(list.runs.map((r: { runId: string }) => r.runId)).toEqual([second.runId, first.runId]);
    const one = await getBackup(appFor())(req({ method: "GET", params: { runId: first.runId } }), ctx());
    expect(one.status).toBe(200);
    expect(body(one)).toMatchObject({
      run: { runId: first.runId, status: "succeeded" },
      manifest: { runId: first.runId, schemaVersion: 2 },
    });
    const get = getBackup(appFor());
    expect(
      (await get(req({ method: "GET", params: { runId: "20990101T000000Z-aaaaaa" } }), ctx())).status,
    ).toBe(404);
    expect((await get(req({ method: "GET", params: { runId: "../../etc" } }), ctx())).status).toBe(400);
    expect((await listBackups(appFor())(req({ method: "GET", query: { top: "0" } }), ctx())).status).toBe(
      400,
    );
    expect(
      (await listBackups(appFor())(req({ method: "GET", query: { since: "yesterday-ish" } }), ctx())).status,
    ).toBe(400);
  });

  it("with storage firewalled, GET and POST /api/backups answer 503 problem+json carrying the diagnosis, never raw XML", async () => {
    for (const p of Object.values(stack.proxies)) p.addRule({ fault: "AuthorizationFailure" });
    const calls = [
      () => listBackups(appFor())(req({ method: "GET" }), ctx()),
      () => postBackups(appFor())(req({ method: "POST", body: { string: "{}" } }), ctx()),
    ];
    for (const call of calls) {
      const r = await call();
      expect(r.status).toBe(503);
      expect(body(r).diagnosis.code).toBe("StorageFirewall");
      expect(String(r.body)).not.toMatch(/<\?xml|\ufeff|AuthorizationFailure<\/Code>/);
    }
  });

  it("GET /api/health: 200 when every path is reachable; 503 naming the queue when only the queue is firewalled", async () => {
    const ok = await getHealth(appFor())(req({ method: "GET" }), ctx());
    expect(ok.status).toBe(200);
    expect(body(ok)).toMatchObject({
      ok: true,
      storage: {
        ok: true,
        checks: {
          blob: { ok: true },
          backupQueue: { ok: true },
          restoreQueue: { ok: true },
          table: { ok: true },
        },
      },
      vaults: [{ name: "demo-vault", ok: true }],
      restoreTargets: [{ name: "restore-vault", ok: true }],
    });
    stack.proxies.queue.addRule({ fault: "AuthorizationFailure" });
    const queue = body(await getHealth(appFor())(req({ method: "GET" }), ctx()));
    expect(queue.ok).toBe(false);
    expect(queue.storage.checks.blob.ok).toBe(true);
    expect(queue.storage.checks.backupQueue.diagnosis.code).toBe("StorageFirewall");
    stack.proxies.queue.clearRules();
    stack.proxies.blob.addRule({ fault: "AuthorizationFailure" });
    stack.emulator.setNetwork("demo-vault", { defaultAction: "Deny" });
    try {
      const bad = body(await getHealth(appFor())(req({ method: "GET" }), ctx()));
      expect(bad.ok).toBe(false);
      expect(bad.storage.diagnosis.code).toBe("StorageFirewall");
      expect(bad.vaults[0].kinds.secrets.diagnosis.code).toBe("KeyVaultFirewall");
      // One shape whatever fails.
      expect(Object.keys(bad).sort()).toEqual(DoctorKeys);
      expect(Object.keys(body(ok)).sort()).toEqual(DoctorKeys);
    } finally {
      stack.emulator.setNetwork("demo-vault", { defaultAction: "Allow" });
    }
  });

  it("GET /api/health checks the restore right on the restore target", async () => {
    stack.emulator.removeRoles("restore-vault", stack.identities.app.principalId);
    const r = body(await getHealth(appFor())(req({ method: "GET" }), ctx()));
    expect(r.ok).toBe(false);
    expect(r.restoreTargets[0].restore.secrets.diagnosis.code).toBe("KeyVaultRbac");
  });
});
