import { HttpRequest, type HttpResponseInit, InvocationContext } from "@azure/functions";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import { QueueProbe } from "../../../src/domain/config.js";
import { newRunId } from "../../../src/domain/runId.js";
import { getBackup, listBackups, postBackups } from "../../../src/functions/backupsApi.js";
import { getHealth } from "../../../src/functions/healthApi.js";
import { getRestore, postRestores } from "../../../src/functions/restoresApi.js";
import { backupWorker, restoreWorker } from "../../../src/functions/workers.js";
import { seed, world } from "../fakes/deps.js";
import { storageError } from "../fakes/memoryStorage.js";

const ctx = () => new InvocationContext({ functionName: "test", logHandler: () => undefined });
const body = (r: HttpResponseInit) => JSON.parse(String(r.body));
const post = (text: string, headers: Record<string, string> = {}) =>
  new HttpRequest({ method: "POST", url: "https://f/api/x", body: { string: text }, headers });
const get = (init: { query?: Record<string, string>; params?: Record<string, string> } = {}) =>
  new HttpRequest({ method: "GET", url: "https://f/api/x", ...init });
const principal = (
  claims: { typ: string; val: string }[],
  roleTyp = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
) =>
  Buffer.from(JSON.stringify({ auth_typ: "aad", name_typ: "name", role_typ: roleTyp, claims })).toString(
    "base64",
  );
const withRole = {
  "x-ms-client-principal": principal([
    { typ: "name", val: "oncall@contoso.com" },
    { typ: "roles", val: "Backup.Restore" },
  ]),
};

async function committed(over: Parameters<typeof world>[0] = {}) {
  const w = world(over);
  seed(w.vault());
  const r = await runBackup(w.deps, {
    runId: newRunId(),
    vault: "demo-vault",
    tier: "manual",
    trigger: "cli",
  });
  return { w, runId: r.runId };
}

describe("the restore role", () => {
  const guarded = { restoreRequireRole: true, appServiceAuth: true };

  it("only Entra app roles count: a principal whose role_typ points at another claim is refused", async () => {
    const { w, runId } = await committed(guarded);
    const forged = principal([{ typ: "groups", val: "Backup.Restore" }], "groups");
    const r = await postRestores(w.deps)(
      post(JSON.stringify({ runId, vault: "demo-vault" }), { "x-ms-client-principal": forged }),
      ctx(),
    );
    expect(r.status).toBe(403);
    expect(w.storage.queues.restore).toEqual([]);
    const ok = await postRestores(w.deps)(
      post(JSON.stringify({ runId, vault: "demo-vault", targetVault: "restore-vault" }), withRole),
      ctx(),
    );
    expect(ok.status).toBe(202);
  });

  it("without App Service authentication the header is not believed: 403 with a diagnosis that says so", async () => {
    const { w, runId } = await committed({ restoreRequireRole: true, appServiceAuth: false });
    const r = await postRestores(w.deps)(
      post(JSON.stringify({ runId, vault: "demo-vault" }), withRole),
      ctx(),
    );
    expect(r.status).toBe(403);
    expect(body(r).diagnosis.code).toBe("AuthenticationNotEnabled");
    expect(w.storage.queues.restore).toEqual([]);
  });
});

describe("failures reach users as problem+json with a diagnosis, never a 500", () => {
  it.each([
    ["GET /api/backups", (d: Parameters<typeof listBackups>[0]) => listBackups(d)(get(), ctx())],
    ["POST /api/backups", (d: Parameters<typeof listBackups>[0]) => postBackups(d)(post("{}"), ctx())],
    [
      "GET /api/backups/{runId}",
      (d: Parameters<typeof listBackups>[0]) => getBackup(d)(get({ params: { runId: newRunId() } }), ctx()),
    ],
  ])("%s with storage firewalled: 503 StorageFirewall", async (_l, call) => {
    const w = world();
    w.storage.fault = () => storageError(403, "AuthorizationFailure");
    const r = await call(w.deps);
    expect(r.status).toBe(503);
    expect((r.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
    expect(body(r).diagnosis.code).toBe("StorageFirewall");
    expect(String(r.body)).not.toContain("<?xml");
    expect(String(r.body)).not.toContain("\ufeff");
  });

  it("GET /api/health: 503 with every check when a queue is firewalled", async () => {
    const w = world();
    w.storage.fault = (op) => (op === "queueProbe" ? storageError(403, "AuthorizationFailure") : undefined);
    const r = await getHealth(w.deps)(get(), ctx());
    expect(r.status).toBe(503);
    expect(body(r).storage.checks.backupQueue.diagnosis.code).toBe("StorageFirewall");
  });

  it("a damaged manifest is 422 CorruptManifest on restore, and shown as a problem by GET /api/backups/{runId}", async () => {
    const { w, runId } = await committed();
    for (const [path, d] of w.storage.documents)
      if (path.endsWith("manifest.json")) d.bytes = Buffer.from("{}");
    const r = await postRestores(w.deps)(post(JSON.stringify({ runId, vault: "demo-vault" })), ctx());
    expect(r.status).toBe(422);
    expect(body(r).diagnosis.code).toBe("CorruptManifest");
    const shown = await getBackup(w.deps)(get({ params: { runId } }), ctx());
    expect(shown.status).toBe(200);
    expect(body(shown).manifestProblem.code).toBe("CorruptManifest");
  });

  it("a restore job whose run was damaged after it was queued is recorded failed with the diagnosis, not retried", async () => {
    const { w, runId } = await committed();
    const accepted = await postRestores(w.deps)(
      post(JSON.stringify({ runId, vault: "demo-vault", targetVault: "restore-vault" })),
      ctx(),
    );
    for (const [path, d] of w.storage.documents)
      if (path.endsWith("manifest.json")) d.bytes = Buffer.from("not json");
    const state = await restoreWorker(w.deps)({ restoreId: body(accepted).restoreId }, ctx());
    expect(state).toMatchObject({ status: "failed", diagnosis: { code: "CorruptManifest" } });
    const shown = await getRestore(w.deps)(get({ params: { id: body(accepted).restoreId } }), ctx());
    expect(body(shown).status).toBe("failed");
  });

  it("a doctor's queue probe left behind (its delete refused) is no work: both workers ignore it, as JSON or as text, and run nothing", async () => {
    const w = world();
    const warned: unknown[] = [];
    const c = () =>
      new InvocationContext({
        functionName: "test",
        logHandler: (level, ...args) => void warned.push([level, ...args]),
      });
    for (const message of [QueueProbe, JSON.stringify(QueueProbe)]) {
      expect(await backupWorker(w.deps)(message, c())).toBeUndefined();
      expect(await restoreWorker(w.deps)(message, c())).toBeUndefined();
    }
    expect(warned).toHaveLength(4);
    expect(await w.deps.inventory.list({})).toEqual([]);
    // Anything else that is not a job is still refused (the host retries, then poisons it).
    await expect(backupWorker(w.deps)({ kvbackupProbe: "yes" }, c())).rejects.toMatchObject({
      code: "BadRequest",
    });
  });

  it("a backup-jobs message is one job: as queued by earlier versions it still runs; two tags, or kinds on an HSM or a drill, are refused and run nothing", async () => {
    const w = world();
    seed(w.vault());
    const base = { vault: "demo-vault", tier: "manual", trigger: "http" };
    // The wire format is unchanged: a vault job as every earlier version wrote it.
    const ran = await backupWorker(w.deps)(
      JSON.stringify({ ...base, runId: newRunId(new Date()), kinds: ["secrets"], mode: "full" }),
      ctx(),
    );
    expect(ran).toMatchObject({ status: "succeeded", vault: "demo-vault" });
    for (const [extra, words] of [
      [{ hsm: true, drill: true }, "an HSM backup or a drill, not both"],
      [{ hsm: true, kinds: ["keys"] }, "kinds and mode belong to a vault's backup"],
      [{ drill: true, mode: "incremental" }, "kinds and mode belong to a vault's backup"],
    ] as const) {
      const runId = newRunId(new Date());
      const err = await backupWorker(w.deps)({ ...base, runId, ...extra }, ctx()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "BadRequest", message: expect.stringContaining(words) });
      expect(await w.deps.inventory.get(runId)).toBeUndefined();
    }
  });
});

const bodies = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom("", "{", "null", "[]", "{}", '{"__proto__":{"x":1}}', "9".repeat(20_000)),
  fc
    .record(
      {
        runId: fc.oneof(fc.string(), fc.constantFrom("latest", "20200101T000000Z-aaaaaa")),
        vault: fc.oneof(fc.string(), fc.constantFrom("demo-vault", "restore-vault", "x")),
        targetVault: fc.oneof(fc.string(), fc.constantFrom("demo-vault", "restore-vault", "evil-vault")),
        vaults: fc.array(fc.oneof(fc.string(), fc.constantFrom("demo-vault", "evil-vault")), {
          maxLength: 3,
        }),
        kinds: fc.array(fc.oneof(fc.string(), fc.constantFrom("secrets", "keys", "certificates")), {
          maxLength: 4,
        }),
        names: fc.array(fc.string(), { maxLength: 3 }),
        dryRun: fc.oneof(fc.boolean(), fc.string()),
        onConflict: fc.oneof(fc.string(), fc.constantFrom("skip", "fail")),
        mode: fc.oneof(fc.string(), fc.constantFrom("full", "incremental")),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const Allowed = [200, 202, 400, 403, 404, 413, 422];

function checked(r: HttpResponseInit, queuedBefore: number, queuedAfter: number): void {
  expect(Allowed).toContain(r.status);
  if (queuedAfter > queuedBefore) expect(r.status).toBe(202);
  if ((r.status ?? 200) >= 400)
    expect((r.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
}

describe("POST /api/backups mode", () => {
  it('{"mode":"full"} and {"mode":"incremental"} reach the job; another mode is 400 and queues nothing', async () => {
    const w = world();
    for (const mode of ["full", "incremental"]) {
      const r = await postBackups(w.deps)(post(JSON.stringify({ mode })), ctx());
      expect(r.status).toBe(202);
      expect(w.storage.queues.backup.at(-1)).toMatchObject({ tier: "manual", mode });
    }
    const n = w.storage.queues.backup.length;
    const bad = await postBackups(w.deps)(post(JSON.stringify({ mode: "differential" })), ctx());
    expect(bad.status).toBe(400);
    expect(w.storage.queues.backup).toHaveLength(n);
  });
});

describe("every HTTP handler under arbitrary input: no 5xx, nothing queued from bad input", () => {
  it("POST /api/backups, GET /api/backups, GET /api/backups/{runId}", async () => {
    const { w, runId } = await committed();
    const queued = () => w.storage.queues.backup.length;
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.dictionary(fc.constantFrom("vault", "status", "since", "top", "x"), fc.string({ maxLength: 30 })),
        fc.oneof(fc.string(), fc.constant(runId)),
        async (text, query, id) => {
          const n = queued();
          checked(await postBackups(w.deps)(post(text), ctx()), n, queued());
          checked(await listBackups(w.deps)(get({ query }), ctx()), n, n);
          checked(await getBackup(w.deps)(get({ params: { runId: id } }), ctx()), n, n);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("POST /api/restores (with and without the role) and GET /api/restores/{id}", async () => {
    const { w } = await committed({ restoreRequireRole: true, appServiceAuth: true });
    const queued = () => w.storage.queues.restore.length;
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.oneof(fc.constant(undefined), fc.string(), fc.constant(withRole["x-ms-client-principal"])),
        fc.string(),
        async (text, header, id) => {
          const n = queued();
          const r = await postRestores(w.deps)(
            post(text, header === undefined ? {} : { "x-ms-client-principal": header }),
            ctx(),
          );
          checked(r, n, queued());
          if (header !== withRole["x-ms-client-principal"]) expect(r.status).toBe(403);
          checked(await getRestore(w.deps)(get({ params: { id } }), ctx()), n, n);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("queries and documents that read as something they are not", () => {
  it("GET /api/backups?vault=<off the allow-list> is 400, not an empty list; since must be a real day", async () => {
    const w = world();
    const off = await listBackups(w.deps)(get({ query: { vault: "other-vault" } }), ctx());
    expect(off.status).toBe(400);
    const feb30 = await listBackups(w.deps)(get({ query: { since: "2026-02-30" } }), ctx());
    expect(feb30.status).toBe(400);
    expect((await listBackups(w.deps)(get({ query: { since: "2026-02-28" } }), ctx())).status).toBe(200);
  });

  it("a restore state document that is null or another restore's is 404 (damaged), never 200 null", async () => {
    const w = world();
    const id = "r20261126T020000Z-abcdef";
    for (const text of ["null", JSON.stringify({ restoreId: "r20261126T020000Z-zzzzzz" })]) {
      w.storage.documents.set(`restores/${id}.json`, { bytes: Buffer.from(text), etag: "e" });
      const r = await getRestore(w.deps)(get({ params: { id } }), ctx());
      expect(r.status).toBe(404);
    }
  });
});
