import { firstLine, isKvBackupError, KvBackupError } from "../../domain/errors.js";
import type { SignalLike } from "../../domain/signal.js";
import { isIgnoredEvent, parseVaultEvent } from "../../domain/vaultEvent.js";
import type { EngineDeps } from "../deps.js";
import { Pool } from "../pool.js";
import type { QueuedMessage } from "../ports.js";
import { backupEvent, countOutcome, type EventResult } from "./backupEvent.js";
import { releaseEventHolds } from "./eventHold.js";

/** What `kvbackup events --drain` did: the scripts' contract is {processed, backedUp, duplicates, failed}. */
export interface DrainResult {
  processed: number;
  backedUp: number;
  duplicates: number;
  /** Not work (another event type), not protected (vault, kind, a certificate's own key or secret), or gone. */
  skipped: number;
  /** Put back on the queue for later: the vault's event hold was another instance's, or runs held the whole budget. */
  deferred: number;
  failed: number;
  /**
   * About how many messages are still on the queue when the drain ends: those that failed (hidden
   * for a while, then delivered again) and any that arrived meanwhile.
   */
  left: number;
  /** Each message that failed (left on the queue: retried, then poisoned, as the function would). */
  failures: { messageId: string; code: string; message: string }[];
}

/** How long a message stays hidden while a drain works on it: past that, another reader may take it. */
const HideSeconds = 300;

/**
 * One event message, as the function handles it: an event backed up (or a duplicate, or not work)
 * is removed; one that fails stays, to be delivered again and, at last, poisoned.
 */
export async function handleEventMessage(
  deps: EngineDeps,
  message: unknown,
  signal?: SignalLike,
): Promise<EventResult | { ignored: string }> {
  const event = parseVaultEvent(message);
  if (isIgnoredEvent(event)) return event;
  return backupEvent(deps, event, signal);
}

/**
 * Works off what waits on the events queue now (a backlog after an outage), as the event function
 * does, at the vaults' pace: every message once; a message that fails is counted and left on the
 * queue (hidden for a while, so the drain ends).
 */
export async function drainEvents(
  deps: EngineDeps,
  signal?: SignalLike,
  options: { onEvent?: (result: EventResult) => void } = {},
): Promise<DrainResult> {
  const queue = deps.events;
  if (!queue)
    throw new KvBackupError("BadRequest", "BACKUP_EVENTS_QUEUE is not set: continuous protection is off");
  const r: DrainResult = {
    processed: 0,
    backedUp: 0,
    duplicates: 0,
    skipped: 0,
    deferred: 0,
    failed: 0,
    left: 0,
    failures: [],
  };
  const seen = new Set<string>();
  const pool = new Pool(deps.tuning.concurrency);
  const one = async (m: QueuedMessage): Promise<void> => {
    r.processed++;
    try {
      const done = await handleEventMessage(deps, m.text, signal);
      // Deferred: back on the queue for later (first, so that nothing is lost if the remove fails).
      const deferred = !("ignored" in done) && done.outcome === "deferred";
      if (deferred) await queue.sendLater(m.text, deps.tuning.eventDeferSeconds, signal);
      // Counted once the message is off the queue: a remove refused leaves it there, a failure.
      await queue.remove(m, signal);
      if (!("ignored" in done)) options.onEvent?.(done);
      countOutcome(r, done);
    } catch (e) {
      if (isKvBackupError(e, "Aborted", "LeaseLost")) throw e;
      r.failed++;
      const code = isKvBackupError(e) ? e.code : "Unknown";
      r.failures.push({ messageId: m.id, code, message: firstLine(e, 300) });
    }
  };
  try {
    for (;;) {
      const fresh = (await queue.receive(32, HideSeconds, signal)).filter((m) => !seen.has(m.id));
      if (fresh.length === 0) break;
      for (const m of fresh) {
        seen.add(m.id);
        await pool.submit(() => one(m));
      }
      await pool.drain();
    }
  } finally {
    // A drain is a process of its own (the CLI): its vaults' event holds go with it.
    await releaseEventHolds(deps);
  }
  r.left = await queue.waiting(signal);
  return r;
}
