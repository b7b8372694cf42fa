import { createHash } from "node:crypto";
import type { Diagnosis } from "./diagnosis.js";
import type { HsmBackupRecord } from "./hsmBackup.js";
import type { Kind, Mode, RunStatus, Tier, Trigger } from "./vocabulary.js";

export interface ManifestItem {
  kind: Kind;
  name: string;
  /** Always the layout path of this kind and name in this run (objectBlob); readers refuse others. */
  blob: string;
  bytes: number;
  sha256: string;
  /** Absent when the run did not see it (listings do not carry versions). */
  version?: string;
  updatedOn?: string;
  enabled: boolean;
  contentType?: string;
  tags?: Record<string, string>;
  /**
   * Incremental runs: where the blob was copied from, server-side, into this run's folder — the run
   * whose blob it was, or "events" (CopiedFromEvents): continuous protection's backup of the object,
   * taken after its current state was made.
   */
  copiedFrom?: string;
  /**
   * The blob's ETag when this run wrote, copied or found it. A later incremental run copies the
   * blob only while it is still this version (absent in manifests of earlier versions of kvbackup).
   */
  etag?: string;
}

export interface ManifestSkip {
  kind: Kind;
  name: string;
  reason: "managed-by-certificate" | "deleted-during-run";
}

export interface ManifestFailure {
  kind: Kind;
  /** "*" when listing the kind failed. */
  name: string;
  code: string;
  message: string;
  diagnosis: Diagnosis;
}

/** ManifestItem.copiedFrom of an object copied from its continuous-protection (event) backup. */
export const CopiedFromEvents = "events";

/**
 * A change continuous protection should have backed up and did not: the daily run found the object
 * with a new version (made at createdOn, after the base run started and well before this run) that
 * no event backup held, and backed it up from Key Vault itself.
 */
export interface MissedChange {
  kind: Kind;
  name: string;
  createdOn: string;
}

/** manifest.json: written last, its presence means the run committed. Never a secret value. */
export interface Manifest {
  schemaVersion: 2;
  runId: string;
  vault: { name: string; url: string };
  tier: Tier;
  trigger: Trigger;
  mode: Mode;
  /** The kinds this run was asked to back up (a restore of the run names any other kind as not in it). */
  kinds: Kind[];
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  items: ManifestItem[];
  skipped: ManifestSkip[];
  failed: ManifestFailure[];
  /**
   * Blobs in the run's folder that hold none of its objects — written by an earlier attempt of the
   * same run for an object that then failed, was skipped or was gone — and that storage refused to
   * delete (immutability). Verify counts them as known, never as part of the backup.
   */
  leftovers?: string[];
  /** A Managed HSM full backup: the folder the HSM wrote (items, skipped and failed are empty). */
  hsm?: HsmBackupRecord;
  /** With continuous protection on: the changes its events missed, which this run took from Key Vault. */
  eventsMissed?: MissedChange[];
}

/** Blob paths: {tier}/{vault}/{yyyy}/{mm}/{dd}/{runId}/... (lifecycle rules match on the tier). */
export function runPrefix(tier: Tier, vault: string, runId: string): string {
  return `${tier}/${vault}/${runId.slice(0, 4)}/${runId.slice(4, 6)}/${runId.slice(6, 8)}/${runId}/`;
}

export const objectBlob = (prefix: string, kind: Kind, name: string): string =>
  `${prefix}${kind}/${name}.kvbak`;
export const manifestBlob = (prefix: string): string => `${prefix}manifest.json`;

/** Objects first by kind, then by name: manifests and reports list in one order. */
export const byKindAndName = (
  a: { kind: string; name: string },
  b: { kind: string; name: string },
): number =>
  a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1;

/**
 * A document made on demand, chunk by chunk, the same bytes each time: never whole in memory. A
 * chunk is bytes or text (UTF-8): text is hashed and measured without being copied into a buffer.
 */
export interface ChunkedDocument {
  chunks(): Iterable<Uint8Array | string>;
}

/**
 * manifest.json as chunks of compact JSON text (exactly JSON.stringify(manifest) + "\n"), a
 * hundred items each, made as they are read: a 100,000-object manifest is never one string in
 * memory, nor all its bytes at once — only the chunk being hashed or uploaded. A chunk stays ~40 KB,
 * under V8's large-object size, so its strings die young (measured on 100,000 items, three passes:
 * +26 MB RSS with 100 items a chunk, +47 MB with 500); hashes take the text as it is, no buffer.
 */
export function* manifestChunks(
  manifest: Manifest,
  itemsPerChunk = 100,
  items: Iterable<ManifestItem> = manifest.items,
): Generator<string> {
  const shell = JSON.stringify({ ...manifest, items: [] });
  const at = shell.indexOf('"items":[]') + '"items":['.length;
  yield shell.slice(0, at);
  let part: string[] = [];
  let first = true;
  for (const item of items) {
    part.push(JSON.stringify(item));
    if (part.length < itemsPerChunk) continue;
    yield (first ? "" : ",") + part.join(",");
    first = false;
    part = [];
  }
  if (part.length > 0) yield (first ? "" : ",") + part.join(",");
  yield `${shell.slice(at)}\n`;
}

/**
 * manifest.json as a ChunkedDocument, with its SHA-256 (one pass over the chunks, none kept). Its
 * items are `manifest.items`, or — for a run that holds them packed — those `items()` makes, the
 * same ones in the same order on every call.
 */
export function manifestDocument(
  manifest: Manifest,
  items: () => Iterable<ManifestItem> = () => manifest.items,
): ChunkedDocument & { sha256: string } {
  const chunks = (): Generator<string> => manifestChunks(manifest, 100, items());
  const hash = createHash("sha256");
  for (const c of chunks()) hash.update(c);
  return { chunks, sha256: hash.digest("hex") };
}

/** The bytes a run's backup holds: its object blobs, or the files an HSM wrote. */
export const manifestBytes = (m: Pick<Manifest, "items" | "hsm">): number =>
  m.items.reduce((n, i) => n + i.bytes, 0) + (m.hsm?.files.reduce((n, f) => n + f.bytes, 0) ?? 0);
