import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { z } from "zod";
import { type RestoreEntry, restoreStatus } from "../backup/restore.js";
import { newRunId, RunIdPattern } from "../backup/runId.js";
import { type RestoreReport, type RestoreRequest, resolveRestore, runRestore } from "../backup/runRestore.js";
import { Kinds } from "../config.js";
import { KvBackupError } from "../errors.js";
import { principalName, principalRoles, RestoreRole } from "./principal.js";
import { errorResponse, json, problem, readJson } from "./problem.js";
import { getApp } from "./runtime.js";

export const RestoreIdPattern = /^r\d{8}T\d{6}Z-[a-z2-7]{6}$/;
const ObjectName = /^[0-9A-Za-z-]{1,127}$/;

const Body = z
  .object({
    runId: z
      .string()
      .refine((s) => s === "latest" || RunIdPattern.test(s), "a runId (yyyyMMddTHHmmssZ-xxxxxx) or 'latest'"),
    vault: z.string().regex(/^[0-9A-Za-z-]{3,24}$/),
    targetVault: z
      .string()
      .regex(/^[0-9A-Za-z-]{3,24}$/)
      .optional(),
    kinds: z.array(z.enum(Kinds)).min(1).optional(),
    names: z
      .array(
        z
          .string()
          .refine(
            (n) => ObjectName.test(n) || /^(secrets|keys|certificates)\/[0-9A-Za-z-]{1,127}$/.test(n),
            "NAME or KIND/NAME",
          ),
      )
      .min(1)
      .max(1000)
      .optional(),
    dryRun: z.boolean().optional(),
    onConflict: z.enum(["skip", "fail"]).optional(),
  })
  .strict();

/** What GET /api/restores/{id} shows; kept in the container at restores/{id}.json. */
export interface RestoreState {
  restoreId: string;
  status: "queued" | "running" | RestoreReport["status"];
  request: RestoreRequest;
  requestedBy?: string;
  queuedAt: string;
  updatedAt: string;
  report?: RestoreReport;
  /** Outcomes so far while running (kept if the worker is cut off and the message comes back). */
  progress?: RestoreEntry[];
  error?: string;
}

export const restoreStatePath = (id: string): string => `restores/${id}.json`;

const forbidden = (): HttpResponseInit =>
  problem(
    403,
    "Forbidden",
    `restores need the app role '${RestoreRole}' (assign it to the caller in the Entra app registration)`,
  );

/**
 * POST /api/restores: function key plus the Backup.Restore app role. A dry run answers 200 with
 * the plan; otherwise 202 and a restore id, the work done by restoreWorker. Nothing is queued from
 * a request that fails a check.
 */
export async function postRestores(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  try {
    const app = getApp();
    const principal = request.headers.get("x-ms-client-principal");
    if (app.config.restoreRequireRole && !principalRoles(principal).includes(RestoreRole)) return forbidden();
    let raw: unknown;
    try {
      raw = await readJson(request);
    } catch (e) {
      const status = (e as { status?: number }).status ?? 400;
      return problem(status, status === 413 ? "Body too large" : "Bad request", (e as Error).message);
    }
    const parsed = Body.safeParse(raw);
    if (!parsed.success) {
      return problem(
        400,
        "Bad request",
        parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
      );
    }
    const req = parsed.data as RestoreRequest;
    const resolved = await resolveRestore(app, req);
    if (req.dryRun) return json(200, await runRestore(app, req, { resolved }));
    const restoreId = `r${newRunId()}`;
    const now = new Date().toISOString();
    const requestedBy = principalName(principal);
    const state: RestoreState = {
      restoreId,
      status: "queued",
      request: req,
      ...(requestedBy ? { requestedBy } : {}),
      queuedAt: now,
      updatedAt: now,
    };
    await app.store.putJson(restoreStatePath(restoreId), state);
    await app.restoreJobs.send({ restoreId });
    return json(
      202,
      { restoreId, status: "queued", href: `/api/restores/${restoreId}` },
      { location: `/api/restores/${restoreId}` },
    );
  } catch (e) {
    return errorResponse(e);
  }
}

/** GET /api/restores/{id}: per-object results (restored / skipped-exists / skipped-deleted / not-in-backup / failed + diagnosis). */
export async function getRestore(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  try {
    const id = request.params.id ?? "";
    if (!RestoreIdPattern.test(id))
      return problem(400, "Bad request", `'${id.slice(0, 64)}' is not a restore id`);
    const state = await getApp().store.getJson<RestoreState>(restoreStatePath(id));
    if (!state) return problem(404, "Not found", `no restore ${id}`);
    return json(200, state);
  } catch (e) {
    return errorResponse(e);
  }
}

/** Queue trigger on restore-jobs. A restore whose objects failed is a result, not a retry; only unexpected errors throw. */
export async function restoreWorker(message: unknown, context: InvocationContext): Promise<RestoreState> {
  const id = (message as { restoreId?: unknown } | null)?.restoreId;
  if (typeof id !== "string" || !RestoreIdPattern.test(id))
    throw new KvBackupError("BadRequest", "not a restore job");
  const app = getApp();
  const path = restoreStatePath(id);
  const state = await app.store.getJson<RestoreState>(path);
  if (!state) throw new KvBackupError("NotFound", `no restore ${id}`);
  // Done restores are not redone. A "running" one was cut off (a crash, a timeout) and runs again:
  // what the earlier attempt restored now exists, and is reported as restored, not as skipped.
  if (state.status !== "queued" && state.status !== "running") return state;
  const earlier = new Map((state.progress ?? []).map((r) => [`${r.kind}/${r.name}`, r]));
  const progress: RestoreEntry[] = [...(state.progress ?? [])];
  let saved = Date.now();
  const save = (status: RestoreState["status"]): Promise<void> =>
    app.store.putJson(path, { ...state, status, progress, updatedAt: new Date().toISOString() });
  await save("running");
  try {
    const report = await runRestore(app, state.request, {
      restoreId: id,
      onEntry: (entry) => {
        progress.push(entry);
        if (Date.now() - saved > 2000) {
          saved = Date.now();
          void save("running").catch(() => undefined);
        }
      },
    });
    if (report.results) {
      report.results = report.results.map((r) => {
        const before = earlier.get(`${r.kind}/${r.name}`);
        return r.outcome === "skipped-exists" && before?.outcome === "restored" ? before : r;
      });
      report.status = restoreStatus(report.results);
    }
    const { progress: _dropped, ...rest } = state;
    const done: RestoreState = {
      ...rest,
      status: report.status,
      report,
      updatedAt: new Date().toISOString(),
    };
    await app.store.putJson(path, done);
    context.log(`restore ${id}: ${report.status}`);
    return done;
  } catch (e) {
    if (
      e instanceof KvBackupError &&
      (e.code === "NotFound" || e.code === "VaultNotAllowed" || e.code === "BadRequest")
    ) {
      const failed: RestoreState = {
        ...state,
        status: "failed",
        error: e.message,
        updatedAt: new Date().toISOString(),
      };
      await app.store.putJson(path, failed);
      return failed;
    }
    throw e;
  }
}
