import type { Caller } from "./errors.js";
import type { OperationInfo } from "./operations.js";
import type { Vault } from "./vault.js";

export interface RequestContext {
  vault: Vault;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  apiVersion: string;
  caller: Caller;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  /** Segments; "{x}" captures, "{x?}" captures an optional last segment. */
  pattern: string[];
  op: OperationInfo;
  /** The object a role assignment scoped to one object must match, e.g. "secrets/{name}". */
  objectPath?: (params: Record<string, string>) => string;
  handler: (ctx: RequestContext) => HandlerResult;
}

export const route = (
  method: string,
  path: string,
  op: OperationInfo,
  handler: Route["handler"],
  objectPath?: Route["objectPath"],
): Route => ({
  method,
  pattern: path.split("/").filter(Boolean),
  op,
  handler,
  ...(objectPath ? { objectPath } : {}),
});

export interface Match {
  route: Route;
  params: Record<string, string>;
}

/** First route whose method and segments match; literal segments win because routes are listed before captures. */
export function match(
  routes: readonly Route[],
  method: string,
  pathname: string,
): Match | "methodNotAllowed" | undefined {
  const segments = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  let pathMatched = false;
  for (const r of routes) {
    const params: Record<string, string> = {};
    const optional = r.pattern[r.pattern.length - 1]?.endsWith("?}") ?? false;
    const min = optional ? r.pattern.length - 1 : r.pattern.length;
    if (segments.length < min || segments.length > r.pattern.length) continue;
    const ok = r.pattern.every((p, i) => {
      const s = segments[i];
      if (p.startsWith("{")) {
        if (s === undefined) return p.endsWith("?}");
        params[p.replace(/[{}?]/g, "")] = s;
        return true;
      }
      return s !== undefined && s.toLowerCase() === p;
    });
    if (!ok) continue;
    pathMatched = true;
    if (r.method === method) return { route: r, params };
  }
  return pathMatched ? "methodNotAllowed" : undefined;
}
