import { diagnoseHsmJob, hsmBackupEmpty, hsmJobTimedOut } from "../../diagnosis/hsm.js";
import { findHsm, type VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { KvBackupError } from "../../domain/errors.js";
import {
  folderOf,
  type HsmBackupRecord,
  HsmFolderPattern,
  type HsmJobState,
  hsmContainer,
} from "../../domain/hsmBackup.js";
import { type Manifest, manifestDocument } from "../../domain/manifest.js";
import type { SignalLike } from "../../domain/signal.js";
import type { EngineDeps, HsmJob } from "../deps.js";
import { storageContext } from "../failures.js";
import { framedRun } from "../run/frame.js";
import { priorCommit } from "../run/priorCommit.js";
import { RunRecord, type RunResult } from "../run/record.js";
import { tidyEarlierRuns } from "../run/tidy.js";
import { hsmCallDiagnosis, untilDone } from "./hsmJobs.js";

/**
 * One Managed HSM, one run: the storage preflight, the HSM's lease (one backup at a time per HSM,
 * as the service itself insists), the pre-backup check, the full backup job the HSM runs and
 * writes itself, watched to its end; then the folder it wrote is read back (every file hashed) and
 * recorded in the run's manifest, in the main container beside the vault runs. Every way it ends
 * gives a final row and the event; a job that failed ends with the one diagnosis of why.
 */
export async function runHsm(deps: EngineDeps, job: HsmJob, signal?: SignalLike): Promise<RunResult> {
  const hsm = findHsm(deps.config, job.vault);
  if (!hsm)
    throw new KvBackupError(
      "VaultNotAllowed",
      `'${job.vault.slice(0, 64)}' is not a Managed HSM of BACKUP_MANAGED_HSMS`,
    );
  const record = new RunRecord(deps, job, hsm, []);
  return framedRun(deps, record, signal, "Managed HSM", (held) => backUpHsm(deps, record, hsm, held));
}

type HsmContext = Parameters<typeof diagnoseHsmJob>[1];

/** The job the HSM ran, to its end: its folder in the container, or the one diagnosis of why not. */
async function hsmBackupJob(
  deps: EngineDeps,
  hsm: VaultRef,
  container: string,
  ctx: HsmContext,
  signal: SignalLike,
): Promise<{ done: HsmJobState; folder: string } | { diagnosis: Diagnosis }> {
  await deps.hsmFolders.ensure(container, signal);
  const uri = deps.hsmFolders.containerUri(container);
  const port = deps.hsms(hsm);
  const status = (id: string) => port.backupStatus(id, signal);
  const timedOut = (jobId: string) =>
    hsmJobTimedOut(hsm.name, jobId, deps.tuning.hsmJobTimeoutMs / 60_000, "backup");
  // The service's own check first: can the HSM reach and write the container?
  const checked = await untilDone(deps, await port.preBackup(uri, signal), status, signal);
  if (checked.status === "InProgress") return { diagnosis: timedOut(checked.jobId) };
  if (checked.status !== "Succeeded") return { diagnosis: diagnoseHsmJob(checked, ctx, "backup") };
  const done = await untilDone(deps, await port.startBackup(uri, signal), status, signal);
  if (done.status === "InProgress") return { diagnosis: timedOut(done.jobId) };
  if (done.status !== "Succeeded") return { diagnosis: diagnoseHsmJob(done, ctx, "backup") };
  const folder = done.folderUri ? folderOf(done.folderUri) : undefined;
  if (!folder || !HsmFolderPattern.test(folder) || !done.folderUri?.startsWith(`${uri}/`)) {
    const message = `it reported Succeeded with a folder this run cannot use: '${done.folderUri ?? ""}'`;
    return { diagnosis: diagnoseHsmJob({ ...done, status: "Failed", error: { message } }, ctx, "backup") };
  }
  return { done, folder };
}

/** The run's manifest: the folder the HSM wrote, every file hashed. */
const hsmManifest = (
  deps: EngineDeps,
  record: RunRecord,
  hsm: VaultRef,
  jobId: string,
  at: Omit<HsmBackupRecord, "jobId">,
): Manifest => ({
  schemaVersion: 2,
  runId: record.job.runId,
  vault: { name: hsm.name, url: hsm.url },
  tier: record.job.tier,
  trigger: record.job.trigger,
  mode: "full",
  kinds: [],
  startedAt: record.startedAt.toISOString(),
  finishedAt: deps.now().toISOString(),
  status: "succeeded",
  items: [],
  skipped: [],
  failed: [],
  hsm: { jobId, ...at },
});

async function backUpHsm(
  deps: EngineDeps,
  record: RunRecord,
  hsm: VaultRef,
  signal: SignalLike,
): Promise<RunResult> {
  const container = hsmContainer(deps.config.container, record.job.tier);
  const ctx = { ...storageContext(deps), container, hsm: hsm.name, hsmUrl: hsm.url };
  const failed = (diagnosis: Diagnosis): Promise<RunResult> =>
    record.end("failed", { bytes: 0, failed: [], diagnosis, stoppedAt: "mid-run" });
  // The lease is held: a row of this HSM still "running" belongs to a run that died.
  await tidyEarlierRuns(deps, record, signal);
  await record.start();
  try {
    const job = await hsmBackupJob(deps, hsm, container, ctx, signal);
    if ("diagnosis" in job) return failed(job.diagnosis);
    const { done, folder } = job;
    const files = await deps.hsmFolders.files(container, folder, signal);
    if (files.length === 0) return failed(hsmBackupEmpty(hsm.name, folder, container));
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    const document = manifestDocument(
      hsmManifest(deps, record, hsm, done.jobId, { container, folder, files }),
    );
    if (!(await deps.documents.create(record.manifestPath, document, signal))) {
      const theirs = await priorCommit(deps, record, signal);
      if (theirs) return theirs;
      throw new KvBackupError("RunFailed", `run ${record.job.runId}: another delivery wrote its manifest`, {
        retryable: true,
      });
    }
    const ended = await record.end("succeeded", { bytes, failed: [], manifestSha256: document.sha256 });
    return { ...ended, hsm: { container, folder, files: files.length } };
  } catch (e) {
    if (signal.aborted) {
      record.telemetry.interrupt(e);
      throw e;
    }
    const any = hsmCallDiagnosis(e, ctx, "backup", storageContext(deps));
    if (!any) {
      record.telemetry.interrupt(e);
      throw e;
    }
    return failed(any);
  }
}
