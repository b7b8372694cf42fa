import { errors } from "./errors.js";
import { type Attributes, nowSeconds, type Tags } from "./model.js";

const NamePattern = /^[0-9a-zA-Z-]{1,127}$/;

export function validName(name: string | undefined): string {
  if (!name || !NamePattern.test(name)) {
    throw errors.badParameter(
      `The request URI contains an invalid name: '${name ?? ""}'. Names must be 1-127 characters of 0-9, a-z, A-Z and -.`,
    );
  }
  return name;
}

export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body))
    throw errors.badParameter("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

export function parseTags(raw: unknown): Tags | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw))
    throw errors.badParameter("Tags must be an object of strings.");
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > 15) throw errors.badParameter("The number of tags exceeds the maximum of 15.");
  for (const [k, v] of entries) {
    if (typeof v !== "string") throw errors.badParameter(`Tag '${k}' must have a string value.`);
    if (k.length > 512 || v.length > 256) throw errors.badParameter(`Tag '${k}' is too long.`);
  }
  return Object.fromEntries(entries) as Tags;
}

const optionalNumber = (v: unknown, field: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw errors.badParameter(`Attribute '${field}' must be a number.`);
  return Math.floor(v);
};

/** New attributes from a create/set body (enabled defaults to true). */
export function newAttributes(raw: unknown): Attributes {
  const a = raw === undefined || raw === null ? {} : bodyObject(raw);
  const now = nowSeconds();
  if (a.enabled !== undefined && typeof a.enabled !== "boolean")
    throw errors.badParameter("Attribute 'enabled' must be a boolean.");
  const attrs: Attributes = { enabled: a.enabled !== false, created: now, updated: now };
  const nbf = optionalNumber(a.nbf, "nbf");
  const exp = optionalNumber(a.exp, "exp");
  if (nbf !== undefined) attrs.nbf = nbf;
  if (exp !== undefined) attrs.exp = exp;
  return attrs;
}

/** Applies an update body's attributes to existing ones. */
export function updateAttributes(existing: Attributes, raw: unknown): Attributes {
  if (raw === undefined || raw === null) return { ...existing, updated: nowSeconds() };
  const a = bodyObject(raw);
  const next: Attributes = { ...existing, updated: nowSeconds() };
  if (a.enabled !== undefined) {
    if (typeof a.enabled !== "boolean") throw errors.badParameter("Attribute 'enabled' must be a boolean.");
    next.enabled = a.enabled;
  }
  const nbf = optionalNumber(a.nbf, "nbf");
  const exp = optionalNumber(a.exp, "exp");
  if (nbf !== undefined) next.nbf = nbf;
  if (exp !== undefined) next.exp = exp;
  return next;
}

export function backupValue(body: unknown): Buffer {
  const b = bodyObject(body);
  if (typeof b.value !== "string" || b.value.length === 0)
    throw errors.badParameter("Property 'value' is required.");
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(b.value)) throw errors.invalidBackup();
  return Buffer.from(b.value, "base64url");
}
