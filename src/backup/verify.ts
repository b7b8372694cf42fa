import { createHash } from "node:crypto";
import { blobMissing, corruptBlob, type Diagnosis } from "../diagnosis.js";
import type { BackupStore } from "../storage/backupStore.js";
import type { SignalLike } from "./delay.js";
import { type Manifest, runPrefix } from "./manifest.js";
import { Pool } from "./pool.js";

export interface VerifyProblem {
  blob: string;
  problem: "missing" | "corrupt" | "extra";
  diagnosis?: Diagnosis;
}

export interface VerifyResult {
  runId: string;
  vault: string;
  ok: boolean;
  checked: number;
  bytes: number;
  problems: VerifyProblem[];
}

/** Re-reads every blob of a run: each must exist and match its SHA-256; no blob may be there that the manifest does not name. */
export async function verifyRun(
  store: BackupStore,
  manifest: Manifest,
  signal?: SignalLike,
): Promise<VerifyResult> {
  const present = await store.list(runPrefix(manifest.tier, manifest.vault.name, manifest.runId), signal);
  const problems: VerifyProblem[] = [];
  let checked = 0;
  let bytes = 0;
  const pool = new Pool(8);
  for (const item of manifest.items) {
    await pool.submit(async () => {
      if (!present.has(item.blob)) {
        problems.push({ blob: item.blob, problem: "missing", diagnosis: blobMissing(item.blob) });
        return;
      }
      const content = await store.read(item.blob, signal);
      checked++;
      bytes += content.length;
      const actual = createHash("sha256").update(content).digest("hex");
      if (actual !== item.sha256)
        problems.push({
          blob: item.blob,
          problem: "corrupt",
          diagnosis: corruptBlob(item.blob, item.sha256, actual),
        });
    });
  }
  await pool.drain();
  const named = new Set(manifest.items.map((i) => i.blob));
  for (const name of present.keys()) {
    if (!named.has(name) && !name.endsWith("/manifest.json")) problems.push({ blob: name, problem: "extra" });
  }
  problems.sort((a, b) => (a.blob < b.blob ? -1 : 1));
  return {
    runId: manifest.runId,
    vault: manifest.vault.name,
    ok: problems.length === 0,
    checked,
    bytes,
    problems,
  };
}
