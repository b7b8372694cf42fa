import { describe, expect, it } from "vitest";
import { runBackup } from "../../../../src/backup/engine.js";
import { backupEvent, eventBlob } from "../../../../src/backup/events/backupEvent.js";
import { buildReport } from "../../../../src/backup/report.js";
import { main } from "../../../../src/cli/main.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { secretEvent } from "./eventsWorld.js";

type W = ReturnType<typeof world>;

const backUp = (w: W) =>
  runBackup(w.deps, { runId: newRunId(w.deps.now()), vault: "demo-vault", tier: "daily", trigger: "timer" });
const demo = async (w: W) => (await buildReport(w.deps)).vaults.find((v) => v.vault === "demo-vault");
/** The seeded objects last changed a day before the engine's calendar (the fake's default is the machine's clock). */
function dated(w: W): void {
  const dayAgo = new Date(w.deps.now().getTime() - 86_400_000).toISOString();
  for (const objects of Object.values(w.vault().objects))
    for (const o of objects.values()) o.info.updatedOn = dayAgo;
}
/** A change to secret `name`, made `minutesAgo` before the report's now. */
const change = (w: W, name: string, minutesAgo: number) =>
  w.vault().put("secrets", name, {
    updatedOn: new Date(w.deps.now().getTime() - minutesAgo * 60_000).toISOString(),
  });

describe("the report's recovery point (issue 23)", () => {
  it("0 when the backups hold every change; then how long the oldest change no backup holds has waited", async () => {
    const w = world();
    seed(w.vault());
    dated(w);
    await backUp(w);
    expect((await demo(w))?.recoveryPointSeconds).toBe(0);
    change(w, "alpha", 90);
    change(w, "bravo", 30);
    const r = await demo(w);
    expect(r?.recoveryPointSeconds).toBeGreaterThanOrEqual(90 * 60);
    expect(r?.recoveryPointSeconds).toBeLessThan(92 * 60);
    expect(r?.coverage?.waiting).toEqual(["secrets/alpha", "secrets/bravo"]);
    // Without continuous protection that is the daily run's recovery point: said, not a risk.
    expect(r?.reasons.join("; ")).not.toMatch(/events are not arriving/);
  });

  it("with continuous protection on: an event backup holds a change; a change no event backed up for 15 min means events are not arriving", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    seed(w.vault());
    dated(w);
    await backUp(w);
    change(w, "alpha", 2);
    await backupEvent(w.deps, secretEvent({ at: w.deps.now().toISOString() }));
    w.vault().put("secrets", "zulu", { updatedOn: w.deps.now().toISOString() }); // new, no event yet
    const fresh = await demo(w);
    expect(fresh?.coverage?.waiting).toEqual(["secrets/zulu"]);
    // A new object minutes old waits for its event: not yet a risk (no "not in the backups", no "not arriving").
    expect(fresh?.reasons.join("; ")).not.toMatch(/not in the backups|events are not arriving/);
    change(w, "bravo", 40);
    const late = await demo(w);
    expect(late?.reasons.join("; ")).toMatch(/events are not arriving: 2 change\(s\) waiting up to 40 min/);
    expect(late?.verdict).toBe("at risk");
    expect(late?.recoveryPointSeconds).toBeGreaterThanOrEqual(40 * 60);
    const { io, stdout } = captureIo();
    await main(["report"], {}, io, () => w.deps);
    expect(stdout()).toMatch(/UNSAVED FOR/);
    expect(stdout()).toMatch(/demo-vault .* 4\d min +at risk/);
  });
  it("a blob under events/ outside the layout holds no change (the same reader as point-in-time restore)", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    seed(w.vault());
    dated(w);
    await backUp(w);
    change(w, "alpha", 40);
    const good = eventBlob("demo-vault", "secrets", "alpha", w.deps.now(), "v9");
    await w.deps.blobs.putOnce(good.replace("/alpha/", "/alpha/nested/"), new Uint8Array([1]), {
      sha256: "x",
    });
    expect((await demo(w))?.coverage?.waiting).toEqual(["secrets/alpha"]);
    await w.deps.blobs.putOnce(good, new Uint8Array([1]), { sha256: "x" });
    expect((await demo(w))?.coverage?.waiting).toEqual([]);
  });
});
