import { HttpRequest, type HttpResponseInit, InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RestoreJob, RestoreState } from "../../../src/backup/engine.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { Queues } from "../../../src/domain/config.js";
import { getRestore, postRestores } from "../../../src/functions/restoresApi.js";
import { restoreWorker } from "../../../src/functions/workers.js";
import type { Stack } from "../../stack/stack.js";
import { takeJobs } from "../../stack/takeJobs.js";
import { appFor, cliJob, startTestStack } from "../helpers.js";

let stack: Stack;
let runId: string;
const ctx = () => new InvocationContext({ functionName: "test", logHandler: () => undefined });
const body = (r: HttpResponseInit) => JSON.parse(String(r.body));
const principal = (roles: string[]) =>
  Buffer.from(
    JSON.stringify({
      auth_typ: "aad",
      name_typ: "name",
      role_typ: "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
      claims: [{ typ: "name", val: "oncall@contoso.com" }, ...roles.map((val) => ({ typ: "roles", val }))],
    }),
  ).toString("base64");
/** The app behind App Service authentication, with the restore role required. */
const guarded = () => appFor({ RESTORE_REQUIRE_ROLE: "true", WEBSITE_AUTH_ENABLED: "true" });
const post = (json: unknown, headers: Record<string, string> = {}) =>
  postRestores(guarded())(
    new HttpRequest({
      method: "POST",
      url: "https://func.example/api/restores",
      body: { string: typeof json === "string" ? json : JSON.stringify(json) },
      headers,
    }),
    ctx(),
  );
const get = (id: string) =>
  getRestore(guarded())(
    new HttpRequest({ method: "GET", url: "https://f/api/restores/x", params: { id } }),
    ctx(),
  );
const withRole = { "x-ms-client-principal": principal(["Backup.Restore"]) };
const queued = async () => takeJobs<RestoreJob>(Queues.restore, 32);

beforeAll(async () => {
  stack = await startTestStack();
  await queued();
  runId = (await runBackup(appFor(), cliJob())).runId;
});
afterAll(async () => {
  await stack?.stop();
});

describe("POST /api/restores security", () => {
  it("without the Backup.Restore role: 403 problem+json, nothing queued, no Key Vault call", async () => {
    stack.emulator.resetStats("restore-vault");
    for (const headers of [
      {},
      { "x-ms-client-principal": principal(["Backup.Reader"]) },
      { "x-ms-client-principal": "not base64 json" },
    ]) {
      const r = await post({ runId, vault: "demo-vault", targetVault: "restore-vault" }, headers);
      expect(r.status).toBe(403);
      expect((r.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
      expect(body(r).detail).toContain("Backup.Restore");
    }
    expect(await queued()).toEqual([]);
    expect(stack.emulator.stats("restore-vault").total).toBe(0);
  });

  it("with the role required but App Service authentication off, even a principal with the role is refused", async () => {
    const r = await postRestores(appFor({ RESTORE_REQUIRE_ROLE: "true" }))(
      new HttpRequest({
        method: "POST",
        url: "https://f/api/restores",
        body: { string: JSON.stringify({ runId, vault: "demo-vault" }) },
        headers: withRole,
      }),
      ctx(),
    );
    expect(r.status).toBe(403);
    expect(body(r).diagnosis.code).toBe("AuthenticationNotEnabled");
    expect(await queued()).toEqual([]);
  });

  it("a target off the allow-list: 400 and no Key Vault call; unknown runId: 404; bad input: 400", async () => {
    stack.emulator.resetStats("demo-vault");
    const off = await post({ runId, vault: "demo-vault", targetVault: "attacker-vault" }, withRole);
    expect(off.status).toBe(400);
    expect(body(off).detail).toContain("RESTORE_TARGET_VAULTS");
    expect(stack.emulator.stats("demo-vault").total).toBe(0);
    expect((await post({ runId: "20200101T000000Z-aaaaaa", vault: "demo-vault" }, withRole)).status).toBe(
      404,
    );
    expect((await post("{not json", withRole)).status).toBe(400);
    expect((await post({ runId, vault: "demo-vault", names: ["../etc/passwd"] }, withRole)).status).toBe(400);
    expect((await post({ runId, vault: "demo-vault", onConflict: "overwrite" }, withRole)).status).toBe(400);
    expect((await post({ runId, vault: "demo-vault", extra: 1 }, withRole)).status).toBe(400);
    expect(await queued()).toEqual([]);
  });
});

describe("restores through the functions", () => {
  it("a dry run answers 200 with the plan and changes nothing", async () => {
    const r = await post(
      { runId: "latest", vault: "demo-vault", targetVault: "restore-vault", dryRun: true, kinds: ["keys"] },
      withRole,
    );
    expect(r.status).toBe(200);
    const plan = body(r);
    type Entry = { action: string; detail?: string };
    expect(plan).toMatchObject({ status: "planned", expected: "partial" });
    expect(plan.plan.filter((p: Entry) => p.action === "restore")).toHaveLength(5);
    // The keys behind the vault's certificates come back only with their certificate: named, and partial.
    const others = plan.plan.filter((p: Entry) => p.action !== "restore");
    expect(others.length).toBeGreaterThan(0);
    expect(
      others.every((p: Entry) => p.action === "not-in-backup" && p.detail?.includes("certificate")),
    ).toBe(true);
    expect(await queued()).toEqual([]);
  });

  it("202 + restore id; the worker restores; GET shows per-object results, and partial when a name is not in the backup", async () => {
    const r = await post(
      {
        runId,
        vault: "demo-vault",
        targetVault: "restore-vault",
        names: ["feature-flags", "www-contoso-com", "nope"],
      },
      withRole,
    );
    expect(r.status).toBe(202);
    const { restoreId } = body(r);
    expect((r.headers as Record<string, string>).location).toBe(`/api/restores/${restoreId}`);
    expect(body(await get(restoreId))).toMatchObject({ status: "queued", requestedBy: "oncall@contoso.com" });
    const [job] = await queued();
    const state = (await restoreWorker(guarded())(job, ctx())) as RestoreState;
    expect(state.status).toBe("partial");
    const after = body(await get(restoreId));
    expect(
      Object.fromEntries(
        after.report.results.map((x: { name: string; outcome: string }) => [x.name, x.outcome]),
      ),
    ).toEqual({
      "feature-flags": "restored",
      "www-contoso-com": "restored",
      nope: "not-in-backup",
    });
    expect((await get("r20990101T000000Z-aaaaaa")).status).toBe(404);
    expect((await get("x'; drop")).status).toBe(400);
  });

  it("a restore cut off mid-way and delivered again keeps what it had restored", async () => {
    const r = await post(
      {
        runId,
        vault: "demo-vault",
        targetVault: "restore-vault",
        names: ["old-smtp-relay", "expiring-token"],
      },
      withRole,
    );
    const { restoreId } = body(r);
    const [job] = await queued();
    // The first attempt restored one object, saved its progress, and died.
    const app = appFor();
    await runRestore(app, {
      runId,
      vault: "demo-vault",
      targetVault: "restore-vault",
      names: ["old-smtp-relay"],
    });
    const path = `restores/${restoreId}.json`;
    const saved = await app.documents.read(path);
    const state = JSON.parse(Buffer.from(saved?.bytes ?? []).toString("utf8"));
    await app.documents.replace(
      path,
      Buffer.from(
        JSON.stringify({
          ...state,
          status: "running",
          progress: [{ kind: "secrets", name: "old-smtp-relay", outcome: "restored" }],
        }),
      ),
    );
    const done = (await restoreWorker(guarded())(job, ctx())) as RestoreState;
    expect(done.status).toBe("succeeded");
    expect(Object.fromEntries((done.report?.results ?? []).map((x) => [x.name, x.outcome]))).toEqual({
      "old-smtp-relay": "restored",
      "expiring-token": "restored",
    });
    expect(done.progress).toBeUndefined();
  });
});
