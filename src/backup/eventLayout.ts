import type { StoredBlob } from "../domain/objects.js";
import type { SignalLike } from "../domain/signal.js";
import { isKind, type Kind } from "../domain/vocabulary.js";
import type { BlobStore } from "./ports.js";

/*
 * Continuous protection's blob layout (docs/continuous-protection.md): where event backups live,
 * their names, and reading them back from a listing — shared by the event backups themselves, the
 * runs, restore --at, verify, drills and the isolated copy.
 */

/** The folder of the container continuous protection's backups live under. */
export const EventsFolder = "events/";

/** Where a vault's event backups live (and are listed from). */
export const eventsPrefix = (vault: string): string => `${EventsFolder}${vault.toLowerCase()}/`;

/** Where one object's event backups live. */
export const eventFolder = (vault: string, kind: string, name: string): string =>
  `${eventsPrefix(vault)}${kind}/${name.toLowerCase()}/`;

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, "").replace(".", "");

/**
 * An event backup's blob name, and back: when Key Vault's backup call ended (the blob holds nothing
 * newer: point-in-time restore reads this), when it started (the blob holds everything up to then:
 * what counts as held reads this), and which version's event asked for it.
 */
export const eventBlob = (
  vault: string,
  kind: string,
  name: string,
  takenAt: Date,
  version: string,
  startedAt: Date = takenAt,
): string => `${eventFolder(vault, kind, name)}${stamp(takenAt)}-${stamp(startedAt)}-${version}.kvbak`;

const Stamp = "(\\d{8})T(\\d{6})(\\d{3})Z";
const iso = (day: string, time: string, ms: string): string =>
  `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4)}.${ms}Z`;

export function eventBlobFacts(
  path: string,
): { takenAt: string; startedAt: string; version: string } | undefined {
  const m = new RegExp(`/${Stamp}-${Stamp}-([0-9A-Za-z]{1,64})\\.kvbak$`).exec(path);
  if (!m) return undefined;
  const [, d1, t1, ms1, d2, t2, ms2, version] = m as unknown as string[];
  const takenAt = iso(d1 as string, t1 as string, ms1 as string);
  const startedAt = iso(d2 as string, t2 as string, ms2 as string);
  if (Number.isNaN(Date.parse(takenAt)) || Number.isNaN(Date.parse(startedAt)) || startedAt > takenAt)
    return undefined;
  return { takenAt, startedAt, version: version as string };
}

/**
 * An event time a blob's metadata may say: the backup was taken after its event came, so the event
 * is older than the backup's end (give or take a minute of Key Vault's clock against ours). A later one is not
 * believed: the daily run would take the blob for a state it cannot hold.
 */
const plausibleEventAt = (eventAt: string | undefined, takenAt: string): eventAt is string =>
  eventAt !== undefined &&
  !Number.isNaN(Date.parse(eventAt)) &&
  Date.parse(eventAt) <= Date.parse(takenAt) + 60_000;

/** One event backup of a vault, as its blob's path and metadata say. */
export interface EventBackup {
  kind: Kind;
  /** Lower case, as the layout has it. */
  name: string;
  blob: string;
  /** When the backup call ended: the blob holds nothing newer. */
  takenAt: string;
  /** When it started: the blob holds everything up to then. */
  startedAt: string;
  version: string;
  bytes: number;
  sha256?: string;
  etag?: string;
  /** The eventTime of the event it answered (Key Vault's clock), when its metadata says. */
  eventAt?: string;
  /** When Storage created the blob: the writer cannot set it (names and metadata it can). */
  createdOn?: string;
}

/**
 * How much later than a point in time Storage may have created a blob that held the vault as it was
 * then: a run's manifest is copied right after its commit, an event backup written as it is taken
 * (Storage's clock against the app's). A blob created later was not there at that time.
 */
export const CreatedBySlackMs = 5 * 60_000;

/** A blob Storage created after `at` (with the slack): not part of the container as it was then. */
export const createdAfter = (createdOn: string | undefined, at: number): boolean =>
  createdOn !== undefined && Date.parse(createdOn) > at + CreatedBySlackMs;

/**
 * The vault's event backups: only blobs of the documented layout
 * (events/{vault}/{kind}/{name, lower case}/{ended}-{started}-{version}.kvbak); anything else under
 * events/ is no backup of ours.
 */
export async function eventBackupsOf(
  blobs: Pick<BlobStore, "list">,
  vault: string,
  signal?: SignalLike,
): Promise<EventBackup[]> {
  return eventBackupsIn(await blobs.list(eventsPrefix(vault), signal), vault);
}

/** The event backups among a listing of the vault's events prefix (the rest is no backup of ours). */
export function eventBackupsIn(listing: ReadonlyMap<string, StoredBlob>, vault: string): EventBackup[] {
  const v = vault.toLowerCase();
  const out: EventBackup[] = [];
  for (const [blob, stored] of listing) {
    const [top, folder, kind, name, file, ...rest] = blob.split("/");
    const facts = eventBlobFacts(blob);
    if (top !== "events" || folder !== v || !kind || !name || !file || rest.length > 0 || !facts) continue;
    if (!isKind(kind) || !/^[0-9a-z-]{1,127}$/.test(name)) continue;
    out.push({
      kind,
      name,
      blob,
      ...facts,
      bytes: stored.bytes,
      ...(stored.sha256 ? { sha256: stored.sha256 } : {}),
      ...(stored.etag ? { etag: stored.etag } : {}),
      ...(stored.createdOn ? { createdOn: stored.createdOn } : {}),
      ...(plausibleEventAt(stored.eventAt, facts.takenAt) ? { eventAt: stored.eventAt } : {}),
    });
  }
  return out;
}
