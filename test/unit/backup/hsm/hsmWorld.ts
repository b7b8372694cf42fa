// What runHsm.test.ts, hsmRecord.test.ts, restoreHsm.test.ts share: their setup and helpers.

import { createHash } from "node:crypto";
import type { HsmJob } from "../../../../src/backup/engine.js";
import { newRunId } from "../../../../src/domain/runId.js";
import { world } from "../../fakes/deps.js";

export const hsms = [{ name: "demo-hsm", url: "https://demo-hsm.managedhsm.azure.net" }];

export const job = (over: Partial<HsmJob> = {}): HsmJob => ({
  runId: newRunId(new Date("2026-11-26T02:00:00Z")),
  vault: "demo-hsm",
  tier: "daily",
  trigger: "timer",
  hsm: true,
  ...over,
});

export const hsmWorld = () => world({ hsms }, { hsmPollMs: 1, hsmJobTimeoutMs: 50 });

/** A manifest as JSON, edited freely. */
export type EditableManifest = ReturnType<typeof JSON.parse>;

/** Rewrites a run's manifest and the row's SHA-256 to match: an attacker with write access to both. */
export function edit(
  w: ReturnType<typeof world>,
  runId: string,
  change: (m: EditableManifest) => void,
): void {
  const row = w.storage.rows.get(runId);
  if (!row) throw new Error("no row");
  const doc = w.storage.documents.get(row.manifest);
  if (!doc) throw new Error("no manifest");
  const m = JSON.parse(Buffer.from(doc.bytes).toString("utf8"));
  change(m);
  const bytes = Buffer.from(JSON.stringify(m));
  w.storage.documents.set(row.manifest, { bytes, etag: `"${Math.random()}"` });
  w.storage.rows.set(runId, { ...row, manifestSha256: createHash("sha256").update(bytes).digest("hex") });
}
