import type { HttpResponseInit } from "@azure/functions";
import { isKvBackupError } from "../errors.js";

/** RFC 9457 problem details. */
export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): HttpResponseInit {
  return {
    status,
    headers: { "content-type": "application/problem+json" },
    body: JSON.stringify({ type: "about:blank", title, status, detail, ...extra }),
  };
}

export const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponseInit => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** Any error a handler did not expect: a 500 that says what, never a stack or a secret. */
export function errorResponse(e: unknown): HttpResponseInit {
  if (isKvBackupError(e, "BadRequest")) return problem(400, "Bad request", e.message);
  if (isKvBackupError(e, "NotFound")) return problem(404, "Not found", e.message);
  if (isKvBackupError(e, "VaultNotAllowed")) return problem(400, "Vault not allowed", e.message);
  if (isKvBackupError(e, "BadSettings")) return problem(500, "Bad settings", e.message);
  return problem(500, "Internal error", e instanceof Error ? (e.message.split("\n")[0] ?? "error") : "error");
}

const MaxBody = 16 * 1024;

/** The JSON body of a request, refused when too large or not JSON. */
export async function readJson(request: { text(): Promise<string> }): Promise<unknown> {
  const text = await request.text();
  if (text.length > MaxBody) throw Object.assign(new Error("body too large"), { status: 413 });
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw Object.assign(new Error("body is not valid JSON"), { status: 400 });
  }
}
