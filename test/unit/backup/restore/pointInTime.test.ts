import type { HttpResponseInit } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { runRestore } from "../../../../src/backup/restore/runRestore.js";
import { main } from "../../../../src/cli/main.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { postRestore } from "../../fakes/restoreRequest.js";

import { backUp, history, restoreAt, type W } from "./pointInTimeWorld.js";

describe("restore as of a point in time (issue 23)", () => {
  it("plans from the newest run that had finished by then, each object newer in an event backup taken by then from that backup", async () => {
    const w = world();
    const h = await history(w);
    const r = await restoreAt(w, h.at, true);
    expect(r.source).toMatchObject({ runId: h.first.runId, at: h.at });
    const from = (name: string) => r.plan.find((p) => p.kind === "secrets" && p.name === name)?.from;
    expect(from("bravo")).toBe(h.first.runId);
    expect(from("alpha")).toMatch(/^event \d{4}-/);
    expect(from("zulu")).toMatch(/^event \d{4}-/);
    expect(r.plan.find((p) => p.name === "zulu")?.action).toBe("restore");
  });

  it("restores the vault as it was: alpha's value then, not its later one; zulu, created after the run", async () => {
    const w = world();
    const h = await history(w);
    const r = await restoreAt(w, h.at);
    expect(r.status).toBe("succeeded");
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(h.alphaThen);
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).not.toBe(
      w.vault().valueOf("secrets", "alpha"),
    );
    expect(w.vault("restore-vault").valueOf("secrets", "zulu")).toBeDefined();
  });

  it("without event backups, the run that had finished by then; before any run, none; the future, a time without its zone or of no real day, and a pinned run that finished later are refused", async () => {
    const w = world();
    seed(w.vault());
    const before = w.deps.now().toISOString();
    const first = await backUp(w);
    const between = w.deps.now().toISOString();
    const second = await backUp(w);
    const r = await restoreAt(w, between, true);
    expect(r.source.runId).toBe(first.runId);
    expect(r.plan.every((p) => p.from === first.runId)).toBe(true);
    const ask = (over: { runId?: string; at: string }) =>
      runRestore(w.deps, {
        runId: "latest",
        vault: "demo-vault",
        targetVault: "restore-vault",
        dryRun: true,
        ...over,
      }).catch((e: unknown) => e);
    expect(await ask({ at: before })).toMatchObject({
      code: "NotFound",
      message: expect.stringContaining("that finished by"),
    });
    expect(await ask({ at: "2999-01-01T00:00:00Z" })).toMatchObject({
      code: "BadRequest",
      message: expect.stringContaining("in the future"),
    });
    // A queued restore is pinned to its run (runId with at): that run, if it had finished by then.
    expect(await ask({ at: between, runId: first.runId })).toMatchObject({ source: { runId: first.runId } });
    expect(await ask({ at: between, runId: second.runId })).toMatchObject({
      code: "BadRequest",
      message: expect.stringContaining("after"),
    });
    for (const at of ["yesterday", "2026-02-30T00:00:00Z", "2026-11-26T02:00", "2026-11-26"])
      expect(await ask({ at })).toMatchObject({
        code: "BadRequest",
        message: expect.stringContaining("ISO 8601 time with its zone"),
      });
  });
});

describe("restore --at, from the CLI and over HTTP (issue 23)", () => {
  const cli = async (w: W, ...argv: string[]) => {
    const { io, stdout, stderr } = captureIo();
    const code = await main(argv, {}, io, () => w.deps);
    return { code, stdout: stdout(), stderr: stderr() };
  };

  it("kvbackup restore --at plans with where each object comes from; RUNID with --at, or neither, is bad usage", async () => {
    const w = world();
    const h = await history(w);
    const args = ["restore", "--at", h.at, "--vault", "demo-vault", "--to", "restore-vault", "--dry-run"];
    const plan = await cli(w, ...args);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`demo-vault as of ${h.at}`);
    expect(plan.stdout).toMatch(/KIND\s+NAME\s+ACTION\s+FROM/);
    expect(plan.stdout).toMatch(/secrets\s+zulu\s+restore\s+event \d{4}-/);
    expect(plan.stdout).toContain("deletions are not evented");
    const json = await cli(w, ...args, "--json");
    expect(JSON.parse(json.stdout).plan).toContainEqual(
      expect.objectContaining({ name: "bravo", from: h.first.runId }),
    );
    expect((await cli(w, "restore", "latest", "--at", h.at, "--vault", "demo-vault")).code).toBe(2);
    expect((await cli(w, "restore", "--vault", "demo-vault")).code).toBe(2);
  });

  it("POST /api/restores takes at instead of runId (exactly one of them)", async () => {
    const w = world();
    const h = await history(w);
    const post = (body: unknown) => postRestore(w.deps, body);
    const ok = (await post({
      at: h.at,
      vault: "demo-vault",
      targetVault: "restore-vault",
      dryRun: true,
    })) as HttpResponseInit;
    expect(ok.status).toBe(200);
    expect(JSON.parse(String(ok.body)).source).toMatchObject({ runId: h.first.runId, at: h.at });
    const both = (await post({
      at: h.at,
      runId: "latest",
      vault: "demo-vault",
      dryRun: true,
    })) as HttpResponseInit;
    expect(both.status).toBe(400);
    expect(String(both.body)).toContain("exactly one");
  });
});
