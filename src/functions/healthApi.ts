import type { HttpHandler } from "@azure/functions";
import { checkHealth, type EngineDeps } from "../backup/engine.js";
import { httpHandler, json } from "./http.js";

/** GET /api/health: every path the app uses, proven now, with diagnoses; 200 or 503. */
export const getHealth = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async () => {
    const report = await checkHealth(deps);
    return json(report.ok ? 200 : 503, report);
  });
