import type { HttpHandler, InvocationContext, Timer } from "@azure/functions";
import { buildReport, type EngineDeps, enqueueDrills, type QueuedDrill } from "../backup/engine.js";
import { httpHandler, json, readBody } from "./http.js";
import { PostDrillsBody } from "./schemas.js";

/** POST /api/drills {vaults?}: one drill job per vault on backup-jobs; 202 with their ids. */
export const postDrills = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async (request) => {
    const body = await readBody(request, PostDrillsBody);
    if (!body.ok) return body.response;
    const drills = await enqueueDrills(deps, { vaults: body.value.vaults, trigger: "http" });
    return json(202, { drills });
  });

/** GET /api/report: per vault, the last backup, the last proven restore, coverage and a verdict. */
export const getReport = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async () => json(200, await buildReport(deps)));

/** Timer on BACKUP_DRILL_SCHEDULE: one drill job per vault of the fleet. */
export const scheduledDrill =
  (deps: EngineDeps) =>
  async (_timer: Timer, context: InvocationContext): Promise<QueuedDrill[]> => {
    const drills = await enqueueDrills(deps, { trigger: "timer" });
    context.log(
      `queued ${drills.length} restore drill(s): ${drills.map((d) => `${d.vault}/${d.drillId}`).join(", ")}`,
    );
    return drills;
  };
