import type { HttpHandler } from "@azure/functions";
import { type EngineDeps, getRestore as readRestore, submitRestore } from "../backup/engine.js";
import { authenticationNotEnabled } from "../diagnosis/local.js";
import { httpHandler, json, problem, readBody } from "./http.js";
import { principalName, RestoreRole, restoreVerdict } from "./principal.js";
import { PostRestoresBody } from "./schemas.js";

/**
 * POST /api/restores: function key plus the Backup.Restore app role. A dry run answers 200 with
 * the plan; otherwise 202 and a restore id, the work done by restoreWorker. Nothing is queued from
 * a request that fails a check.
 */
export const postRestores = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async (request) => {
    const header = request.headers.get("x-ms-client-principal");
    const verdict = restoreVerdict(deps.config, header);
    if (verdict === "authentication-off") {
      const d = authenticationNotEnabled();
      return problem(403, "Forbidden", `${d.code}: ${d.cause}`, { diagnosis: d });
    }
    if (verdict === "missing-role")
      return problem(
        403,
        "Forbidden",
        `restores need the app role '${RestoreRole}' (assign it to the caller in the Entra app registration)`,
      );
    const body = await readBody(request, PostRestoresBody);
    if (!body.ok) return body.response;
    const submitted = await submitRestore(deps, body.value, principalName(header));
    if (submitted.dryRun) return json(200, submitted.report);
    const href = `/api/restores/${submitted.restoreId}`;
    return json(
      202,
      { restoreId: submitted.restoreId, runId: submitted.runId, status: "queued", href },
      { location: href },
    );
  });

/** GET /api/restores/{id}: per-object results (restored / skipped-exists / skipped-deleted / not-in-backup / failed + diagnosis). */
export const getRestore = (deps: EngineDeps): HttpHandler =>
  httpHandler(deps, async (request) => json(200, await readRestore(deps, request.params.id ?? "")));
