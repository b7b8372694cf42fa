import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { z } from "zod";
import { diagnosisOf, type EngineDeps } from "../backup/engine.js";
import type { Caller, Diagnosis } from "../domain/diagnosis.js";
import { KvBackupError } from "../domain/errors.js";

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

const withDiagnosis = (status: number, title: string, d: Diagnosis): HttpResponseInit =>
  problem(status, title, `${d.code}: ${d.cause}`, { diagnosis: d });

const ByCode: Partial<Record<KvBackupError["code"], [number, string]>> = {
  BadRequest: [400, "Bad request"],
  VaultNotAllowed: [400, "Vault not allowed"],
  Forbidden: [403, "Forbidden"],
  NotFound: [404, "Not found"],
  AlreadyRunning: [409, "Already running"],
};

/** The 503's title: which service could not do it. */
const Unavailable: Partial<Record<KvBackupError["code"], string>> = {
  StorageFailed: "Storage unavailable",
  KeyVaultFailed: "Key Vault unavailable",
  ArmFailed: "Azure Resource Manager unavailable",
  DiscoveryIncomplete: "Discovery incomplete",
};

/**
 * Any error a handler meets, as problem+json: the caller's mistakes as 4xx; Storage and Key Vault
 * failures as 503 with their diagnosis; a run that cannot be trusted as 422. Never a 500, never a
 * stack, never the raw body Azure answered with.
 */
export function errorResponse(e: unknown, context: InvocationContext, caller: Caller): HttpResponseInit {
  if (e instanceof KvBackupError) {
    const known = ByCode[e.code];
    if (known) return problem(known[0], known[1], e.message);
    if (e.code === "CorruptManifest" && e.diagnosis)
      return withDiagnosis(422, "Backup cannot be trusted", e.diagnosis);
    const d = diagnosisOf(e, { caller });
    if (d) return withDiagnosis(503, Unavailable[e.code] ?? "Service unavailable", d);
  }
  context.error(`unexpected error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  return problem(
    503,
    "Service unavailable",
    `the request could not be completed; invocation ${context.invocationId} in the logs says why`,
  );
}

const MaxBody = 16 * 1024;

export type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string; response: HttpResponseInit };

/** The JSON body of a request, checked by a schema: refused (400, 413) when too large, not JSON, or not the shape. */
export async function readBody<T>(
  request: { text(): Promise<string> },
  schema: z.ZodType<T>,
): Promise<Parsed<T>> {
  const text = await request.text();
  if (text.length > MaxBody) {
    const detail = `at most ${MaxBody} bytes`;
    return { ok: false, detail, response: problem(413, "Body too large", detail) };
  }
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      return {
        ok: false,
        detail: "body is not valid JSON",
        response: problem(400, "Bad request", "body is not valid JSON"),
      };
    }
  }
  return check(schema, raw);
}

export function check<T>(schema: z.ZodType<T>, raw: unknown): Parsed<T> {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const detail = r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
  return { ok: false, detail, response: problem(400, "Bad request", detail) };
}

/** An HTTP trigger over the engine: whatever fn throws becomes the problem+json errorResponse makes of it. */
export const httpHandler =
  (
    deps: EngineDeps,
    fn: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
  ): HttpHandler =>
  async (request, context) => {
    try {
      return await fn(request, context);
    } catch (e) {
      return errorResponse(e, context, deps.config.caller);
    }
  };
