import { findVault } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { sha256Hex } from "../../domain/manifestCheck.js";
import type { SignalLike } from "../../domain/signal.js";
import type { VaultEvent } from "../../domain/vaultEvent.js";
import { objectLabel } from "../../domain/vocabulary.js";
import { copyEventBackup } from "../copy/copyEvent.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure } from "../failures.js";
import { type Fleet, notInFleet, withFleet } from "../fleet.js";
import { withEventHold } from "./eventHold.js";

/*
 * Continuous protection (issue 23, preview): one event's object backed up on its own, by the event
 * function or `kvbackup events --drain` (drainEvents.ts); point-in-time restore reads the blobs
 * (restore/asOf.ts). See docs/continuous-protection.md for what is not built yet.
 *
 * Layout: events/{vault}/{kind}/{name, lower case}/{ended}-{started}-{version}.kvbak, the times as
 * yyyyMMddTHHmmssSSSZ: when Key Vault's backup call ended (point-in-time restore picks the newest
 * ended by a time) and started (what it surely holds), and which version's event asked for it (a
 * redelivery finds it). A blob holds exactly what
 * Key Vault's backup API returned: every version of the object up to when it was taken.
 */

/** deferred: the vault's event hold could not be had now (another instance, or the budget): the event waits on the queue. */
export type EventOutcome = "backed-up" | "duplicate" | "not-protected" | "gone" | "deferred";

/** The counts an event's outcome adds to: a drain's, a dead-letter replay's. */
export interface EventCounts {
  backedUp: number;
  duplicates: number;
  /** Not work (another event type), not protected, or gone. */
  skipped: number;
  deferred: number;
}

/** Counts one event's outcome (an event that is not work — ignored — is skipped). */
export function countOutcome(
  counts: EventCounts,
  done: { outcome: EventOutcome } | { ignored: string },
): void {
  if ("ignored" in done) counts.skipped++;
  else if (done.outcome === "backed-up") counts.backedUp++;
  else if (done.outcome === "duplicate") counts.duplicates++;
  else if (done.outcome === "deferred") counts.deferred++;
  else counts.skipped++;
}

export interface EventResult {
  vault: string;
  kind: VaultEvent["kind"];
  name: string;
  version: string;
  /** When the event says the version was made. */
  eventAt: string;
  outcome: EventOutcome;
  /** The blob that holds the version: the one written, or the one that already did. */
  blob?: string;
  /** Why not backed up, in words. */
  reason?: string;
  diagnosis?: Diagnosis;
  /** With the isolated copy: the backup added there and read back ("copied"), or why not (the next run's pass tries again). */
  copy?: "copied" | Diagnosis;
}

import { eventBlob, eventBlobFacts, eventFolder } from "../eventLayout.js";

export {
  type EventBackup,
  EventsFolder,
  eventBackupsIn,
  eventBackupsOf,
  eventBlob,
  eventBlobFacts,
  eventFolder,
  eventsPrefix,
} from "../eventLayout.js";

/** How much later than an event a backup must be taken to count as holding its version (clock skew). */
const ClockMarginMs = 60_000;

/**
 * The object's event backups; the container made first when it is not there yet (an event before
 * the first run on a new account: the run's storage preflight makes it the same way).
 */
async function listMakingContainer(deps: EngineDeps, folder: string, signal?: SignalLike) {
  try {
    return await deps.blobs.list(folder, signal);
  } catch (e) {
    if (!(isStorageFailure(e) && e.failure?.status === 404 && e.failure.code === "ContainerNotFound"))
      throw e;
    await deps.blobs.probe(signal);
    return deps.blobs.list(folder, signal);
  }
}

async function backupEventOnce(
  given: EngineDeps,
  event: VaultEvent,
  signal?: SignalLike,
): Promise<EventResult> {
  let deps = await withFleet(given, signal);
  const base = {
    vault: event.vault,
    kind: event.kind,
    name: event.name,
    version: event.version,
    eventAt: event.at,
  };
  // A vault tagged or made since the fleet was read: read it again (at most once a minute, so a
  // burst of events from a vault outside the fleet does not become a burst of ARM calls).
  if (!findVault(deps.config, event.vault) && deps.config.subscriptions.length > 0)
    deps = await withFleet(given, signal, { maxAgeMs: 60_000 });
  const vault = findVault(deps.config, event.vault);
  if (!vault) {
    // Discovery could not read a subscription: the vault may be one of its own. Thrown (retryable):
    // the queue delivers the event again, never drops it.
    if ((deps as { fleet?: Fleet }).fleet?.unread.length) throw notInFleet(deps, event.vault);
    return { ...base, outcome: "not-protected", reason: "its vault is not in the fleet" };
  }
  if (!deps.config.kinds.includes(event.kind))
    return { ...base, outcome: "not-protected", reason: `BACKUP_KINDS does not include ${event.kind}` };
  const folder = eventFolder(vault.name, event.kind, event.name);
  const held = [...(await listMakingContainer(deps, folder, signal)).keys()].find((path) => {
    const f = eventBlobFacts(path);
    // Taken well after the event (Key Vault's clock and ours may differ by a little): it holds the version.
    return (
      f !== undefined &&
      (f.version === event.version || Date.parse(f.startedAt) >= Date.parse(event.at) + ClockMarginMs)
    );
  });
  if (held) return { ...base, outcome: "duplicate", blob: held };
  const object = objectLabel(event.kind, event.name);
  // Key Vault's backup holds at least what existed when the call started (a version made while it
  // runs may be in it or not: it must not count as held), and nothing newer than its end.
  const startedAt = deps.now();
  let bytes: Uint8Array;
  try {
    const held = await withEventHold(given, deps, vault, (pace) =>
      deps.vaults(vault, pace, {}).backup(event.kind, event.name, signal),
    );
    if (!held)
      return {
        ...base,
        outcome: "deferred",
        reason:
          "another instance is backing up this vault's events, or runs hold its subscription's whole budget",
      };
    bytes = held.value;
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    const d = diagnosisOf(e, { vault: vault.name, object });
    if (d?.code === "ManagedByCertificate")
      return { ...base, outcome: "not-protected", reason: "its certificate's backup holds it", diagnosis: d };
    if (d?.code === "ObjectNotFound")
      return { ...base, outcome: "gone", reason: "deleted before its backup", diagnosis: d };
    throw e;
  }
  const blob = eventBlob(vault.name, event.kind, event.name, deps.now(), event.version, startedAt);
  const written = await deps.blobs.putOnce(
    blob,
    bytes,
    { sha256: sha256Hex(bytes), eventAt: event.at },
    signal,
  );
  return written ? { ...base, outcome: "backed-up", blob } : { ...base, outcome: "duplicate", blob };
}

/** Events being backed up now, per deps: a second delivery of one while the first is under way waits for it. */
const inFlight = new WeakMap<EngineDeps, Map<string, Promise<EventResult>>>();

/**
 * Backs up the object one event names, once (see backupEventOnce); the same version delivered
 * twice at once in this process is backed up once, the second answered as its duplicate. (Two
 * instances of the app may still each write one: two blobs of the same state, nothing lost.)
 */
export async function backupEvent(
  given: EngineDeps,
  event: VaultEvent,
  signal?: SignalLike,
): Promise<EventResult> {
  const running = inFlight.get(given) ?? new Map<string, Promise<EventResult>>();
  inFlight.set(given, running);
  const key = `${event.vault}/${event.kind}/${event.name.toLowerCase()}/${event.version}`;
  const first = running.get(key);
  if (first) {
    const r = await first;
    return r.outcome === "backed-up" ? { ...r, outcome: "duplicate" } : r;
  }
  const work = backupEventOnce(given, event, signal).then(async (r) =>
    r.outcome === "backed-up" && r.blob && given.copy
      ? { ...r, copy: await copyEventBackup(given, r.blob, signal) }
      : r,
  );
  running.set(key, work);
  try {
    return await work;
  } finally {
    running.delete(key);
  }
}
