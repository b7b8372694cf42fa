import { corruptManifest } from "../../diagnosis/local.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import type { Manifest } from "../../domain/manifest.js";
import { readManifestBytes } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import type { DocumentStore } from "../ports.js";

export type ManifestFound =
  | { state: "absent" }
  | { state: "sound"; manifest: Manifest; sha256: string }
  | { state: "corrupt"; diagnosis: Diagnosis };

/**
 * The manifest at `path`, checked (schema, layout, and the SHA-256 the inventory recorded when
 * given): sound, corrupt with its diagnosis, or absent. Storage failures escape.
 */
export async function readManifest(
  documents: DocumentStore,
  path: string,
  expectedSha256?: string,
  signal?: SignalLike,
): Promise<ManifestFound> {
  const found = await documents.read(path, signal);
  if (!found) return { state: "absent" };
  const r = readManifestBytes(path, found.bytes, expectedSha256);
  return r.ok
    ? { state: "sound", manifest: r.manifest, sha256: r.sha256 }
    : { state: "corrupt", diagnosis: corruptManifest(path, r.problem) };
}
