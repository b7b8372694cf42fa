import type { App } from "../app.js";
import { findRun } from "../backup/findRun.js";
import type { OnConflict } from "../backup/restore.js";
import { runRestore } from "../backup/runRestore.js";
import { verifyRun } from "../backup/verify.js";
import { KvBackupError } from "../errors.js";
import { ExitCode } from "./commands.js";
import { formatBytes, type Output, table } from "./output.js";

const usage = (message: string): KvBackupError => new KvBackupError("BadRequest", message);

export interface RestoreOptions {
  ref?: string;
  vault?: string;
  to?: string;
  only: string[];
  dryRun: boolean;
  onConflict?: string;
}

/** kvbackup restore: plan, then (unless --dry-run) restore, with progress and a final table. */
export async function restoreCommand(app: App, out: Output, o: RestoreOptions): Promise<number> {
  if (!o.ref) throw usage("restore takes a runId or 'latest'");
  if (!o.vault) throw usage("restore needs --vault (the vault the backup was taken from)");
  if (o.onConflict && o.onConflict !== "skip" && o.onConflict !== "fail")
    throw usage("--on-conflict takes skip or fail");
  for (const n of o.only) {
    if (!/^((secrets|keys|certificates)\/)?[0-9A-Za-z-]{1,127}$/.test(n))
      throw usage(`--only takes KIND/NAME or NAME, not '${n}'`);
  }
  const started = Date.now();
  const report = await runRestore(
    app,
    {
      runId: o.ref,
      vault: o.vault,
      ...(o.to ? { targetVault: o.to } : {}),
      ...(o.only.length ? { names: o.only } : {}),
      dryRun: o.dryRun,
      ...(o.onConflict ? { onConflict: o.onConflict as OnConflict } : {}),
    },
    {
      onProgress: (done, total) => {
        const width = 24;
        const filled = Math.round((done / Math.max(1, total)) * width);
        out.status(
          `restoring into ${o.to ?? o.vault} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${done}/${total}`,
        );
      },
    },
  );
  if (out.json) {
    out.document(report);
  } else {
    out.out(
      `${o.dryRun ? "plan" : "restore"}: run ${report.source.runId} of ${report.source.vault} (${report.source.status}) -> ${report.target.name} (${report.target.url})`,
    );
    const rows = report.results
      ? report.results.map((r) => [
          r.kind,
          r.name,
          r.outcome,
          r.diagnosis ? `${r.diagnosis.code}: ${r.detail ?? r.diagnosis.cause}` : (r.detail ?? ""),
        ])
      : report.plan.map((p) => [p.kind, p.name, p.action, p.detail ?? ""]);
    out.out(table([["KIND", "NAME", o.dryRun ? "ACTION" : "OUTCOME", "DETAIL"], ...rows]));
    const count = (k: string) =>
      (report.results ?? report.plan).filter((r) => ("outcome" in r ? r.outcome : r.action) === k).length;
    out.out(
      o.dryRun
        ? `${count("restore")} to restore, ${count("skip-exists") + count("skip-deleted")} to skip, ${count("not-in-backup")} not in this backup (dry run: nothing written)`
        : `${report.status}: ${count("restored")} restored, ${count("skipped-exists") + count("skipped-deleted")} skipped, ${count("not-in-backup")} not in this backup, ${count("failed")} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    for (const r of report.results ?? [])
      if (r.outcome === "failed" && r.diagnosis) out.out(`  ${r.kind}/${r.name} fix: ${r.diagnosis.fix}`);
  }
  return report.status === "planned" || report.status === "succeeded" ? ExitCode.ok : ExitCode.failed;
}

/** kvbackup verify: every blob of a run re-read and checked against the manifest. */
export async function verifyCommand(
  app: App,
  out: Output,
  ref: string | undefined,
  vault: string | undefined,
): Promise<number> {
  if (!ref) throw usage("verify takes a runId or 'latest'");
  const { manifest } = await findRun(app, ref, vault);
  const result = await verifyRun(app.store, manifest);
  if (out.json) {
    out.document(result);
  } else {
    out.out(
      `verify ${result.runId} of ${result.vault}: ${result.checked}/${manifest.items.length} blobs read (${formatBytes(result.bytes)})`,
    );
    if (result.ok) out.out("ok: every blob matches its SHA-256, nothing missing, nothing extra");
    else {
      out.out(
        table([
          ["PROBLEM", "BLOB", "DETAIL"],
          ...result.problems.map((p) => [p.problem, p.blob, p.diagnosis?.cause ?? "not in the manifest"]),
        ]),
      );
    }
  }
  return result.ok ? ExitCode.ok : ExitCode.failed;
}
