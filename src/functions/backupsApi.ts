import type { HttpHandler } from "@azure/functions";
import { type EngineDeps, enqueueBackups, listRuns, showRun } from "../backup/engine.js";
import { check, httpHandler, json, readBody } from "./http.js";
import { ListBackupsQuery, PostBackupsBody } from "./schemas.js";

/** POST /api/backups {vaults?, hsms?, kinds?, mode?}: queue manual-tier runs (HSMs: full backups) (full unless mode says incremental), 202 with their ids. */
export const postBackups = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async (request) => {
    const body = await readBody(request, PostBackupsBody);
    if (!body.ok) return body.response;
    const runs = await enqueueBackups(deps, { ...body.value, tier: "manual", trigger: "http" });
    return json(
      202,
      { runs: runs.map((r) => ({ ...r, href: `/api/backups/${r.runId}` })) },
      { location: `/api/backups/${runs[0]?.runId ?? ""}` },
    );
  });

/** GET /api/backups?vault=&status=&since=&top=: inventory rows, newest first. */
export const listBackups = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async (request) => {
    const query = check(ListBackupsQuery, Object.fromEntries(request.query.entries()));
    if (!query.ok) return query.response;
    return json(200, { runs: await listRuns(deps, query.value) });
  });

/** GET /api/backups/{runId}: the run's inventory row and, once committed, its manifest (or why it cannot be trusted). */
export const getBackup = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async (request) => json(200, await showRun(deps, request.params.runId ?? "")));
