import type { HttpHandler } from "@azure/functions";
import type { EngineDeps } from "../backup/deps.js";
import { checkHealth } from "../backup/health.js";
import { errorResponse, json } from "./http.js";

/** GET /api/health: every path the app uses, proven now, with diagnoses; 200 or 503. */
export const getHealth =
  (deps: EngineDeps): HttpHandler =>
  async (_request, context) => {
    try {
      const report = await checkHealth(deps);
      return json(report.ok ? 200 : 503, report);
    } catch (e) {
      return errorResponse(e, context, deps.config.caller);
    }
  };
