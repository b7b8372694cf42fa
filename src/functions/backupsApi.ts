import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { z } from "zod";
import { RunIdPattern } from "../backup/runId.js";
import { findVault, Kinds } from "../config.js";
import { enqueueBackups } from "./jobs.js";
import { errorResponse, json, problem, readJson } from "./problem.js";
import { getApp } from "./runtime.js";

const PostBody = z
  .object({
    vaults: z
      .array(z.string().regex(/^[0-9A-Za-z-]{1,127}$/))
      .min(1)
      .max(100)
      .optional(),
    kinds: z.array(z.enum(Kinds)).min(1).optional(),
  })
  .strict();

const ListQuery = z.object({
  vault: z
    .string()
    .regex(/^[0-9A-Za-z-]{3,24}$/)
    .optional(),
  status: z.enum(["running", "succeeded", "partial", "failed"]).optional(),
  since: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), "an ISO date or date-time")
    .transform((s) => new Date(s).toISOString())
    .optional(),
  top: z.coerce.number().int().min(1).max(500).optional(),
});

const issues = (e: z.ZodError): string =>
  e.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");

async function guarded(fn: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await fn();
  } catch (e) {
    const status = (e as { status?: unknown }).status;
    if (status === 400 || status === 413)
      return problem(status, status === 413 ? "Body too large" : "Bad request", (e as Error).message);
    return errorResponse(e);
  }
}

/** POST /api/backups {vaults?, kinds?}: queue manual-tier runs, 202 with their ids. */
export async function postBackups(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(async () => {
    const parsed = PostBody.safeParse(await readJson(request));
    if (!parsed.success) return problem(400, "Bad request", issues(parsed.error));
    const app = getApp();
    const names = parsed.data.vaults ?? app.config.vaults.map((v) => v.name);
    const unknown = names.filter((n) => !findVault(app.config, n));
    if (unknown.length > 0) {
      return problem(400, "Vault not allowed", `not in BACKUP_VAULTS: ${unknown.join(", ")}`, {
        allowed: app.config.vaults.map((v) => v.name),
      });
    }
    const vaults = names.map((n) => findVault(app.config, n)).filter((v) => v !== undefined);
    const runs = await enqueueBackups(app, vaults, "manual", "http", parsed.data.kinds);
    return json(
      202,
      { runs: runs.map((r) => ({ ...r, href: `/api/backups/${r.runId}` })) },
      { location: `/api/backups/${runs[0]?.runId ?? ""}` },
    );
  });
}

/** GET /api/backups?vault=&status=&since=&top=: inventory rows, newest first. */
export async function listBackups(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(async () => {
    const parsed = ListQuery.safeParse(Object.fromEntries(request.query.entries()));
    if (!parsed.success) return problem(400, "Bad request", issues(parsed.error));
    const q = parsed.data;
    const runs = await getApp().inventory.list({
      ...(q.vault ? { vault: q.vault } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.top ? { top: q.top } : {}),
    });
    return json(200, { runs });
  });
}

/** GET /api/backups/{runId}: the run's inventory row and, once committed, its manifest. */
export async function getBackup(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(async () => {
    const runId = request.params.runId ?? "";
    if (!RunIdPattern.test(runId))
      return problem(400, "Bad request", `'${runId.slice(0, 64)}' is not a runId (yyyyMMddTHHmmssZ-xxxxxx)`);
    const app = getApp();
    const run = await app.inventory.get(runId);
    if (!run) return problem(404, "Not found", `no run ${runId}`);
    const manifest = await app.store.readManifest(run.manifest);
    return json(200, { run, ...(manifest ? { manifest } : {}) });
  });
}
