import { HttpRequest, type HttpResponseInit, InvocationContext } from "@azure/functions";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import { newRunId } from "../../../src/backup/runId.js";
import { runVault } from "../../../src/backup/runVault.js";
import { loadConfig } from "../../../src/config.js";
import { getBackup, listBackups, postBackups } from "../../../src/functions/backupsApi.js";
import { getRestore, postRestores } from "../../../src/functions/restoresApi.js";
import { resetAppForTests } from "../../../src/functions/runtime.js";
import type { Stack } from "../../stack/stack.js";
import { startTestStack } from "../helpers.js";

let stack: Stack;
let runId: string;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => {
  unhandled.push(e);
};
const ctx = () => new InvocationContext({ functionName: "prop", logHandler: () => undefined });
const app = () => createApp(loadConfig({ ...process.env, RESTORE_REQUIRE_ROLE: "true" }));
const Allowed = [200, 202, 400, 403, 404, 413];

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  stack = await startTestStack();
  resetAppForTests(app());
  runId = (
    await runVault(app().engine, {
      runId: newRunId(),
      vault: "demo-vault",
      tier: "manual",
      trigger: "cli",
      kinds: ["keys"],
    })
  ).runId;
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  resetAppForTests();
  await stack?.stop();
});

/** Both job queues, emptied: what a request left behind. */
async function drained(): Promise<number> {
  const a = app();
  return (await a.backupJobs.take(32)).length + (await a.restoreJobs.take(32)).length;
}

const principal = (roles: string[]) =>
  Buffer.from(
    JSON.stringify({ role_typ: "roles", claims: roles.map((val) => ({ typ: "roles", val })) }),
  ).toString("base64");

/** Bodies from nonsense to almost right: random JSON, random text, and records with the real field names. */
const bodies = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom("", "{", "null", "[]", "{}", '{"__proto__":{"x":1}}', "9".repeat(20_000)),
  fc
    .record(
      {
        runId: fc.oneof(fc.string(), fc.constant("latest"), fc.constant("20200101T000000Z-aaaaaa")),
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
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const queries = fc.dictionary(
  fc.constantFrom("vault", "status", "since", "top", "x", ""),
  fc.string({ maxLength: 40 }),
  { maxKeys: 5 },
);

async function check(res: HttpResponseInit, queuedAfter: number): Promise<void> {
  expect(Allowed).toContain(res.status);
  if (queuedAfter > 0) expect(res.status).toBe(202);
  if ((res.status ?? 200) >= 400)
    expect((res.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
}

describe("every HTTP handler under arbitrary input: never a 500, never an unhandled rejection, never a job queued from bad input", () => {
  it("POST /api/backups", async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (text) => {
        const res = await postBackups(
          new HttpRequest({ method: "POST", url: "https://f/api/backups", body: { string: text } }),
          ctx(),
        );
        await check(res, await drained());
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it("GET /api/backups and GET /api/backups/{runId}", async () => {
    await fc.assert(
      fc.asyncProperty(queries, fc.oneof(fc.string(), fc.constant(runId)), async (query, id) => {
        await check(
          await listBackups(new HttpRequest({ method: "GET", url: "https://f/api/backups", query }), ctx()),
          await drained(),
        );
        await check(
          await getBackup(
            new HttpRequest({ method: "GET", url: "https://f/api/backups/x", params: { runId: id } }),
            ctx(),
          ),
          await drained(),
        );
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it("POST /api/restores (with and without the role) and GET /api/restores/{id}", async () => {
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.oneof(fc.constant(undefined), fc.string(), fc.constant(principal(["Backup.Restore"]))),
        fc.string(),
        async (text, header, id) => {
          const headers: Record<string, string> =
            header === undefined ? {} : { "x-ms-client-principal": header };
          const res = await postRestores(
            new HttpRequest({
              method: "POST",
              url: "https://f/api/restores",
              body: { string: text },
              headers,
            }),
            ctx(),
          );
          await check(res, await drained());
          if (header !== principal(["Backup.Restore"])) expect(res.status).toBe(403);
          await check(
            await getRestore(
              new HttpRequest({ method: "GET", url: "https://f/api/restores/x", params: { id } }),
              ctx(),
            ),
            await drained(),
          );
        },
      ),
      { numRuns: 60 },
    );
    expect(unhandled).toEqual([]);
  }, 180_000);
});
