import { z } from "zod";

/**
 * An https URL that names a service root: no user or password, no path beyond "/", no query or
 * fragment (a token or a secret in a URL would end up in logs). Returned as its origin.
 */
export function serviceUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `'${raw.slice(0, 80)}' is not a URL`;
  }
  if (url.protocol !== "https:") return `'${url.origin}' must be https`;
  if (url.username || url.password) return `a URL must not carry a user name or password`;
  if (url.search || url.hash) return `'${url.origin}' must not carry a query or fragment`;
  return undefined;
}

/** A service root URL (https, no credentials, no query); a path is refused unless `allowPath` (storage account paths on emulators). */
export const serviceUrl = (allowPath = false) =>
  z
    .string()
    .trim()
    .superRefine((s, ctx) => {
      const problem =
        serviceUrlProblem(s) ??
        (!allowPath && new URL(s).pathname !== "/" ? `'${s}' must not carry a path` : undefined);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform((s) => s.replace(/\/+$/, ""));

/** A whole number written in plain decimal digits (not 1e3, 0x64, " 7 " or 12.0). */
export const decimal = (min: number, max: number, what: string) =>
  z
    .string()
    .trim()
    .refine(
      (s) => /^\d{1,9}$/.test(s) && Number(s) >= min && Number(s) <= max,
      `a whole number from ${min} to ${max}${what}`,
    )
    .transform(Number);

export const optionalText = z
  .string()
  .optional()
  .transform((s) => (s?.trim() ? s.trim() : undefined));

export const boolText = (hint: string) =>
  z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .refine((s) => s === "true" || s === "false", `true or false${hint}`)
    .transform((s) => s === "true");

const Guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const connectionParts = (cs: string): string[] =>
  cs
    .split(";")
    .map((p) => p.trim())
    .filter(Boolean);

/**
 * The connection string as the Azure Monitor exporter reads it: its parser splits on ';' and '='
 * and trims nothing, so "InstrumentationKey=<guid> ;..." would stop the app at load. Spaces around
 * each key and value go.
 */
export const normalConnectionString = (cs: string): string =>
  connectionParts(cs)
    .map((p) => `${p.slice(0, p.indexOf("=")).trim()}=${p.slice(p.indexOf("=") + 1).trim()}`)
    .join(";");

/** An Application Insights connection string: Key=Value pairs with an InstrumentationKey GUID and https endpoints. */
export function appInsightsProblem(cs: string): string | undefined {
  const parts = connectionParts(cs);
  if (parts.some((p) => !p.includes("=") || !p.slice(0, p.indexOf("=")).trim()))
    return "not a connection string (Key=Value pairs separated by ';')";
  const pairs = parts.map(
    (p) => [p.slice(0, p.indexOf("=")).trim().toLowerCase(), p.slice(p.indexOf("=") + 1).trim()] as const,
  );
  const repeated = pairs.map(([k]) => k).find((k, i, all) => all.indexOf(k) !== i);
  if (repeated) return `${repeated} is given twice`;
  const map = new Map(pairs);
  if (!Guid.test(map.get("instrumentationkey") ?? ""))
    return "InstrumentationKey=<GUID> is missing or not a GUID";
  for (const k of ["ingestionendpoint", "liveendpoint"]) {
    const v = map.get(k);
    if (v !== undefined && serviceUrlProblem(v)) return `${k}: ${serviceUrlProblem(v)}`;
  }
  return undefined;
}

/** An Entra client id (a managed identity's): a GUID. */
export const clientIdText = optionalText.refine(
  (s) => s === undefined || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  "a client id (GUID) of a managed identity",
);
