import type { Diagnosis } from "../domain/diagnosis.js";

/** What Event Grid's dead letters say, summed up (backup/events/deadLetters.ts). */
export interface DeadLetterFacts {
  container: string;
  blobs: number;
  /** More blobs than were read. */
  more: boolean;
  events: number;
  /** The oldest blob's time (or the oldest event's publish time). */
  oldest?: string;
  /** Last HTTP status of the delivery, with how many events had it. */
  statuses: Record<string, number>;
  reasons: Record<string, number>;
  vaults: string[];
}

const counted = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ×${n}`)
    .join(", ");

/** Why Event Grid could not deliver, from the delivery's last status: the likely cause, in words. */
function likelyCause(statuses: Record<string, number>): string {
  if (statuses["403"])
    return "403 means the backup account refused Event Grid: its firewall must allow trusted Microsoft services (bypass AzureServices; Event Grid delivers with the system topic's system-assigned identity only then), and the system topic's identity needs Storage Queue Data Message Sender on the queue";
  if (statuses["404"])
    return "404 means the events queue is not there (deleted, or renamed in BACKUP_EVENTS_QUEUE but not in the event subscription)";
  if (statuses["401"])
    return "401 means the event subscription does not deliver with the system topic's managed identity";
  return "the queue did not accept them within the subscription's retry policy (its attempts or time to live ran out)";
}

/** Events Event Grid could not deliver to the events queue: continuous protection did not back them up. */
export function eventsDeadLettered(f: DeadLetterFacts): Diagnosis {
  const vaults = f.vaults.length
    ? ` from ${f.vaults.slice(0, 5).join(", ")}${f.vaults.length > 5 ? ` and ${f.vaults.length - 5} more` : ""}`
    : "";
  const statuses = Object.keys(f.statuses).length ? `; last delivery status ${counted(f.statuses)}` : "";
  const reasons = Object.keys(f.reasons).length ? `; reasons ${counted(f.reasons)}` : "";
  return {
    code: "EventsDeadLettered",
    cause: `${f.events} Key Vault event(s) in ${f.more ? "over " : ""}${f.blobs} dead letter(s) in container '${f.container}'${vaults}${f.oldest ? `, the oldest from ${f.oldest}` : ""}: Event Grid could not deliver them to the events queue, so continuous protection did not back those versions up (the next daily run takes them from Key Vault)${statuses}${reasons}. ${likelyCause(f.statuses)}.`,
    fix: "Fix the delivery (docs/troubleshooting.md#eventsdeadlettered), then run `kvbackup events --replay-dead-letters`: it backs up what each dead letter names and removes the ones it has taken care of.",
  };
}
