import type { Diagnosis } from "../../domain/diagnosis.js";
import { isKvBackupError, KvBackupError } from "../../domain/errors.js";
import { RestoreIdPattern } from "../../domain/rules.js";
import { newRunId } from "../../domain/runId.js";
import type { EngineDeps } from "../deps.js";
import { diagnosisOf } from "../failures.js";
import type { RestoreEntry, RestoreReport, RestoreRequest } from "./restoreTypes.js";
import { normalRequest, resolveRestore, runRestore } from "./runRestore.js";
import { restoreStatus } from "./status.js";

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
  diagnosis?: Diagnosis;
}

const statePath = (id: string): string => `restores/${id}.json`;
const encode = (state: RestoreState): Uint8Array => Buffer.from(`${JSON.stringify(state, null, 2)}\n`);

function checkId(id: string): void {
  if (!RestoreIdPattern.test(id))
    throw new KvBackupError("BadRequest", `'${id.slice(0, 64)}' is not a restore id`);
}

async function readState(deps: EngineDeps, id: string): Promise<{ state: RestoreState; etag: string }> {
  const found = await deps.documents.read(statePath(id));
  if (!found) throw new KvBackupError("NotFound", `no restore ${id}`);
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(found.bytes).toString("utf8"));
  } catch {
    state = undefined;
  }
  if (!state || typeof state !== "object" || (state as RestoreState).restoreId !== id)
    throw new KvBackupError("NotFound", `restore ${id} has a damaged state document (${statePath(id)})`);
  return { state: state as RestoreState, etag: found.etag };
}

export async function getRestore(deps: EngineDeps, id: string): Promise<RestoreState> {
  checkId(id);
  return (await readState(deps, id)).state;
}

export type Submitted =
  | { dryRun: true; report: RestoreReport }
  | { dryRun: false; restoreId: string; runId: string };

/**
 * A restore asked for over HTTP: checked before anything is queued (allow-list, committed run);
 * a dry run answers with the plan at once; otherwise the state is written and a job queued.
 */
export async function submitRestore(
  deps: EngineDeps,
  request: RestoreRequest,
  requestedBy?: string,
): Promise<Submitted> {
  const asked = normalRequest(request);
  const resolved = await resolveRestore(deps, asked);
  if (asked.dryRun) return { dryRun: true, report: await runRestore(deps, asked, { resolved }) };
  // "latest" is the run the caller saw when asking: pinned now, so a run committed before the
  // worker starts (perhaps of the very damage being undone) is never restored in its place. A point
  // in time keeps its time and is pinned to its run the same way.
  const req = { ...asked, runId: resolved.run.manifest.runId };
  const restoreId = newRunId(deps.now(), "r");
  const now = deps.now().toISOString();
  const state: RestoreState = {
    restoreId,
    status: "queued",
    request: req,
    ...(requestedBy ? { requestedBy } : {}),
    queuedAt: now,
    updatedAt: now,
  };
  await deps.documents.create(statePath(restoreId), encode(state));
  await deps.restoreJobs.send({ restoreId });
  return { dryRun: false, restoreId, runId: req.runId };
}

/**
 * The restore worker: runs a queued restore and records its result. Done restores are not redone.
 * A "running" one was cut off (a crash, a timeout) and runs again: what the earlier attempt
 * restored now exists, and is reported as restored, not as skipped. A request that can never
 * succeed (run gone, vault not allowed, manifest damaged) is recorded as failed; storage trouble
 * throws so the host delivers the message again.
 */
export async function runRestoreJob(deps: EngineDeps, id: string): Promise<RestoreState> {
  checkId(id);
  let { state, etag } = await readState(deps, id);
  if (state.status !== "queued" && state.status !== "running") return state;
  const earlier = new Map((state.progress ?? []).map((r) => [`${r.kind}/${r.name}`, r]));
  const progress: RestoreEntry[] = [...(state.progress ?? [])];
  const save = async (next: RestoreState): Promise<RestoreState> => {
    const saved = { ...next, updatedAt: deps.now().toISOString() };
    const tag = await deps.documents.replace(statePath(id), encode(saved), etag);
    if (!tag)
      throw new KvBackupError("AlreadyRunning", `restore ${id} is being run by another worker`, {
        retryable: true,
      });
    etag = tag;
    return saved;
  };
  await save({ ...state, status: "running" });
  let saving = Promise.resolve();
  // Progress is written at most every 2 s while the restore goes (the first outcome at once); an
  // object restored in the last moments before a cut-off is recognised on the next attempt by its
  // conflict, and reported restored only if the earlier attempt had recorded it.
  let savedAt = 0;
  try {
    const report = await runRestore(deps, state.request, {
      restoreId: id,
      onEntry: (entry) => {
        progress.push(entry);
        if (Date.now() - savedAt < 2000) return;
        savedAt = Date.now();
        saving = saving
          .then(() => save({ ...state, status: "running", progress }))
          .then(
            () => undefined,
            () => undefined,
          );
      },
    });
    await saving;
    if (report.results) {
      report.results = report.results.map((r) => {
        const before = earlier.get(`${r.kind}/${r.name}`);
        // Restored by the earlier attempt, so in the target now: under "skip" that reads as
        // skipped-exists, under "fail" as a conflict. It is the restore's own work: restored.
        const ownConflict =
          r.outcome === "skipped-exists" ||
          (r.outcome === "failed" && r.diagnosis?.code === "RestoreConflict");
        return ownConflict && before?.outcome === "restored" ? before : r;
      });
      report.status = restoreStatus(report.results, report.onConflict);
    }
    const { progress: _dropped, ...rest } = state;
    state = { ...rest, status: report.status, report };
  } catch (e) {
    await saving;
    if (!isKvBackupError(e) || e.retryable || e.code === "StorageFailed") throw e;
    const diagnosis = diagnosisOf(e, { caller: deps.config.caller });
    state = { ...state, status: "failed", error: e.message, ...(diagnosis ? { diagnosis } : {}) };
  }
  return save(state);
}
