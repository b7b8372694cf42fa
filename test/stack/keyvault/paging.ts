import { errors } from "./errors.js";
import type { StoredObject, VersionBase } from "./model.js";
import type { RequestContext } from "./router.js";

export interface Page<T> {
  value: T[];
  nextLink: string | null;
}

const pad = (n: number): string => String(n).padStart(6, "0");

/** Encodes a $skiptoken the way the service does (a base64 JSON whose NextMarker names the next item). */
export function encodeSkipToken(kind: string, marker: string): string {
  const inner = `${pad(kind.length + 1 + marker.length)}!${kind}/${marker}!000028!9999-12-31T23:59:59.9999999Z!`;
  // The service pads the inner marker with "-" where base64 has "=".
  const innerB64 = Buffer.from(inner)
    .toString("base64")
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "-");
  return Buffer.from(JSON.stringify({ NextMarker: `2!${innerB64.length}!${innerB64}`, TargetLocation: 0 }))
    .toString("base64url")
    .replace(/=+$/, "");
}

export function decodeSkipToken(token: string, kind: string): string {
  try {
    const outer = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { NextMarker?: unknown };
    if (typeof outer.NextMarker !== "string") throw new Error("marker");
    const b64 = outer.NextMarker.split("!")[2] ?? "";
    const inner = Buffer.from(b64, "base64url").toString("utf8");
    const prefix = `${kind}/`;
    const body = inner.split("!")[1] ?? "";
    if (!body.startsWith(prefix)) throw new Error("kind");
    return body.slice(prefix.length);
  } catch {
    throw errors.badParameter("The $skiptoken parameter is invalid.");
  }
}

/**
 * Pages a list sorted by marker: `maxresults` 1-25 (default 25), absolute nextLink carrying api-version and
 * $skiptoken, `nextLink: null` on the last page.
 */
export function page<T>(
  items: readonly T[],
  markerOf: (item: T) => string,
  query: URLSearchParams,
  link: {
    baseUrl: string;
    path: string;
    apiVersion: string;
    kind: string;
    extra?: Record<string, string>;
    /** Return fewer items than asked for now and then, as the service may: clients must follow nextLink. */
    shortPages?: boolean;
  },
): Page<T> {
  const raw = query.get("maxresults");
  let max = 25;
  if (raw !== null) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 25) {
      throw errors.badParameter(
        `Invalid value for maxresults: '${raw}'. The value must be between 1 and 25.`,
      );
    }
    max = n;
  }
  const token = query.get("$skiptoken");
  let start = 0;
  if (token) {
    const marker = decodeSkipToken(token, link.kind);
    // Items are sorted by marker: binary search for the first one at or after it.
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (markerOf(items[mid] as T) < marker) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  // Short pages vary with where the page starts, the same every time (a test's page count cannot
  // depend on chance): for 80 items at 25, pages of 12, 21, 18, 19, 2 and 8.
  const size = link.shortPages ? 1 + ((start * 7 + 11) % max) : max;
  const value = items.slice(start, start + size);
  const next = items[start + size];
  let nextLink: string | null = null;
  if (next !== undefined) {
    const params = new URLSearchParams({ "api-version": link.apiVersion, ...link.extra });
    if (raw !== null) params.set("maxresults", String(max));
    nextLink = `${link.baseUrl}${link.path}?${params.toString()}&$skiptoken=${encodeSkipToken(link.kind, markerOf(next))}`;
  }
  return { value, nextLink };
}

/** page() for a route: the vault's base URL, the request's api-version, and the vault's short-page setting. */
export function pageFor<T>(
  ctx: RequestContext,
  items: readonly T[],
  markerOf: (item: T) => string,
  path: string,
  kind: string,
  extra?: Record<string, string>,
): Page<T> {
  return page(items, markerOf, ctx.query, {
    baseUrl: ctx.vault.baseUrl,
    path,
    apiVersion: ctx.apiVersion,
    kind,
    shortPages: ctx.vault.config.shortPages,
    ...(extra ? { extra } : {}),
  });
}

/** An object's versions in creation order, each with a sortable marker for paging. */
export const versionEntries = <V extends VersionBase>(
  o: StoredObject<V> | undefined,
): { v: V; marker: string }[] =>
  o
    ? o.versions.map((v, i) => ({ v, marker: `${String(i).padStart(6, "0")}${v.version.toUpperCase()}` }))
    : [];
