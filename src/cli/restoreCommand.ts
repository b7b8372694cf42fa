import { verifyRef } from "../backup/catalog/verifyRun.js";
import { runRestore } from "../backup/restore/runRestore.js";
import { restoredAsAsked } from "../backup/restore/status.js";
import type { RestoreReport } from "../backup/restore/types.js";
import { ObjectRefPattern, RuleText } from "../domain/rules.js";
import { type OnConflict, OnConflicts } from "../domain/vocabulary.js";
import { type Command, ExitCode, text, texts, usageError } from "./command.js";
import { formatBytes, type Output, table } from "./output.js";
import { drawBar } from "./progress.js";

/** 0 only when everything asked for is (or, for a dry run, would be) restored or skipped by the conflict policy. */
export const restoreExitCode = (r: Pick<RestoreReport, "status" | "expected">): number =>
  (r.status === "planned" ? r.expected : r.status) === "succeeded" ? ExitCode.ok : ExitCode.failed;

function printReport(out: Output, report: RestoreReport, seconds: number): void {
  out.out(
    `${report.dryRun ? "plan" : "restore"}: run ${report.source.runId} of ${report.source.vault} (${report.source.status}) -> ${report.target.name} (${report.target.url})`,
  );
  const rows = report.results
    ? report.results.map((r) => [
        r.kind,
        r.name,
        r.outcome,
        r.diagnosis ? `${r.diagnosis.code}: ${r.detail ?? r.diagnosis.cause}` : (r.detail ?? ""),
      ])
    : report.plan.map((p) => [p.kind, p.name, p.action, p.detail ?? ""]);
  out.out(table([["KIND", "NAME", report.dryRun ? "ACTION" : "OUTCOME", "DETAIL"], ...rows]));
  const entries: { outcome?: string; action?: string }[] = report.results ?? report.plan;
  const count = (k: string): number => entries.filter((r) => (r.outcome ?? r.action) === k).length;
  const missing = count("not-in-backup");
  if (report.dryRun)
    out.out(
      `${count("restore")} to restore, ${count("skip-exists") + count("skip-deleted")} to skip, ${missing} not in this backup (dry run: nothing written; a restore would end ${report.expected})`,
    );
  else
    out.out(
      `${report.status}: ${count("restored")} restored, ${count("skipped-exists") + count("skipped-deleted")} skipped, ${missing} not in this backup, ${count("failed")} failed in ${seconds.toFixed(1)} s`,
    );
  for (const r of report.results ?? [])
    if (!restoredAsAsked(r.outcome, report.onConflict) && r.diagnosis)
      out.out(`  ${r.kind}/${r.name} fix: ${r.diagnosis.fix}`);
}

export const restoreCommand: Command = {
  name: "restore",
  usage: `kvbackup restore RUNID|latest --vault V [--to T] [--only kind/name]... [--dry-run] [--on-conflict skip|fail]
  Plans, then (unless --dry-run) restores the run of vault V into V or into T (a vault in
  BACKUP_VAULTS or RESTORE_TARGET_VAULTS). Exit 0 only when everything asked for is restored or
  skipped by the conflict policy; anything not in the backup or failed exits 1.`,
  options: {
    vault: { type: "string" },
    to: { type: "string" },
    only: { type: "string", multiple: true },
    "dry-run": { type: "boolean" },
    "on-conflict": { type: "string" },
  },
  positionals: { min: 1, max: 1, name: "RUNID|latest" },
  async run(ctx) {
    const vault = text(ctx, "vault");
    if (!vault) throw usageError("restore needs --vault (the vault the backup was taken from)");
    const onConflict = text(ctx, "on-conflict");
    if (onConflict && !OnConflicts.includes(onConflict as OnConflict))
      throw usageError("--on-conflict takes skip or fail");
    const only = texts(ctx, "only");
    const bad = only.find((n) => !ObjectRefPattern.test(n));
    if (bad !== undefined) throw usageError(`--only takes ${RuleText.objectRef}, not '${bad.slice(0, 64)}'`);
    const to = text(ctx, "to");
    const started = Date.now();
    const report = await runRestore(
      ctx.app(),
      {
        runId: ctx.positionals[0] as string,
        vault,
        ...(to ? { targetVault: to } : {}),
        ...(only.length ? { names: only } : {}),
        dryRun: ctx.values["dry-run"] === true,
        ...(onConflict ? { onConflict: onConflict as OnConflict } : {}),
      },
      {
        onProgress: (done, total) =>
          drawBar(ctx.out, `restoring into ${to ?? vault}`, done, total, `${done}/${total}`),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
    if (ctx.out.json) ctx.out.document(report);
    else printReport(ctx.out, report, (Date.now() - started) / 1000);
    return restoreExitCode(report);
  },
};

export const verifyCommand: Command = {
  name: "verify",
  usage: `kvbackup verify RUNID|latest [--vault V]
  Re-reads every blob of a run: each must exist and match its SHA-256, and no blob may be there
  that the manifest does not name. Exit 1 on any missing, corrupt or extra blob.`,
  options: { vault: { type: "string" } },
  positionals: { min: 1, max: 1, name: "RUNID|latest" },
  async run(ctx) {
    const result = await verifyRef(ctx.app(), ctx.positionals[0] as string, text(ctx, "vault"));
    const { out } = ctx;
    if (out.json) out.document(result);
    else {
      out.out(
        `verify ${result.runId} of ${result.vault}: ${result.checked}/${result.expected} blobs read (${formatBytes(result.bytes)})`,
      );
      if (result.ok) out.out("ok: every blob matches its SHA-256, nothing missing, nothing extra");
      else
        out.out(
          table([
            ["PROBLEM", "BLOB", "DETAIL"],
            ...result.problems.map((p) => [p.problem, p.blob, p.diagnosis?.cause ?? "not in the manifest"]),
          ]),
        );
    }
    return result.ok ? ExitCode.ok : ExitCode.failed;
  },
};
