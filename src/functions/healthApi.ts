import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { checkHealth } from "../backup/health.js";
import { errorResponse, json } from "./problem.js";
import { getApp } from "./runtime.js";

/** GET /api/health: the storage preflight and each vault's list and backup rights, with diagnoses. */
export async function getHealth(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  try {
    const report = await checkHealth(getApp());
    return json(report.ok ? 200 : 503, report);
  } catch (e) {
    return errorResponse(e);
  }
}
