import type { ManifestItem } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import type { FoundRun } from "../catalog/findRun.js";
import type { EngineDeps } from "../deps.js";
import { eventBlobFacts } from "../events/backupEvent.js";

/** Where each object of a point-in-time restore comes from: its run, or an event backup's blob. */
export type Sources = Map<string, string>;

const key = (kind: string, name: string): string => `${kind}/${name.toLowerCase()}`;

/**
 * A vault as it was at `at`: the newest run committed at or before then (found by the caller), with
 * each object that an event backup holds in a newer state (taken after the run ended and at or
 * before `at`) taken from that backup instead, and objects created after the run added. A Key Vault
 * backup holds every version up to when it was taken, so the current version is the one current
 * then. Deletions are not evented: an object deleted after the run is still in it.
 */
export async function asOf(
  deps: Pick<EngineDeps, "blobs">,
  run: FoundRun,
  at: Date,
  signal?: SignalLike,
): Promise<{ run: FoundRun; sources: Sources }> {
  const m = run.manifest;
  const after = Date.parse(m.finishedAt);
  const newest = new Map<string, { blob: string; takenAt: string; bytes: number; sha256: string }>();
  for (const [blob, stored] of await deps.blobs.list(`events/${m.vault.name}/`, signal)) {
    const facts = eventBlobFacts(blob);
    const [, , kind, name] = blob.split("/");
    if (!facts || !kind || !name || !stored.sha256 || !m.kinds.some((k) => k === kind)) continue;
    const t = Date.parse(facts.takenAt);
    if (t <= after || t > at.getTime()) continue;
    const k = key(kind, name);
    const known = newest.get(k);
    if (!known || known.takenAt < facts.takenAt)
      newest.set(k, { blob, takenAt: facts.takenAt, bytes: stored.bytes, sha256: stored.sha256 });
  }
  const sources: Sources = new Map(m.items.map((i) => [key(i.kind, i.name), m.runId]));
  const items: ManifestItem[] = m.items.map((i) => {
    const e = newest.get(key(i.kind, i.name));
    if (!e) return i;
    newest.delete(key(i.kind, i.name));
    sources.set(key(i.kind, i.name), `event ${e.takenAt}`);
    // The event's backup, under the run's own name of the object.
    return { kind: i.kind, name: i.name, blob: e.blob, bytes: e.bytes, sha256: e.sha256, enabled: true };
  });
  for (const [k, e] of newest) {
    const [kind, name] = k.split("/") as [ManifestItem["kind"], string];
    sources.set(k, `event ${e.takenAt}`);
    items.push({ kind, name, blob: e.blob, bytes: e.bytes, sha256: e.sha256, enabled: true });
  }
  return { run: { ...run, manifest: { ...m, items } }, sources };
}

/** The source of a plan entry's object, as the plan says it. */
export const sourceOf = (sources: Sources, kind: string, name: string): string | undefined =>
  sources.get(key(kind, name));
