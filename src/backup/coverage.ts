import type { VaultRef } from "../domain/config.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import { firstLine } from "../domain/errors.js";
import type { InventoryRow } from "../domain/inventory.js";
import { abortError, type SignalLike } from "../domain/signal.js";
import { type Kind, Kinds } from "../domain/vocabulary.js";
import { findRun } from "./catalog/findRun.js";
import type { EngineDeps } from "./deps.js";
import { eventBackupsOf } from "./eventLayout.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure } from "./failures.js";
import { checkLimiter } from "./limiter.js";

/**
 * The objects the backups hold now, per kind the settings protect: each kind from the newest
 * committed run that covered it (a run asked for fewer kinds, or whose listing of a kind failed,
 * leaves that kind to older runs); and the objects whose backup failed in the newest run.
 */
async function holdings(
  deps: EngineDeps,
  vault: VaultRef,
  committed: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<{ held: Map<string, string | undefined>; failed: string[]; missed?: EventsMissed }> {
  const wanted = new Set<Kind>(deps.config.kinds);
  // Each object the backups hold, with the update time of the state they hold (when known).
  const held = new Map<string, string | undefined>();
  let failed: string[] | undefined;
  let missed: EventsMissed | undefined;
  for (const row of committed) {
    if (wanted.size === 0) break;
    const { manifest } = await findRun(deps, row.runId, vault.name, signal);
    if (failed === undefined && manifest.eventsMissed?.length)
      missed = { runId: manifest.runId, objects: manifest.eventsMissed.map((m) => `${m.kind}/${m.name}`) };
    failed ??= manifest.failed.map((f) => `${f.kind}/${f.name}`);
    const covers = manifest.kinds.filter(
      (k) => wanted.has(k) && !manifest.failed.some((f) => f.kind === k && f.name === "*"),
    );
    for (const i of manifest.items)
      if (covers.includes(i.kind)) held.set(`${i.kind}/${i.name.toLowerCase()}`, i.updatedOn);
    for (const k of covers) wanted.delete(k);
  }
  return { held, failed: failed ?? [], ...(missed ? { missed } : {}) };
}

/** The new versions continuous protection missed, as the newest run found them (and took them). */
export interface EventsMissed {
  runId: string;
  objects: string[];
}

/** With continuous protection on, a change not backed up after this long means its event did not come. */
export const EventsLateSeconds = 15 * 60;

/** Continuous protection's event backups of the vault: per object, when the newest was taken. */
async function eventBackups(
  deps: EngineDeps,
  vault: VaultRef,
  signal?: SignalLike,
): Promise<Map<string, number>> {
  const newest = new Map<string, number>();
  if (!deps.config.eventsQueue) return newest;
  for (const e of await eventBackupsOf(deps.blobs, vault.name, signal)) {
    // What the backup surely holds: everything up to when its call started.
    const k = `${e.kind}/${e.name}`;
    newest.set(k, Math.max(Date.parse(e.startedAt), newest.get(k) ?? 0));
  }
  return newest;
}

/**
 * The recovery point: how long the oldest change not held by any backup has been waiting (0: all
 * held). A change is held when a run's copy of the object is of that state or newer, or an event
 * backup was taken after it.
 */
function recoveryPoint(
  now: number,
  inVault: readonly { key: string; updatedOn?: string | undefined }[],
  held: Map<string, string | undefined>,
  events: Map<string, number>,
): { seconds: number; waiting: string[]; fresh: string[] } {
  let seconds = 0;
  const waiting: string[] = [];
  const fresh: string[] = [];
  for (const o of inVault) {
    const changed = Date.parse(o.updatedOn ?? "");
    if (Number.isNaN(changed)) continue;
    const run = Date.parse(held.get(o.key) ?? "");
    if ((!Number.isNaN(run) && run >= changed) || (events.get(o.key) ?? 0) >= changed) continue;
    if (!held.has(o.key) && events.has(o.key)) continue;
    waiting.push(o.key);
    if (now - changed <= EventsLateSeconds * 1000) fresh.push(o.key);
    seconds = Math.max(seconds, Math.round((now - changed) / 1000));
  }
  return { seconds, waiting, fresh };
}

async function coverageOf(
  deps: EngineDeps,
  vault: VaultRef,
  committed: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<Coverage> {
  const { held, failed, missed } = await holdings(deps, vault, committed, signal);
  const events = await eventBackups(deps, vault, signal);
  const port = deps.vaults(vault, checkLimiter(deps), {});
  const now: { key: string; updatedOn?: string | undefined }[] = [];
  try {
    for (const kind of Kinds.filter((k) => deps.config.kinds.includes(k)))
      for await (const page of port.list(kind, signal))
        for (const o of page)
          if (!o.managed) now.push({ key: `${kind}/${o.name.toLowerCase()}`, updatedOn: o.updatedOn });
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    const diagnosis = diagnosisOf(e, { vault: vault.name, caller: deps.config.caller, purpose: "backup" });
    return {
      inVault: 0,
      inBackup: held.size,
      missing: [],
      failed,
      ...(missed ? { eventsMissed: missed } : {}),
      ...(diagnosis ? { diagnosis } : {}),
    };
  }
  const point = recoveryPoint(deps.now().getTime(), now, held, events);
  return {
    inVault: now.length,
    inBackup: held.size,
    // An object created since the newest run is held once an event backup of it was taken.
    missing: now
      .map((o) => o.key)
      .filter((k) => !held.has(k) && !events.has(k))
      .sort(),
    failed,
    recoveryPointSeconds: point.seconds,
    waiting: point.waiting.sort(),
    fresh: point.fresh.sort(),
    ...(missed ? { eventsMissed: missed } : {}),
  };
}

/**
 * Objects in the vault now against what its committed runs hold — per kind the settings protect,
 * the newest run that covered it — (managed objects are covered by their certificate); `failed`:
 * objects whose backup failed in the newest run.
 */
export interface Coverage {
  inVault: number;
  inBackup: number;
  missing: string[];
  failed: string[];
  /**
   * How long the oldest change in the vault not held by any backup (a run's, or an event backup)
   * has been waiting, in seconds; 0 when every change is held. Absent when the vault could not be listed.
   */
  recoveryPointSeconds?: number;
  /** The objects whose current state no backup holds yet. */
  waiting?: string[];
  /** Of those, the ones changed within the last EventsLateSeconds (continuous protection's grace). */
  fresh?: string[];
  /** With continuous protection on: new versions the newest run found that no event backup held. */
  eventsMissed?: EventsMissed;
  diagnosis?: Diagnosis;
}

/** The coverage part: the vault now against what its committed runs hold, for every kind the settings protect. */
export async function coverageFacts(
  deps: EngineDeps,
  vault: VaultRef,
  runs: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<{ coverage?: Coverage; reasons: string[] }> {
  const committed = runs.filter((r) => r.status === "succeeded" || r.status === "partial");
  let c: Coverage;
  try {
    c = await coverageOf(deps, vault, committed, signal);
  } catch (e) {
    // Stopped (Ctrl-C): the whole report stops, it does not call every vault at risk.
    if (signal?.aborted) throw abortError(signal);
    if (isStorageFailure(e) || isKeyVaultFailure(e)) throw e;
    return { reasons: [`coverage unknown: ${firstLine(e)}`] };
  }
  const reasons: string[] = [];
  if (c.diagnosis) reasons.push(`coverage unknown: the vault could not be listed (${c.diagnosis.code})`);
  // With continuous protection on, an object created moments ago waits for its event, not a risk yet.
  const missing = deps.config.eventsQueue ? c.missing.filter((k) => !c.fresh?.includes(k)) : c.missing;
  if (missing.length) reasons.push(`${missing.length} object(s) in the vault are not in the backups`);
  if (c.failed.length) reasons.push(`${c.failed.length} object(s) failed in the newest run`);
  // With continuous protection on, a change should be backed up within minutes of its event.
  if (deps.config.eventsQueue && (c.recoveryPointSeconds ?? 0) > EventsLateSeconds)
    reasons.push(
      `events are not arriving: ${c.waiting?.length ?? 0} change(s) waiting up to ${Math.round((c.recoveryPointSeconds ?? 0) / 60)} min for a backup (continuous protection is on: check the vault's Event Grid subscription, its dead letters — kvbackup events --dead-letters — and the eventWorker function; events also wait, deferred, while runs hold the subscription's whole budget)`,
    );
  if (deps.config.eventsQueue && c.eventsMissed) {
    const { runId, objects } = c.eventsMissed;
    const named =
      objects.slice(0, 5).join(", ") + (objects.length > 5 ? `, and ${objects.length - 5} more` : "");
    reasons.push(
      `events missed ${objects.length} new version(s) that run ${runId} then took from Key Vault (${named}): continuous protection had a gap — check the vault's Event Grid subscription and its dead letters (kvbackup events --dead-letters)`,
    );
  }
  return { coverage: c, reasons };
}
