import { runBackup } from "../../../src/backup/engine.js";
import { newRunId } from "../../../src/domain/runId.js";
import { seed, world } from "../fakes/deps.js";

export async function twoRuns() {
  const w = world();
  seed(w.vault());
  const older = await runBackup(w.deps, {
    runId: newRunId(new Date("2026-11-24T02:00:00Z")),
    vault: "demo-vault",
    tier: "daily",
    trigger: "timer",
  });
  const newer = await runBackup(w.deps, {
    runId: newRunId(new Date("2026-11-25T02:00:00Z")),
    vault: "demo-vault",
    tier: "daily",
    trigger: "timer",
  });
  const edit = (f: (m: Record<string, unknown>) => unknown) => {
    const doc = w.storage.documents.get(newer.manifestPath) as { bytes: Uint8Array };
    const m = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
    const next = f(m);
    doc.bytes = Buffer.from(typeof next === "string" ? next : JSON.stringify(next));
  };
  return { w, older, newer, edit };
}
