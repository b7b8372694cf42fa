import { blobMissing, corruptBlob, corruptManifest } from "../../diagnosis/local.js";
import { type Config, findHsm, findVault } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { KvBackupError } from "../../domain/errors.js";
import { type HsmBackupRecord, hsmContainer } from "../../domain/hsmBackup.js";
import type { InventoryRow } from "../../domain/inventory.js";
import { type Manifest, manifestBlob, runPrefix } from "../../domain/manifest.js";
import { HsmClockSlackMs, hsmFolderTime, sha256Hex } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps } from "../deps.js";
import { Pool } from "../pool.js";
import { findRun } from "./findRun.js";

export interface VerifyProblem {
  blob: string;
  problem: "missing" | "corrupt" | "extra" | "unverifiable";
  diagnosis?: Diagnosis;
}

export interface VerifyResult {
  runId: string;
  vault: string;
  ok: boolean;
  /** Blobs the manifest names. */
  expected: number;
  /** Blobs read back and hashed. */
  checked: number;
  bytes: number;
  problems: VerifyProblem[];
}

/** kvbackup verify: find the run, then check every blob of it. */
export async function verifyRef(
  deps: EngineDeps,
  ref: string,
  vault?: string,
  signal?: SignalLike,
): Promise<VerifyResult> {
  const { manifest, row } = await findRun(deps, ref, vault, signal);
  return verifyRun(deps, manifest, signal, row);
}

/** Reads a blob back and hashes it: its size, and the problem when it is not the SHA-256 recorded for it. */
export async function rehash(
  blobs: Pick<EngineDeps["blobs"], "read">,
  blob: string,
  sha256: string,
  signal?: SignalLike,
): Promise<{ bytes: number; problem?: VerifyProblem }> {
  const content = await blobs.read(blob, signal);
  const actual = sha256Hex(content);
  return actual === sha256
    ? { bytes: content.length }
    : {
        bytes: content.length,
        problem: { blob, problem: "corrupt", diagnosis: corruptBlob(blob, sha256, actual) },
      };
}

/** Re-reads every blob of a run: each must exist and match its SHA-256; no blob may be there that the manifest does not name. */
export async function verifyRun(
  deps: Pick<EngineDeps, "blobs" | "hsmFolders" | "config">,
  manifest: Manifest,
  signal?: SignalLike,
  /** The run's inventory row, when there is one: an HSM folder must have been written between its times. */
  row?: InventoryRow,
): Promise<VerifyResult> {
  const kindProblem = hsmKindProblem(deps.config, manifest, row);
  if (kindProblem) throw new KvBackupError("CorruptManifest", kindProblem.cause, { diagnosis: kindProblem });
  if (manifest.hsm) return verifyHsmRun(deps, manifest, manifest.hsm, signal);
  const prefix = runPrefix(manifest.tier, manifest.vault.name, manifest.runId);
  const present = await deps.blobs.list(prefix, signal);
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
      const read = await rehash(deps.blobs, item.blob, item.sha256, signal);
      checked++;
      bytes += read.bytes;
      if (read.problem) problems.push(read.problem);
    });
  }
  await pool.drain();
  // Leftovers of an earlier attempt that storage would not delete are known, not part of the backup.
  const named = new Set([...manifest.items.map((i) => i.blob), ...(manifest.leftovers ?? [])]);
  for (const name of present.keys()) {
    if (!named.has(name) && name !== manifestBlob(prefix)) problems.push({ blob: name, problem: "extra" });
  }
  problems.sort((a, b) => (a.blob < b.blob ? -1 : 1));
  return {
    runId: manifest.runId,
    vault: manifest.vault.name,
    ok: problems.length === 0,
    expected: manifest.items.length,
    checked,
    bytes,
    problems,
  };
}

/**
 * An HSM run is in that HSM's tier container; a vault of the settings never has an HSM record, and
 * an HSM of the settings always has one. A manifest that says otherwise was edited: it is not
 * trusted. (A name the settings no longer hold — an HSM taken off BACKUP_MANAGED_HSMS — is neither:
 * its backups are read like a gone vault's.)
 */
function hsmKindProblem(
  config: Pick<Config, "hsms" | "vaults" | "restoreTargets" | "container">,
  manifest: Manifest,
  row?: InventoryRow,
): Diagnosis | undefined {
  const isHsm = findHsm(config, manifest.vault.name) !== undefined;
  const isVault = findVault(config, manifest.vault.name) !== undefined;
  const where = `${manifestBlob(runPrefix(manifest.tier, manifest.vault.name, manifest.runId))}`;
  if (manifest.hsm && isVault)
    return corruptManifest(
      where,
      `it carries a Managed HSM backup, but '${manifest.vault.name}' is a Key Vault (BACKUP_VAULTS or discovered)`,
    );
  if (!manifest.hsm && isHsm)
    return corruptManifest(
      where,
      `'${manifest.vault.name}' is a Managed HSM, but the manifest has no HSM backup record`,
    );
  // The row's own times (not the manifest's, which an editor could move with the folder).
  const at = manifest.hsm ? hsmFolderTime(manifest.hsm.folder) : Number.NaN;
  if (
    manifest.hsm &&
    row?.finishedAt &&
    !(at >= Date.parse(row.startedAt) - HsmClockSlackMs && at <= Date.parse(row.finishedAt) + HsmClockSlackMs)
  )
    return corruptManifest(
      where,
      `its HSM folder '${manifest.hsm.folder}' was not written during run ${manifest.runId} (${row.startedAt} to ${row.finishedAt}, as the inventory recorded it)`,
    );
  if (manifest.hsm && manifest.hsm.container !== hsmContainer(config.container, manifest.tier))
    return corruptManifest(
      where,
      `its HSM backup is in '${manifest.hsm.container}', not '${hsmContainer(config.container, manifest.tier)}'`,
    );
  return undefined;
}

/**
 * A Managed HSM run: the folder the HSM wrote must hold exactly the files the run recorded, each
 * with the SHA-256 read back at commit (the job itself reports only the folder's name).
 */
async function verifyHsmRun(
  deps: Pick<EngineDeps, "hsmFolders">,
  manifest: Manifest,
  hsm: HsmBackupRecord,
  signal?: SignalLike,
): Promise<VerifyResult> {
  const now = new Map(
    (await deps.hsmFolders.files(hsm.container, hsm.folder, signal)).map((f) => [f.name, f]),
  );
  const problems: VerifyProblem[] = [];
  let bytes = 0;
  let checked = 0;
  for (const f of hsm.files) {
    const at = `${hsm.container}/${f.name}`;
    const found = now.get(f.name);
    if (!found) {
      problems.push({ blob: at, problem: "missing", diagnosis: blobMissing(at) });
      continue;
    }
    checked++;
    bytes += found.bytes;
    if (found.sha256 !== f.sha256)
      problems.push({ blob: at, problem: "corrupt", diagnosis: corruptBlob(at, f.sha256, found.sha256) });
  }
  const named = new Set(hsm.files.map((f) => f.name));
  for (const name of now.keys())
    if (!named.has(name)) problems.push({ blob: `${hsm.container}/${name}`, problem: "extra" });
  problems.sort((a, b) => (a.blob < b.blob ? -1 : 1));
  return {
    runId: manifest.runId,
    vault: manifest.vault.name,
    ok: problems.length === 0 && hsm.files.length > 0,
    expected: hsm.files.length,
    checked,
    bytes,
    problems,
  };
}
