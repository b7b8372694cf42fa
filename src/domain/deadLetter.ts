import { firstLine } from "./errors.js";
import { type IgnoredEvent, parseVaultEvent, type VaultEvent } from "./vaultEvent.js";

/*
 * Event Grid's dead letters (continuous protection): when it cannot deliver an event to the events
 * queue — refused (403: the firewall, a missing role), the queue missing (404), retries used up — it
 * writes the event, with why, as a JSON array in a blob of the dead-letter container:
 * {container}/{SUBSCRIPTION NAME}/{yyyy}/{m}/{d}/{h}/{guid}.json. Each element is the event in its
 * delivery schema plus deadLetterReason, deliveryAttempts, lastDeliveryOutcome, lastHttpStatusCode,
 * publishTime and lastDeliveryAttemptTime (learn.microsoft.com/azure/event-grid/delivery-and-retry).
 */

/** One dead-lettered event: what it names (or why it names nothing we can read), and why it was not delivered. */
export interface DeadLetter {
  event?: VaultEvent | IgnoredEvent;
  /** The event cannot be read as a Key Vault event: why. */
  problem?: string;
  reason?: string;
  attempts?: number;
  lastStatus?: number;
  lastOutcome?: string;
  /** When Event Grid took the event in (ISO 8601), when it says. */
  publishedAt?: string;
}

const field = (o: Record<string, unknown>, name: string): unknown => {
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : o[key];
};
/** Text from a dead letter, safe to print: control characters (terminal escapes) become "?". */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
const shortText = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() ? printable(v.trim().slice(0, 200)) : undefined;
/** A publish time worth saying: an ISO 8601 time of a four-digit year. */
const timeText = (v: unknown): string | undefined =>
  typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v.trim()) && !Number.isNaN(Date.parse(v.trim()))
    ? new Date(v.trim()).toISOString()
    : undefined;
const wholeNumber = (v: unknown): number | undefined => {
  const n = typeof v === "string" && /^\d{1,9}$/.test(v.trim()) ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : undefined;
};

/** A dead-letter blob's text read as its events; a blob that is not a JSON array of objects is a problem, named. */
export function parseDeadLetters(text: string): { letters: DeadLetter[] } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: "not JSON" };
  }
  const list = Array.isArray(json) ? json : [json];
  if (list.length === 0) return { problem: "an empty array" };
  const letters: DeadLetter[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null || Array.isArray(item))
      return { problem: "an element is not an event object" };
    const o = item as Record<string, unknown>;
    const why = {
      ...(shortText(field(o, "deadLetterReason")) ? { reason: shortText(field(o, "deadLetterReason")) } : {}),
      ...(wholeNumber(field(o, "deliveryAttempts")) !== undefined
        ? { attempts: wholeNumber(field(o, "deliveryAttempts")) }
        : {}),
      ...(wholeNumber(field(o, "lastHttpStatusCode")) !== undefined
        ? { lastStatus: wholeNumber(field(o, "lastHttpStatusCode")) }
        : {}),
      ...(shortText(field(o, "lastDeliveryOutcome"))
        ? { lastOutcome: shortText(field(o, "lastDeliveryOutcome")) }
        : {}),
      ...(timeText(field(o, "publishTime")) ? { publishedAt: timeText(field(o, "publishTime")) } : {}),
    } as Omit<DeadLetter, "event" | "problem">;
    try {
      letters.push({ event: parseVaultEvent(o), ...why });
    } catch (e) {
      letters.push({ problem: printable(firstLine(e)), ...why });
    }
  }
  return { letters };
}
