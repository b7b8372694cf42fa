import { type DeadLetterFacts, eventsDeadLettered } from "../../diagnosis/events.js";
import { type DeadLetter, parseDeadLetters, printable } from "../../domain/deadLetter.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { firstLine, isKvBackupError } from "../../domain/errors.js";
import type { SignalLike } from "../../domain/signal.js";
import { isIgnoredEvent } from "../../domain/vaultEvent.js";
import type { EngineDeps } from "../deps.js";
import { backupEvent, countOutcome } from "./backupEvent.js";
import { releaseEventHolds } from "./eventHold.js";

/*
 * Event Grid's dead letters of the events queue (continuous protection): what doctor and
 * /api/health count, and what `kvbackup events --replay-dead-letters` backs up.
 */

/**
 * One dead-letter blob read: its letters, or why it is no dead letter of Event Grid's (too big to
 * read, not its shape), or undefined when it is gone since the listing (a replay took care of it).
 */
async function readLetters(
  store: NonNullable<EngineDeps["deadLetters"]>,
  b: { blob: string; bytes: number },
  signal?: SignalLike,
): Promise<{ letters: DeadLetter[] } | { problem: string } | undefined> {
  let text: string | undefined;
  try {
    text = await store.read(b.blob, b.bytes, signal);
  } catch (e) {
    if (!isKvBackupError(e, "BadRequest")) throw e;
    return { problem: firstLine(e) };
  }
  if (text === undefined) return undefined;
  const parsed = parseDeadLetters(text);
  return "problem" in parsed ? { problem: `not Event Grid's dead letter: ${parsed.problem}` } : parsed;
}

/** How many dead-letter blobs a check reads at most (each is small; more are counted as "more"). */
const CheckBlobs = 200;

/** The dead letters, summed up; undefined when there are none. Storage failures escape. */
export async function deadLetterFacts(
  deps: Pick<EngineDeps, "deadLetters">,
  signal?: SignalLike,
): Promise<DeadLetterFacts | undefined> {
  const store = deps.deadLetters;
  if (!store) return undefined;
  const { blobs, more } = await store.list(CheckBlobs, signal);
  if (blobs.length === 0) return undefined;
  const facts: DeadLetterFacts = {
    container: store.container,
    blobs: blobs.length,
    more,
    events: 0,
    statuses: {},
    reasons: {},
    vaults: [],
  };
  const vaults = new Set<string>();
  const times: string[] = [];
  for (const b of blobs) {
    const read = await readLetters(store, b, signal);
    // Gone since the listing (a replay took care of it): not a dead letter any more.
    if (!read) {
      facts.blobs--;
      continue;
    }
    // Unreadable: an event (or more) Event Grid could not deliver all the same.
    if ("problem" in read) {
      facts.events++;
      continue;
    }
    if (b.lastModified) times.push(b.lastModified);
    for (const l of read.letters) {
      facts.events++;
      if (l.lastStatus !== undefined) facts.statuses[l.lastStatus] = (facts.statuses[l.lastStatus] ?? 0) + 1;
      if (l.reason) facts.reasons[l.reason] = (facts.reasons[l.reason] ?? 0) + 1;
      if (l.publishedAt) times.push(l.publishedAt);
      if (l.event && !isIgnoredEvent(l.event)) vaults.add(l.event.vault);
    }
  }
  if (facts.blobs === 0) return undefined;
  facts.vaults = [...vaults].sort();
  const oldest = times.sort()[0];
  if (oldest) facts.oldest = oldest;
  return facts;
}

/** The doctor / health check: ok with none, else EventsDeadLettered. */
export async function deadLetterCheck(
  deps: Pick<EngineDeps, "deadLetters">,
  signal?: SignalLike,
): Promise<{ ok: true } | { ok: false; diagnosis: Diagnosis }> {
  const facts = await deadLetterFacts(deps, signal);
  return facts ? { ok: false, diagnosis: eventsDeadLettered(facts) } : { ok: true };
}

/** What `kvbackup events --replay-dead-letters` did. */
export interface ReplayResult {
  /** Dead-letter blobs read. */
  blobs: number;
  events: number;
  backedUp: number;
  duplicates: number;
  /** Not work (another event type), not protected, or gone. */
  skipped: number;
  /** Not backed up now (the vault's event hold was another instance's, or runs held the whole budget): kept for the next replay. */
  deferred: number;
  failed: number;
  /** Dead-letter blobs removed: every event in them taken care of. */
  removed: number;
  /** Kept: an event failed, or the blob cannot be read as Event Grid's dead letter. */
  kept: number;
  /** More dead letters wait than one replay reads (run it again). */
  more: boolean;
  failures: { blob: string; message: string }[];
}

/** How many dead-letter blobs one replay takes on. */
const ReplayBlobs = 1000;

/**
 * Backs up what each dead letter names, as the event function would have (each version once: one
 * already held is a duplicate), and removes a dead letter once every event in it is taken care of.
 * A blob that is not Event Grid's dead letter, or whose event fails, is kept and named.
 */
export async function replayDeadLetters(deps: EngineDeps, signal?: SignalLike): Promise<ReplayResult> {
  const store = deps.deadLetters;
  const r: ReplayResult = {
    blobs: 0,
    events: 0,
    backedUp: 0,
    duplicates: 0,
    skipped: 0,
    deferred: 0,
    failed: 0,
    removed: 0,
    kept: 0,
    more: false,
    failures: [],
  };
  if (!store) return r;
  try {
    return await replay(deps, store, r, signal);
  } finally {
    // A replay is a process of its own (the CLI): its vaults' event holds go with it.
    await releaseEventHolds(deps);
  }
}

async function replay(
  deps: EngineDeps,
  store: NonNullable<EngineDeps["deadLetters"]>,
  r: ReplayResult,
  signal?: SignalLike,
): Promise<ReplayResult> {
  const { blobs, more } = await store.list(ReplayBlobs, signal);
  r.more = more;
  for (const b of blobs) {
    r.blobs++;
    const keep = (message: string): void => {
      r.kept++;
      r.failures.push({ blob: b.blob, message });
    };
    const read = await readLetters(store, b, signal);
    // Gone since the listing: another replay took care of it.
    if (!read) {
      r.blobs--;
      continue;
    }
    if ("problem" in read) {
      keep(read.problem);
      continue;
    }
    let done = true;
    for (const l of read.letters) {
      r.events++;
      if (!l.event) {
        // Not a Key Vault event we can read: nothing to back up; the blob stays for a person to see.
        r.failed++;
        done = false;
        // (The problem is printable already: parseDeadLetters made it so.)
        r.failures.push({ blob: b.blob, message: l.problem ?? "not a Key Vault event" });
        continue;
      }
      if (isIgnoredEvent(l.event)) {
        countOutcome(r, l.event);
        continue;
      }
      try {
        const result = await backupEvent(deps, l.event, signal);
        countOutcome(r, result);
        if (result.outcome === "deferred") {
          done = false;
          r.failures.push({
            blob: b.blob,
            message: `${l.event.kind}/${l.event.name} deferred: ${result.reason ?? "its vault's event hold is taken"}; replay again in a minute`,
          });
        }
      } catch (e) {
        if (signal?.aborted) throw e;
        r.failed++;
        done = false;
        r.failures.push({ blob: b.blob, message: printable(firstLine(e)) });
      }
    }
    if (done) {
      await store.remove(b.blob, signal);
      r.removed++;
    } else r.kept++;
  }
  return r;
}
