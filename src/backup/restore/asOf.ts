import type { ManifestItem } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import type { FoundRun } from "../catalog/findRun.js";
import type { EngineDeps } from "../deps.js";
import { createdAfter, type EventBackup, eventBackupsOf } from "../eventLayout.js";

/** Where each object of a point-in-time restore comes from: its run, or an event backup's blob. */
export type Sources = Map<string, string>;

const key = (kind: string, name: string): string => `${kind}/${name.toLowerCase()}`;

/**
 * The event backups of the run's vault taken after the run started and by `at`, newest per object,
 * of a kind the run covers.
 */
async function eventCopies(
  deps: Pick<EngineDeps, "blobs">,
  run: FoundRun,
  at: Date,
  signal?: SignalLike,
): Promise<Map<string, EventBackup>> {
  const m = run.manifest;
  const from = Date.parse(m.startedAt);
  const newest = new Map<string, EventBackup>();
  for (const e of await eventBackupsOf(deps.blobs, m.vault.name, signal)) {
    const t = Date.parse(e.takenAt);
    // Named as taken by then, but created later (written afterwards under an older name): not the vault then.
    if (!m.kinds.includes(e.kind) || t <= from || t > at.getTime() || createdAfter(e.createdOn, at.getTime()))
      continue;
    const known = newest.get(key(e.kind, e.name));
    if (!known || Date.parse(known.takenAt) < t) newest.set(key(e.kind, e.name), e);
  }
  return newest;
}

/**
 * A vault as it was at `at`: the newest run committed by then (found by the caller), with each
 * object an event backup holds as of later — taken after the run started (a run backs its objects
 * up over minutes; an event backup then is at least as new, with every event delivered) and by
 * `at` — taken from that backup, and objects created since added. A Key Vault backup holds every
 * version up to when it was taken, so the current version is the one current then. Deletions are
 * not evented: an object deleted after the run is still in it. An event backup that says no
 * SHA-256 cannot be checked: it is not used, and its object's source says so.
 */
export async function asOf(
  deps: Pick<EngineDeps, "blobs">,
  run: FoundRun,
  at: Date,
  signal?: SignalLike,
): Promise<{ run: FoundRun; sources: Sources }> {
  const m = run.manifest;
  const copies = await eventCopies(deps, run, at, signal);
  const sources: Sources = new Map(m.items.map((i) => [key(i.kind, i.name), m.runId]));
  const usable = new Map<string, EventBackup & { sha256: string }>();
  for (const [k, c] of copies)
    if (c.sha256) usable.set(k, { ...c, sha256: c.sha256 });
    else sources.set(k, `${m.runId} (the event backup taken ${c.takenAt} has no SHA-256 and is not used)`);
  const item = (c: EventBackup & { sha256: string }, name: string): ManifestItem => {
    sources.set(key(c.kind, name), `event ${c.takenAt}`);
    return { kind: c.kind, name, blob: c.blob, bytes: c.bytes, sha256: c.sha256, enabled: true };
  };
  const items = m.items.map((i) => {
    const c = usable.get(key(i.kind, i.name));
    if (!c) return i;
    usable.delete(key(i.kind, i.name));
    return item(c, i.name); // under the run's own spelling of the name
  });
  for (const c of usable.values()) items.push(item(c, c.name));
  // What an event backup brings back is no longer missing from the run.
  const covered = (kind: string, name: string): boolean =>
    sources.get(key(kind, name))?.startsWith("event ") ?? false;
  const manifest = {
    ...m,
    items,
    failed: m.failed.filter((f) => !covered(f.kind, f.name)),
    skipped: m.skipped.filter((s) => !covered(s.kind, s.name)),
  };
  return { run: { ...run, manifest }, sources };
}

/** The source of a plan entry's object, as the plan says it. */
export const sourceOf = (sources: Sources, kind: string, name: string): string | undefined =>
  sources.get(key(kind, name));
