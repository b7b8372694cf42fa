import { createRequire } from "node:module";
import type { Timer } from "@azure/functions";
import type { Manifest } from "../../src/backup/manifest.js";
import { formatBytes, table } from "../../src/cli/output.js";
import { backupWorker } from "../../src/functions/backupWorker.js";
import { getApp } from "../../src/functions/runtime.js";
import { scheduledBackup } from "../../src/functions/scheduledBackup.js";
import { installNetworkGuard } from "../setup/networkGuard.js";

/**
 * The demo's second half, in a process that knows only stack.env: fire the timer function, drain
 * backup-jobs through the queue worker (the handlers the Functions host would call), report.
 */
installNetworkGuard();
// @azure/functions is a CommonJS bundle whose classes Node's ESM loader cannot name-import.
const { InvocationContext } = createRequire(import.meta.url)(
  "@azure/functions",
) as typeof import("@azure/functions");
const context = () => new InvocationContext({ functionName: "demo", logHandler: () => undefined });
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};
const app = getApp();
const queued = await scheduledBackup(timer, context());
console.log(
  `timer: queued ${queued.length} job(s) on backup-jobs: ${queued.map((q) => `${q.vault} ${q.runId}`).join(", ")}`,
);
for (let jobs = await app.backupJobs.take(); jobs.length > 0; jobs = await app.backupJobs.take()) {
  for (const job of jobs) {
    const r = await backupWorker(job, context());
    const row = await app.inventory.get(r.runId, r.vault);
    const manifest = (await app.store.readManifest(r.manifestPath)) as Manifest;
    const kinds = Object.entries(r.counts);
    console.log(`
worker: ${r.vault}  run ${r.runId}  ${r.status}  ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(2)} s
${table([["KIND", "BACKED UP", "SKIPPED", "FAILED"], ...kinds.map(([k, c]) => [k, String(c.backedUp), String(c.skipped), String(c.failed)])])}
skipped (their certificate's backup covers them): ${manifest.skipped.map((s) => `${s.kind}/${s.name}`).join(", ")}
blobs (${manifest.items.length} + manifest.json) under ${r.manifestPath.replace(/manifest\.json$/, "")}
${manifest.items
  .slice(0, 3)
  .map((i) => `  ${i.blob}  ${i.bytes} B  sha256 ${i.sha256.slice(0, 16)}…`)
  .join("\n")}
  …
  ${r.manifestPath}
inventory row: ${JSON.stringify({ vault: row?.vault, runId: row?.runId, tier: row?.tier, trigger: row?.trigger, status: row?.status, durationMs: row?.durationMs, bytes: row?.bytes })}`);
  }
}

// List, verify, restore into restore-vault through the restore functions, then compare the vaults.
const { listBackups } = await import("../../src/functions/backupsApi.js");
const { postRestores, restoreWorker } = await import("../../src/functions/restoresApi.js");
const { findRun } = await import("../../src/backup/findRun.js");
const { verifyRun } = await import("../../src/backup/verify.js");
const { compareVaults } = await import("./compareVaults.js");
const { HttpRequest } = createRequire(import.meta.url)(
  "@azure/functions",
) as typeof import("@azure/functions");

const listed = JSON.parse(
  String(
    (
      await listBackups(
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
const verified = await verifyRun(app.store, manifest);
console.log(
  `verify latest: ${verified.ok ? "ok" : "PROBLEMS"} — ${verified.checked} blobs re-read, SHA-256 checked, ${verified.problems.length} problem(s)`,
);
const accepted = await postRestores(
  new HttpRequest({
    method: "POST",
    url: "https://local/api/restores",
    body: { string: JSON.stringify({ runId: "latest", vault: "demo-vault", targetVault: "restore-vault" }) },
  }),
  context(),
);
const { restoreId } = JSON.parse(String(accepted.body));
console.log(`POST /api/restores -> ${accepted.status} ${restoreId}`);
for (let jobs = await app.restoreJobs.take(); jobs.length > 0; jobs = await app.restoreJobs.take()) {
  for (const job of jobs) {
    const state = await restoreWorker(job, context());
    const results = state.report?.results ?? [];
    const by = (o: string) => results.filter((r) => r.outcome === o).length;
    console.log(
      `restore worker: ${state.status} — ${by("restored")} restored, ${by("skipped-exists") + by("skipped-deleted")} skipped, ${by("failed")} failed`,
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
if (!verified.ok || comparison.differences.length > 0) process.exitCode = 1;
