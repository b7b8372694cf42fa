import { describe, expect, it } from "vitest";
import { runDrill } from "../../../src/backup/drill/runDrill.js";
import { runBackup } from "../../../src/backup/engine.js";
import { buildReport } from "../../../src/backup/report.js";
import type { DrillRow } from "../../../src/domain/drillRecord.js";
import { newRunId } from "../../../src/domain/runId.js";
import { seed, world } from "../fakes/deps.js";

const drillVault = { name: "drill-vault", url: "https://drill-vault.vault.azure.net" };

async function proven() {
  const w = world({ drillVault });
  seed(w.vault());
  await runBackup(w.deps, {
    runId: newRunId(new Date()),
    vault: "demo-vault",
    tier: "daily",
    trigger: "timer",
  });
  const d = await runDrill(w.deps, { vault: "demo-vault", drillId: newRunId(new Date()), trigger: "timer" });
  expect(d.status).toBe("succeeded");
  return { w, d };
}
const demo = async (w: ReturnType<typeof world>) =>
  (await buildReport(w.deps)).vaults.find((v) => v.vault === "demo-vault");
const row = (over: Partial<DrillRow>): DrillRow => ({
  vault: "demo-vault",
  drillId: newRunId(new Date()),
  scratchVault: "drill-vault",
  trigger: "timer",
  status: "failed",
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  compared: 9,
  mismatches: 1,
  sample: [],
  ...over,
});

describe("kvbackup report", () => {
  it("stopped (Ctrl-C) while it lists the vaults: Aborted, not every vault 'at risk, coverage unknown' (adversary on issue 21)", async () => {
    const { w } = await proven();
    const stop = new AbortController();
    const makeVault = w.deps.vaults;
    w.deps.vaults = (...args: Parameters<typeof makeVault>) => {
      const port = makeVault(...args);
      return {
        ...port,
        list: (kind, signal) => {
          stop.abort();
          return port.list(kind, signal);
        },
      };
    };
    await expect(buildReport(w.deps, stop.signal)).rejects.toMatchObject({ code: "Aborted" });
  });

  it("a vault backed up and proved, every object in the backup: ok", async () => {
    const { w, d } = await proven();
    const r = await demo(w);
    expect(r).toMatchObject({ verdict: "ok", reasons: [], lastProvenRestore: { runId: d.runId } });
    expect(r?.coverage).toMatchObject({ inBackup: 9, missing: [], failed: [] });
  });

  it("a newer drill still running does not hide a failed one; a drill running for over 12 h is named as dead (adversary round 5)", async () => {
    const { w } = await proven();
    await w.deps.drills.put(
      row({ drillId: newRunId(new Date(Date.now() + 1000)), firstFailureCode: "DrillMismatch" }),
    );
    await w.deps.drills.put(
      row({ drillId: newRunId(new Date(Date.now() + 2000)), status: "running", compared: 0, mismatches: 0 }),
    );
    const r = await demo(w);
    expect(r?.verdict).toBe("at risk");
    expect(r?.reasons.join("; ")).toMatch(/newest drill .* failed \(DrillMismatch\)/);
    const w2 = (await proven()).w;
    // The fake clock starts at 2026-11-26T02:00Z: this drill started 16 h before it.
    const old = new Date("2026-11-25T10:00:00Z");
    await w2.deps.drills.put(
      row({
        drillId: newRunId(new Date(Date.now() + 1000)),
        status: "running",
        startedAt: old.toISOString(),
      }),
    );
    expect((await demo(w2))?.reasons.join("; ")).toMatch(/has been "running" since .* it died/);
  });

  it("objects near the version limit come from the newest drill that compared, not an older one", async () => {
    const { w } = await proven();
    await w.deps.drills.put(
      row({
        drillId: newRunId(new Date(Date.now() - 3600_000)),
        status: "succeeded",
        nearVersionLimit: ["keys/old-big"],
      }),
    );
    expect((await demo(w))?.nearVersionLimit).toEqual([]);
    await w.deps.drills.put(
      row({
        drillId: newRunId(new Date(Date.now() + 1000)),
        status: "succeeded",
        mismatches: 0,
        nearVersionLimit: ["keys/big"],
      }),
    );
    const r = await demo(w);
    expect(r?.nearVersionLimit).toEqual(["keys/big"]);
    expect(r?.verdict).toBe("at risk");
  });

  it("an object added after the last backup is missing from it; no backup, no drill: at risk with both reasons", async () => {
    const { w } = await proven();
    w.vault().put("secrets", "added-later");
    expect((await demo(w))?.coverage?.missing).toEqual(["secrets/added-later"]);
    const fresh = world({ drillVault });
    const r = await demo(fresh);
    expect(r?.reasons).toEqual(["no successful backup on record", "no restore proven by a drill"]);
  });
});
