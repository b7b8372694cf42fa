import {
  type RestoreReport,
  restoredAsAsked,
  restoreHsm,
  runRestore,
  unvouched,
  verifyEvents,
  verifyRef,
} from "../backup/engine.js";
import { ObjectRefPattern, RuleText } from "../domain/rules.js";
import { type OnConflict, OnConflicts } from "../domain/vocabulary.js";
import {
  type Command,
  type CommandContext,
  ExitCode,
  fromOption,
  sourceApp,
  text,
  texts,
  usageError,
} from "./command.js";
import { diagnosisLines, formatBytes, type Output, table } from "./output.js";
import { drawBar } from "./progress.js";

/** 0 only when everything asked for is (or, for a dry run, would be) restored or skipped by the conflict policy. */
export const restoreExitCode = (r: Pick<RestoreReport, "status" | "expected">): number =>
  (r.status === "planned" ? r.expected : r.status) === "succeeded" ? ExitCode.ok : ExitCode.failed;

function printReport(out: Output, report: RestoreReport, seconds: number): void {
  const { at } = report.source;
  out.out(
    `${report.dryRun ? "plan" : "restore"}: ${report.source.from ? "from the isolated copy: " : ""}${at ? `${report.source.vault} as of ${at}: ` : ""}run ${report.source.runId} of ${report.source.vault} (${report.source.status}) -> ${report.target.name} (${report.target.url})`,
  );
  if (report.source.unvouched)
    out.out(
      "  (the backup account did not answer: the run was taken on the isolated copy's word — see docs/isolated-copy.md, Threat model)",
    );
  if (at)
    out.out(
      "  (each object from the newest backup taken by then: that run, or an event backup taken since it started; an object deleted after the run is in the plan — deletions are not evented)",
    );
  const from = new Map(report.plan.map((p) => [`${p.kind}/${p.name}`, p.from ?? ""]));
  const rows = report.results
    ? report.results.map((r) => [
        r.kind,
        r.name,
        r.outcome,
        r.diagnosis ? `${r.diagnosis.code}: ${r.detail ?? r.diagnosis.cause}` : (r.detail ?? ""),
      ])
    : report.plan.map((p) => [p.kind, p.name, p.action, p.detail ?? ""]);
  const withFrom = at
    ? rows.map((r) => [...r.slice(0, 3), from.get(`${r[0]}/${r[1]}`) ?? "", r[3] ?? ""])
    : rows;
  const head = ["KIND", "NAME", report.dryRun ? "ACTION" : "OUTCOME", ...(at ? ["FROM"] : []), "DETAIL"];
  out.out(table([head, ...withFrom]));
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
    if (!restoredAsAsked(r.outcome, report.onConflict, r.heldBy) && r.diagnosis)
      out.out(`  ${r.kind}/${r.name} fix: ${r.diagnosis.fix}`);
}

/** kvbackup restore RUN --hsm H --key K | --full-restore --confirm H: a Managed HSM restore. */
async function restoreFromHsm(ctx: CommandContext, hsm: string): Promise<number> {
  for (const o of ["vault", "to", "only", "dry-run", "on-conflict"])
    if (ctx.values[o] !== undefined)
      throw usageError(
        `--${o} is for vault restores; an HSM restore takes --hsm H with --key K or --full-restore`,
      );
  const key = text(ctx, "key");
  const full = ctx.values["full-restore"] === true;
  if (full === (key !== undefined))
    throw usageError(
      "--hsm takes --key K (one key, every version) or --full-restore (the whole HSM): exactly one",
    );
  if (full && text(ctx, "confirm")?.toLowerCase() !== hsm.toLowerCase())
    throw usageError(
      `a full restore replaces every key of Managed HSM '${hsm}' with the backup's; type its name to confirm: --confirm ${hsm}`,
    );
  const r = await restoreHsm(
    ctx.app(),
    { runId: ctx.positionals[0] as string, hsm, ...(full ? { full } : { key: key as string }) },
    ctx.signal,
  );
  if (ctx.out.json) ctx.out.document(r);
  else {
    ctx.out.out(
      `${full ? "full restore" : `restore of key ${r.key}`}: run ${r.runId} of Managed HSM ${r.hsm} (folder ${r.folder})${r.jobId ? `, job ${r.jobId}` : ""}`,
    );
    ctx.out.out(`${r.status}: ${r.message}`);
    if (r.diagnosis) ctx.out.out(diagnosisLines(r.diagnosis, "  "));
  }
  return r.status === "succeeded" ? ExitCode.ok : ExitCode.failed;
}

export const restoreCommand: Command = {
  name: "restore",
  usage: `kvbackup restore RUNID|latest --vault V [--to T] [--only kind/name]... [--dry-run] [--on-conflict skip|fail]
kvbackup restore --at TIME --vault V [--to T] [--only kind/name]... [--dry-run] [--on-conflict skip|fail]
kvbackup restore RUNID|latest --hsm H --key K
kvbackup restore RUNID|latest --hsm H --full-restore --confirm H
  Plans, then (unless --dry-run) restores the run of vault V into V or into T (a vault in
  BACKUP_VAULTS or RESTORE_TARGET_VAULTS). Exit 0 only when everything asked for is restored or
  skipped by the conflict policy; anything not in the backup or failed exits 1.
  --hsm H --key K restores every version of key K from a Managed HSM run (the key must be deleted
  and purged in H first: the HSM does not overwrite). --full-restore replaces every key of H with
  the backup's and needs --confirm H. The backup folder is verified before the HSM is asked.
  --at TIME (ISO 8601, e.g. 2026-12-06T09:30:00Z) restores V as it was then: the newest run that
  had finished by then, each object newer in a continuous-protection event backup taken by then
  from that backup; the plan says where each object comes from. Deletions are not evented: an
  object deleted after that run is restored too.
  --from copy reads the run (and, with --at, the event backups) from the isolated copy
  (BACKUP_COPY_BLOB_URI) instead of the backup account: it works when that account is gone.`,
  options: {
    hsm: { type: "string" },
    key: { type: "string" },
    "full-restore": { type: "boolean" },
    confirm: { type: "string" },
    vault: { type: "string" },
    to: { type: "string" },
    only: { type: "string", multiple: true },
    "dry-run": { type: "boolean" },
    "on-conflict": { type: "string" },
    at: { type: "string" },
    from: { type: "string" },
  },
  positionals: { min: 0, max: 1, name: "RUNID|latest" },
  async run(ctx) {
    const at = text(ctx, "at");
    const ref = ctx.positionals[0];
    if (at !== undefined && ref !== undefined)
      throw usageError("--at picks the runs itself: give --at TIME or RUNID|latest, not both");
    if (at === undefined && ref === undefined) throw usageError("restore needs RUNID|latest, or --at TIME");
    const hsm = text(ctx, "hsm");
    if (hsm !== undefined && at !== undefined) throw usageError("--at is for vault restores, not --hsm");
    if (hsm !== undefined && ctx.values.from !== undefined)
      throw usageError("--from copy is for vault restores: a Managed HSM's backups are not copied");
    if (hsm !== undefined) return restoreFromHsm(ctx, hsm);
    for (const o of ["key", "full-restore", "confirm"])
      if (ctx.values[o] !== undefined) throw usageError(`--${o} goes with --hsm H (a Managed HSM restore)`);
    const vault = text(ctx, "vault");
    if (!vault)
      throw usageError(
        "restore needs --vault (the vault the backup was taken from) or --hsm (a Managed HSM)",
      );
    const onConflict = text(ctx, "on-conflict");
    if (onConflict && !OnConflicts.includes(onConflict as OnConflict))
      throw usageError("--on-conflict takes skip or fail");
    const only = texts(ctx, "only");
    const bad = only.find((n) => !ObjectRefPattern.test(n));
    if (bad !== undefined) throw usageError(`--only takes ${RuleText.objectRef}, not '${bad.slice(0, 64)}'`);
    const to = text(ctx, "to");
    const started = Date.now();
    const from = fromOption(ctx);
    const report = await runRestore(
      ctx.app(),
      {
        runId: ref ?? "latest",
        ...(at !== undefined ? { at } : {}),
        vault,
        ...(to ? { targetVault: to } : {}),
        ...(only.length ? { names: only } : {}),
        dryRun: ctx.values["dry-run"] === true,
        ...(from ? { from: "copy" as const } : {}),
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
kvbackup verify --events --vault V
  Re-reads every blob of a run: each must exist and match its SHA-256, and no blob may be there
  that the manifest does not name. With --events: every continuous-protection (event) backup of
  the vault, each against the SHA-256 it was written with (what restore --at and the daily run take
  from them). --from copy checks the isolated copy's blobs (BACKUP_COPY_BLOB_URI) instead.
  Exit 1 on any missing, corrupt, extra or unverifiable blob.`,
  options: { vault: { type: "string" }, events: { type: "boolean" }, from: { type: "string" } },
  positionals: { min: 0, max: 1, name: "RUNID|latest" },
  async run(ctx) {
    const { out } = ctx;
    if (ctx.values.events === true) {
      const vault = text(ctx, "vault");
      if (!vault || ctx.positionals.length > 0)
        throw usageError(
          "verify --events takes --vault V and no RUNID (it checks the vault's event backups)",
        );
      const r = await verifyEvents(sourceApp(ctx), vault, ctx.signal);
      if (out.json) out.document(r);
      else {
        out.out(
          `verify the event backups of ${r.vault}: ${r.checked}/${r.expected} blobs read (${formatBytes(r.bytes)})`,
        );
        if (r.ok)
          out.out(r.expected ? "ok: every event backup matches its SHA-256, nothing extra" : "ok: none yet");
        else
          out.out(
            table([
              ["PROBLEM", "BLOB", "DETAIL"],
              ...r.problems.map((p) => [
                p.problem,
                p.blob,
                p.diagnosis?.cause ??
                  (p.problem === "unverifiable"
                    ? "its metadata says no SHA-256: restore --at does not use it"
                    : "not an event backup (events/{vault}/{kind}/{name}/{ended}-{started}-{version}.kvbak)"),
              ]),
            ]),
          );
      }
      return r.ok ? ExitCode.ok : ExitCode.failed;
    }
    if (ctx.positionals.length !== 1) throw usageError("verify takes RUNID|latest (or --events --vault V)");
    const source = sourceApp(ctx);
    const verified = await verifyRef(source, ctx.positionals[0] as string, text(ctx, "vault"), ctx.signal);
    const result = unvouched(source) ? { ...verified, unvouched: true } : verified;
    if (out.json) out.document(result);
    else {
      out.out(
        `verify ${result.runId} of ${result.vault}: ${result.checked}/${result.expected} blobs read (${formatBytes(result.bytes)})`,
      );
      if (unvouched(source))
        out.out(
          "(the backup account did not answer: the run was taken on the isolated copy's word — see docs/isolated-copy.md, Threat model)",
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
