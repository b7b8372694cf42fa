import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runBackup } from "../../../../src/backup/engine.js";
import type { RestoreOutcome } from "../../../../src/backup/restore/restoreTypes.js";
import { runRestore } from "../../../../src/backup/restore/runRestore.js";
import { restoredAsAsked, restoreStatus } from "../../../../src/backup/restore/status.js";
import { main } from "../../../../src/cli/main.js";
import { restoreExitCode } from "../../../../src/cli/restoreCommand.js";
import { isKvBackupError } from "../../../../src/domain/errors.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { kvError } from "../../fakes/memoryVault.js";

async function backedUp(w: ReturnType<typeof world>, kinds?: ("secrets" | "keys" | "certificates")[]) {
  return runBackup(w.deps, {
    runId: newRunId(),
    vault: "demo-vault",
    tier: "manual",
    trigger: "cli",
    ...(kinds ? { kinds } : {}),
  });
}
/** The request that restores run `runId` of demo-vault into restore-vault, with what a test adds. */
const intoRestoreVault = (
  runId: string,
  over: Omit<Parameters<typeof runRestore>[1], "runId" | "vault"> = {},
) => ({
  runId,
  vault: "demo-vault",
  targetVault: "restore-vault",
  ...over,
});
const outcomes = (rs: { kind: string; name: string; outcome: string }[] = []) =>
  Object.fromEntries(rs.map((r) => [`${r.kind}/${r.name}`, r.outcome]));

describe("restore", () => {
  it("the whole run into an empty vault: every object restored, succeeded, same values", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    const report = await runRestore(w.deps, intoRestoreVault(r.runId));
    expect(report.status).toBe("succeeded");
    expect(report.results?.filter((x) => x.outcome === "restored")).toHaveLength(9);
    expect(w.vault("restore-vault").valueOf("secrets", "alpha")).toBe(w.vault().valueOf("secrets", "alpha"));
  });

  it("restoring a partial run whose keys listing failed is partial and names the kind it does not hold", async () => {
    const w = world();
    seed(w.vault()).fault = (op, kind) =>
      op === "list" && kind === "keys" ? kvError(403, "Forbidden", "ForbiddenByRbac") : undefined;
    const r = await backedUp(w);
    w.vault().fault = () => undefined;
    const report = await runRestore(w.deps, intoRestoreVault(r.runId));
    expect(report.status).toBe("partial");
    expect(report.results).toContainEqual(
      expect.objectContaining({
        kind: "keys",
        name: "*",
        outcome: "not-in-backup",
        diagnosis: expect.objectContaining({ code: "NotInBackup" }),
      }),
    );
    expect(restoreExitCode(report)).toBe(1);
  });

  it("--only a name the run does not hold: failed, exit 1, not '0 restored' and ok", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    const report = await runRestore(
      w.deps,
      intoRestoreVault(r.runId, {
        names: ["secrets/no-such-secret"],
      }),
    );
    expect(report.status).toBe("failed");
    expect(outcomes(report.results)).toEqual({ "secrets/no-such-secret": "not-in-backup" });
    expect(restoreExitCode(report)).toBe(1);
  });

  it("a kind the run never covered, asked for, is named; a dry run says what the restore would be", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w, ["secrets"]);
    const plan = await runRestore(
      w.deps,
      intoRestoreVault(r.runId, {
        kinds: ["keys"],
        dryRun: true,
      }),
    );
    expect(plan.plan).toEqual([
      expect.objectContaining({
        kind: "keys",
        name: "*",
        action: "not-in-backup",
        detail: expect.stringContaining("did not back up keys"),
      }),
    ]);
    expect(plan).toMatchObject({ status: "planned", expected: "failed" });
    expect(restoreExitCode(plan)).toBe(1);
  });

  it("names asked twice (in any case) restore once", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    const report = await runRestore(
      w.deps,
      intoRestoreVault(r.runId, {
        names: ["alpha", "ALPHA", "secrets/alpha"],
      }),
    );
    expect(report.results).toHaveLength(1);
  });

  it("conflicts: skip of an existing name is as asked, fail is failed; a soft-deleted name is skipped with how to recover and is never 'succeeded' (issue 20)", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    w.vault("restore-vault").put("secrets", "alpha");
    w.vault("restore-vault").deleted.secrets.add("bravo");
    const req = intoRestoreVault(r.runId, {
      names: ["alpha", "bravo"],
    });
    const skip = await runRestore(w.deps, req);
    expect(outcomes(skip.results)).toEqual({
      "secrets/alpha": "skipped-exists",
      "secrets/bravo": "skipped-deleted",
    });
    // bravo is not in the target (only in its recycle bin): the restore did not give it back.
    expect(skip.status).toBe("partial");
    expect(skip.results?.[1]?.diagnosis?.fix).toMatch(/recover .* or purge/);
    const existing = await runRestore(w.deps, { ...req, names: ["alpha"] });
    expect(existing.status).toBe("succeeded");
    const fail = await runRestore(w.deps, { ...req, onConflict: "fail" });
    expect(fail.status).toBe("failed");
    expect(fail.results?.[0]?.diagnosis?.code).toBe("RestoreConflict");
  });

  it("kvbackup restore --only a name soft-deleted in the target exits 1 and prints how to recover or purge it (issue 20)", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    w.vault("restore-vault").deleted.secrets.add("alpha");
    const io = captureIo();
    const args = [
      "restore",
      r.runId,
      "--vault",
      "demo-vault",
      "--to",
      "restore-vault",
      "--only",
      "secrets/alpha",
    ];
    expect(await main(args, {}, io.io, () => w.deps)).toBe(1);
    expect(io.stdout()).toMatch(/^failed: 0 restored, 1 skipped/m);
    expect(io.stdout()).toMatch(/secrets\/alpha fix: Recover the deleted object .* or purge it/);
    const plan = captureIo();
    expect(await main([...args, "--dry-run"], {}, plan.io, () => w.deps)).toBe(1);
    expect(plan.stdout()).toMatch(/a restore would end failed/);
  });

  it("a certificate whose name a key holds in the target is not restored as asked: skipped, exit 1 (adversary, issue 20)", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    w.vault("restore-vault").put("keys", "www");
    const req = intoRestoreVault(r.runId, {
      names: ["certificates/www"],
    });
    const plan = await runRestore(w.deps, { ...req, dryRun: true });
    expect(plan.plan[0]).toMatchObject({ action: "skip-exists", heldBy: "keys" });
    expect(plan.expected).toBe("failed");
    const report = await runRestore(w.deps, req);
    expect(report.results?.[0]).toMatchObject({ outcome: "skipped-exists", heldBy: "keys" });
    expect(report.status).toBe("failed");
    expect(w.vault("restore-vault").objects.certificates.has("www")).toBe(false);
    // The certificate itself in the target: that is the skip the policy asks for.
    w.vault("restore-vault").remove("keys", "www");
    w.vault("restore-vault").put("certificates", "www");
    expect((await runRestore(w.deps, req)).status).toBe("succeeded");
  });

  it("a blob whose bytes changed is refused before it is sent", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w, ["secrets"]);
    const path = [...w.storage.blobs.keys()].find((k) => k.endsWith("/alpha.kvbak")) as string;
    (w.storage.blobs.get(path) as { bytes: Uint8Array }).bytes = new TextEncoder().encode("tampered");
    const report = await runRestore(
      w.deps,
      intoRestoreVault(r.runId, {
        names: ["alpha"],
      }),
    );
    expect(report.results?.[0]).toMatchObject({ outcome: "failed", diagnosis: { code: "CorruptBlob" } });
    expect(w.vault("restore-vault").calls.restore).toBe(0);
  });

  it("a target off the allow-list is refused before any Key Vault call", async () => {
    const w = world();
    seed(w.vault());
    const r = await backedUp(w);
    await expect(
      runRestore(w.deps, { runId: r.runId, vault: "demo-vault", targetVault: "evil-vault" }),
    ).rejects.toSatisfy((e) => isKvBackupError(e, "VaultNotAllowed"));
    expect(w.vault("restore-vault").calls).toEqual({ list: 0, backup: 0, restore: 0, other: 0 });
  });
});

const Outcomes: RestoreOutcome[] = [
  "restored",
  "skipped-exists",
  "skipped-deleted",
  "not-in-backup",
  "failed",
];

describe("restore status tells the truth (property)", () => {
  it("succeeded exactly when everything went as asked; exit 0 exactly then", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...Outcomes), { maxLength: 30 }),
        fc.constantFrom("skip" as const, "fail" as const),
        (results, onConflict) => {
          const entries = results.map((outcome) => ({ outcome }));
          const status = restoreStatus(entries, onConflict);
          const ok = results.filter((o) => restoredAsAsked(o, onConflict)).length;
          const missing = results.some((o) => o === "not-in-backup" || o === "failed");
          if (missing) expect(status).not.toBe("succeeded");
          if (onConflict === "fail" && results.some((o) => o.startsWith("skipped")))
            expect(status).not.toBe("succeeded");
          if (results.includes("skipped-deleted")) expect(status).not.toBe("succeeded");
          expect(status).toBe(ok === results.length ? "succeeded" : ok > 0 ? "partial" : "failed");
          expect(restoreExitCode({ status })).toBe(status === "succeeded" ? 0 : 1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
