import { KvBackupError } from "./errors.js";
import { isVaultName, ObjectNamePattern, parseInstant } from "./rules.js";
import type { Kind } from "./vocabulary.js";

/*
 * Continuous protection's input (issue 23, groundwork): a Key Vault "new version" event as Event
 * Grid writes it to a storage queue. Read as the service documents it
 * (learn.microsoft.com/azure/event-grid/event-schema-key-vault): the Event Grid schema (eventType,
 * eventTime, data) or the CloudEvents 1.0 schema (type, time, data); data's keys as the sample
 * prints them (Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP) — read case-insensitively
 * and trimmed, since the documented sample itself carries "ObjectName " and " <version>". The
 * queue message is the event's JSON, Base64-encoded (what Event Grid writes today) or plain (what
 * it wrote before; the docs still say so).
 */

/** The three event types continuous protection backs up, and the kind each names. */
export const NewVersionEvents: Readonly<Record<string, Kind>> = {
  "Microsoft.KeyVault.SecretNewVersionCreated": "secrets",
  "Microsoft.KeyVault.KeyNewVersionCreated": "keys",
  "Microsoft.KeyVault.CertificateNewVersionCreated": "certificates",
};

/** A new version of one object, as its event names it. */
export interface VaultEvent {
  /** Event Grid's id of the event: a redelivery carries the same one. */
  eventId: string;
  eventType: string;
  /** The vault's name, lower case (the app backs it up at the URL it knows, never the event's). */
  vault: string;
  kind: Kind;
  name: string;
  version: string;
  /** When the version was created, as the event says (ISO 8601). */
  at: string;
}

/** A message that is not work: another event type (near expiry, expired, access policy changed). */
export interface IgnoredEvent {
  ignored: string;
}

const VersionPattern = /^[0-9A-Za-z]{1,64}$/;
/** Key Vault's public hosts, per cloud: the vault's name is the host's first label there. */
const VaultHost = /^([^.]+)\.vault\.(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)$/i;

const Loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);

const bad = (why: string): KvBackupError =>
  new KvBackupError("BadRequest", `not a Key Vault new-version event: ${why}`);

/** The message's JSON: already parsed by the host, JSON text, or Base64 of JSON text. */
function jsonOf(message: unknown): unknown {
  if (typeof message !== "string") return message;
  const text = message.trim();
  try {
    return JSON.parse(text);
  } catch {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw bad("neither JSON nor Base64 of JSON");
    try {
      return JSON.parse(Buffer.from(text, "base64").toString("utf8"));
    } catch {
      throw bad("neither JSON nor Base64 of JSON");
    }
  }
}

/** An object's own fields, keys trimmed and lower-cased; string values trimmed. */
function fieldsOf(o: unknown, what: string): Map<string, unknown> {
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw bad(`${what} is not an object`);
  return new Map(
    Object.entries(o).map(([k, v]) => [k.trim().toLowerCase(), typeof v === "string" ? v.trim() : v]),
  );
}

const text = (f: Map<string, unknown>, ...keys: string[]): string | undefined => {
  for (const k of keys) {
    const v = f.get(k);
    if (typeof v === "string" && v.length > 0) return v;
  }
  return undefined;
};

/** kind/name/version from the object's id: https://{vault host}/{kind}/{name}/{version}. */
function objectOf(id: string): { host: string; kind: string; name: string; version: string } {
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    throw bad(`data.Id '${id.slice(0, 80)}' is not a URL`);
  }
  const [kind, name, version, ...rest] = url.pathname.split("/").filter(Boolean);
  if (
    url.protocol !== "https:" ||
    url.username ||
    url.password ||
    !kind ||
    !name ||
    !version ||
    rest.length > 0
  )
    throw bad(`data.Id '${id.slice(0, 80)}' is not https://<vault>/<kind>/<name>/<version>`);
  return { host: url.hostname, kind, name, version };
}

/**
 * One queue message read as a new-version event, or as an event that is not work (ignored, with
 * what it was). Anything else is a BadRequest naming what is wrong: the message is not retried
 * into a backup of something it does not name. The event is checked against itself: its type, its
 * object id and its data fields must name the same kind, vault, name and version.
 */
export function parseVaultEvent(message: unknown): VaultEvent | IgnoredEvent {
  let json = jsonOf(message);
  if (Array.isArray(json)) {
    if (json.length !== 1) throw bad(`an array of ${json.length} events (Event Grid queues one per message)`);
    json = json[0];
  }
  const e = fieldsOf(json, "the event");
  const eventType = text(e, "eventtype", "type");
  if (!eventType) throw bad("no eventType (Event Grid schema) or type (CloudEvents)");
  const kind = Object.hasOwn(NewVersionEvents, eventType) ? NewVersionEvents[eventType] : undefined;
  if (!kind) return { ignored: eventType.slice(0, 100) };
  const eventId = text(e, "id");
  const at = text(e, "eventtime", "time");
  if (!eventId) throw bad("no id");
  const time = at === undefined ? undefined : parseInstant(at);
  if (!time) throw bad("no eventTime/time, or not an ISO 8601 time with its zone");
  const data = fieldsOf(e.get("data"), "data");
  const id = text(data, "id");
  if (!id) throw bad("no data.Id");
  const object = objectOf(id);
  const vault = (text(data, "vaultname") ?? VaultHost.exec(object.host)?.[1] ?? "").toLowerCase();
  if (!isVaultName(vault)) throw bad(`data.VaultName '${vault.slice(0, 40)}' is not a vault name`);
  const hostVault = VaultHost.exec(object.host)?.[1]?.toLowerCase();
  if (hostVault && hostVault !== vault)
    throw bad(`data.Id is in vault '${hostVault}' but data.VaultName says '${vault}'`);
  // Key Vault's own hosts, or a loopback one (the local stack's emulator); nothing else.
  if (!hostVault && !Loopback.has(object.host))
    throw bad(`data.Id's host '${object.host.slice(0, 60)}' is not a Key Vault host`);
  if (object.kind !== kind) throw bad(`${eventType} names a ${object.kind} object in data.Id`);
  const name = text(data, "objectname") ?? object.name;
  if (name.toLowerCase() !== object.name.toLowerCase() || !ObjectNamePattern.test(object.name))
    throw bad(
      `data.ObjectName '${name.slice(0, 40)}' and data.Id's name '${object.name.slice(0, 40)}' differ or are not names`,
    );
  const version = text(data, "version") ?? object.version;
  if (version !== object.version || !VersionPattern.test(version))
    throw bad(`data.Version '${version.slice(0, 40)}' and data.Id's version differ or are not a version`);
  return {
    eventId: eventId.slice(0, 100),
    eventType,
    vault,
    kind,
    name: object.name,
    version,
    at: time.toISOString(),
  };
}

export const isIgnoredEvent = (e: VaultEvent | IgnoredEvent): e is IgnoredEvent => "ignored" in e;
