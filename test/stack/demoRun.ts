import { createRequire } from "node:module";
import type { Timer } from "@azure/functions";
import { createApp } from "../../src/app.js";
import { findRun } from "../../src/backup/catalog/findRun.js";
import { verifyRef, verifyRun } from "../../src/backup/catalog/verifyRun.js";
import type { DrillResult } from "../../src/backup/drill/drillTypes.js";
import type { BackupJob, RestoreJob, RestoreState } from "../../src/backup/engine.js";
import { fromCopy as engineFromCopy } from "../../src/backup/engine.js";
import type { RunResult } from "../../src/backup/run/record.js";
import { formatBytes, table } from "../../src/cli/output.js";
import { Queues } from "../../src/domain/config.js";
import { listBackups } from "../../src/functions/backupsApi.js";
import { getReport, postDrills } from "../../src/functions/drillsApi.js";
import { postRestores } from "../../src/functions/restoresApi.js";
import { scheduledBackup } from "../../src/functions/scheduledBackup.js";
import { backupWorker, restoreWorker } from "../../src/functions/workers.js";
import { loadConfig } from "../../src/loadConfig.js";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { compareVaults } from "./compareVaults.js";
import { takeJobs } from "./takeJobs.js";

/**
 * The demo's second half, in a process that knows only stack.env: fire the timer function, drain
 * backup-jobs through the queue worker (the handlers the Functions host would call), list, verify,
 * restore into restore-vault through the restore functions, compare the vaults, report.
 */
installNetworkGuard();
// @azure/functions is a CommonJS bundle whose classes Node's ESM loader cannot name-import.
const { InvocationContext, HttpRequest } = createRequire(import.meta.url)(
  "@azure/functions",
) as typeof import("@azure/functions");
const context = () => new InvocationContext({ functionName: "demo", logHandler: () => undefined });
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};
const app = createApp(loadConfig(process.env, "function"));

const queued = await scheduledBackup(app)(timer, context());
console.log(
  `timer: queued ${queued.length} job(s) on backup-jobs: ${queued.map((q) => `${q.vault} ${q.runId}`).join(", ")}`,
);
for (
  let jobs = await takeJobs<BackupJob>(Queues.backup);
  jobs.length > 0;
  jobs = await takeJobs<BackupJob>(Queues.backup)
) {
  for (const job of jobs) {
    const r = (await backupWorker(app)(job, context())) as RunResult;
    const row = await app.inventory.get(r.runId, r.vault);
    if (job.hsm) {
      const v =
        r.status === "succeeded"
          ? await verifyRun(app, (await findRun(app, r.runId, r.vault)).manifest)
          : undefined;
      console.log(`
worker: Managed HSM ${r.vault}  run ${r.runId}  ${r.status}  ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(2)} s
${r.hsm ? `the HSM wrote its full backup itself: ${r.hsm.files} file(s) in ${r.hsm.container}/${r.hsm.folder}${v ? `, verified ${v.ok ? "ok" : "NOT ok"} (${v.checked}/${v.expected} files re-hashed)` : ""}` : `diagnosis: ${r.diagnosis?.code}: ${r.diagnosis?.cause}`}`);
      continue;
    }
    const { manifest } = await findRun(app, r.runId, r.vault);
    console.log(`
worker: ${r.vault}  run ${r.runId}  ${r.status}  ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(2)} s
${table([["KIND", "BACKED UP", "SKIPPED", "FAILED"], ...Object.entries(r.counts).map(([k, c]) => [k, String(c.backedUp), String(c.skipped), String(c.failed)])])}
${manifest.skipped.length ? `skipped (their certificate's backup covers them): ${manifest.skipped.map((s) => `${s.kind}/${s.name}`).join(", ")}\n` : ""}blobs (${manifest.items.length} + manifest.json) under ${r.manifestPath.replace(/manifest\.json$/, "")}
${manifest.items
  .slice(0, 3)
  .map((i) => `  ${i.blob}  ${i.bytes} B  sha256 ${i.sha256.slice(0, 16)}…`)
  .join("\n")}
  …
  ${r.manifestPath}
inventory row: ${JSON.stringify({ vault: row?.vault, runId: row?.runId, tier: row?.tier, trigger: row?.trigger, status: row?.status, durationMs: row?.durationMs, bytes: row?.bytes })}${copyLine(r)}`);
  }
}

const listed = JSON.parse(
  String(
    (
      await listBackups(app)(
        new HttpRequest({ method: "GET", url: "https://local/api/backups", query: { vault: "demo-vault" } }),
        context(),
      )
    ).body,
  ),
);
console.log(
  `\nGET /api/backups?vault=demo-vault: ${listed.runs.length} run(s), newest ${listed.runs[0]?.runId} (${listed.runs[0]?.status})`,
);
const { manifest } = await findRun(app, "latest", "demo-vault");
const verified = await verifyRun(app, manifest);
console.log(
  `verify latest: ${verified.ok ? "ok" : "PROBLEMS"} — ${verified.checked} blobs re-read, SHA-256 checked, ${verified.problems.length} problem(s)`,
);
if (app.copy) {
  const fromCopy = await verifyRef(engineFromCopy(app), "latest", "demo-vault");
  console.log(
    `verify latest --from copy: ${fromCopy.ok ? "ok" : "PROBLEMS"} — ${fromCopy.checked} blobs re-read from the isolated copy (${app.copy.where}), ${fromCopy.problems.length} problem(s)`,
  );
}
const accepted = await postRestores(app)(
  new HttpRequest({
    method: "POST",
    url: "https://local/api/restores",
    body: { string: JSON.stringify({ runId: "latest", vault: "demo-vault", targetVault: "restore-vault" }) },
  }),
  context(),
);
const { restoreId } = JSON.parse(String(accepted.body));
console.log(`POST /api/restores -> ${accepted.status} ${restoreId}`);
let restoredOk = false;
for (
  let jobs = await takeJobs<RestoreJob>(Queues.restore);
  jobs.length > 0;
  jobs = await takeJobs<RestoreJob>(Queues.restore)
) {
  for (const job of jobs) {
    const state = (await restoreWorker(app)(job, context())) as RestoreState;
    const results = state.report?.results ?? [];
    const by = (o: string) => results.filter((r) => r.outcome === o).length;
    restoredOk = state.status === "succeeded";
    console.log(
      `restore worker: ${state.status} — ${by("restored")} restored, ${by("skipped-exists") + by("skipped-deleted")} skipped, ${by("not-in-backup")} not in the backup, ${by("failed")} failed`,
    );
  }
}
const comparison = await compareVaults(
  app.config.vaults[0]?.url as string,
  app.config.restoreTargets[0]?.url as string,
);
console.log(
  `compare demo-vault and restore-vault (names, versions, enabled, content types, tags): ${comparison.same} of ${comparison.total} objects identical`,
);
for (const d of comparison.differences) console.log(`  DIFFERENT ${d}`);

// The restore drill: POST /api/drills queues one per vault; the queue worker proves each run in
// the empty scratch vault (no secret value read) and empties it again; then the report.
const drillsAccepted = await postDrills(app)(
  new HttpRequest({
    method: "POST",
    url: "https://local/api/drills",
    body: { string: JSON.stringify({ vaults: ["demo-vault"] }) },
  }),
  context(),
);
console.log(`\nPOST /api/drills -> ${drillsAccepted.status}`);
let drilledOk = false;
for (
  let jobs = await takeJobs<BackupJob>(Queues.backup);
  jobs.length > 0;
  jobs = await takeJobs<BackupJob>(Queues.backup)
)
  for (const job of jobs) {
    const d = (await backupWorker(app)(job, context())) as DrillResult;
    drilledOk = d.status === "succeeded";
    console.log(
      `drill worker: ${d.vault} run ${d.runId} into ${d.scratchVault}: ${d.status} — ${d.compared} objects proved (${d.againstSource ?? 0} against the vault as it is now), ${d.mismatches} mismatched; scratch vault emptied${d.diagnosis ? `; ${d.diagnosis.code}: ${d.diagnosis.cause}` : ""}`,
    );
  }
const report = JSON.parse(
  String(
    (await getReport(app)(new HttpRequest({ method: "GET", url: "https://local/api/report" }), context()))
      .body,
  ),
);
console.log("GET /api/report:");
for (const v of report.vaults as {
  vault: string;
  verdict: string;
  reasons: string[];
  lastBackup?: { ageHours: number };
  lastProvenRestore?: { ageHours: number };
}[])
  console.log(
    `  ${v.vault.padEnd(12)} ${v.verdict.padEnd(8)} last backup ${v.lastBackup ? `${v.lastBackup.ageHours} h ago` : "never"}, proven restore ${v.lastProvenRestore ? `${v.lastProvenRestore.ageHours} h ago` : "never"}${v.reasons.length ? ` — ${v.reasons.join("; ")}` : ""}`,
  );
if (!verified.ok || !restoredOk || !drilledOk || comparison.differences.length > 0) process.exitCode = 1;

/** What the isolated copy did after a run: copied and verified, or why not. */
function copyLine(r: RunResult): string {
  const mine = r.copy?.runs.find((c) => c.runId === r.runId);
  if (!mine) return "";
  return mine.status === "copied"
    ? `\nisolated copy: copied and verified, ${mine.blobs} blob(s) (${mine.method ?? "there already"}), read back against the manifest's SHA-256`
    : `\nisolated copy: ${mine.status} — ${mine.diagnosis?.code}: ${mine.diagnosis?.cause}`;
}
