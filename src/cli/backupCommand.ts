import { planBackups, type RunResult, runBackup, withFleet } from "../backup/engine.js";
import { findHsm, findVault } from "../domain/config.js";
import { Kinds, kindList, type Mode, type Tier, Tiers } from "../domain/vocabulary.js";
import { type Command, type CommandContext, ExitCode, text, texts, usageError } from "./command.js";
import { diagnosisLines, formatBytes } from "./output.js";
import { backupProgress } from "./progress.js";

function kindsOf(raw: string | undefined) {
  if (raw === undefined) return undefined;
  const kinds = kindList(raw);
  if (!kinds) throw usageError(`--kinds takes a subset of ${Kinds.join(",")}`);
  return kinds;
}

const hsmSummary = (r: RunResult): string =>
  `${r.vault} ${r.runId}: ${r.status} (Managed HSM full backup${r.hsm ? `: ${r.hsm.files} file(s) in ${r.hsm.container}/${r.hsm.folder}` : ""}); ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s`;

function summary(r: RunResult): string {
  const c = r.counts;
  const skipped = c.secrets.skipped + c.keys.skipped + c.certificates.skipped;
  return (
    `${r.vault} ${r.runId}: ${r.status} (${r.mode}${r.copied ? `, ${r.copied} unchanged copied` : ""})  secrets ${c.secrets.backedUp}, keys ${c.keys.backedUp}, certificates ${c.certificates.backedUp}; ` +
    `skipped ${skipped}; failed ${r.failed.length}; ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s`
  );
}

function printRun(ctx: CommandContext, r: RunResult, hsm: boolean): void {
  const { out } = ctx;
  if (hsm) {
    out.out(hsmSummary(r));
    if (r.diagnosis) out.out(`  the HSM backup failed:\n${diagnosisLines(r.diagnosis, "    ")}`);
    return;
  }
  out.out(summary(r));
  if (r.diagnosis)
    out.out(
      `  the run stopped ${r.stoppedAt === "preflight" ? "at the storage preflight" : "mid-run"}:\n${diagnosisLines(r.diagnosis, "    ")}`,
    );
  for (const f of r.failed) out.out(`  ${f.kind}/${f.name}:\n${diagnosisLines(f.diagnosis, "    ")}`);
  if (r.inventoryStale)
    out.out("  committed, but the inventory row could not be written; the next run of this vault repairs it");
  if (r.copy) printCopy(ctx, r.runId, r.copy);
}

/** The isolated copy's pass after the run: this run's copy, and what else it caught up. */
function printCopy(ctx: CommandContext, runId: string, pass: NonNullable<RunResult["copy"]>): void {
  const { out } = ctx;
  const mine = pass.runs.find((c) => c.runId === runId);
  if (mine)
    out.out(
      mine.status === "copied"
        ? `  isolated copy: copied and verified, ${mine.blobs} blob(s) (${mine.added} added now, ${mine.method ?? "already there"})`
        : `  isolated copy: NOT copied (the run itself stands as above):\n${mine.diagnosis ? diagnosisLines(mine.diagnosis, "    ") : ""}`,
    );
  if (mine?.fellBack) out.out(`    streamed through this process: ${mine.fellBack}`);
  const others = pass.runs.filter((c) => c.runId !== runId);
  if (others.length)
    out.out(
      `  isolated copy: ${others.filter((c) => c.status === "copied").length}/${others.length} earlier run(s) it owed copied`,
    );
  if (pass.events.added || pass.events.failed || pass.events.diagnosis)
    out.out(
      `  isolated copy: ${pass.events.added} event backup(s) added${pass.events.failed ? `, ${pass.events.failed} not as recorded` : ""}${pass.events.diagnosis ? `\n${diagnosisLines(pass.events.diagnosis, "    ")}` : ""}`,
    );
}

async function run(ctx: CommandContext): Promise<number> {
  const tier = (text(ctx, "tier") ?? "manual") as Tier;
  if (!Tiers.includes(tier)) throw usageError(`--tier takes ${Tiers.join(", ")}`);
  const kinds = kindsOf(text(ctx, "kinds"));
  if (ctx.values.full && ctx.values.incremental)
    throw usageError("--full and --incremental exclude each other");
  const mode: Mode | undefined = ctx.values.full
    ? "full"
    : ctx.values.incremental
      ? "incremental"
      : undefined;
  // The fleet as the timer sees it (BACKUP_VAULTS plus the vaults discovery finds), planned as it plans.
  const app = await withFleet(ctx.app(), ctx.signal);
  const vaults = texts(ctx, "vault");
  const hsms = texts(ctx, "hsm");
  const jobs = planBackups(app, {
    ...(vaults.length ? { vaults } : {}),
    ...(hsms.length ? { hsms } : {}),
    ...(kinds ? { kinds } : {}),
    ...(mode ? { mode } : {}),
    tier,
    trigger: "cli",
  });
  const results: RunResult[] = [];
  for (const job of jobs) {
    const url = (job.hsm ? findHsm(app.config, job.vault) : findVault(app.config, job.vault))?.url;
    ctx.out.err(
      job.hsm
        ? `backing up Managed HSM ${job.vault} (${url}) as run ${job.runId}: the HSM writes its own full backup`
        : `backing up ${job.vault} (${url}) as run ${job.runId}`,
    );
    const progress = job.hsm ? undefined : backupProgress(ctx.out, job.vault);
    const r = await runBackup(app, job, {
      ...(progress ? { onProgress: progress.update } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    progress?.finish();
    results.push(r);
    printRun(ctx, r, job.hsm === true);
  }
  if (ctx.out.json) ctx.out.document({ runs: results });
  return results.every((r) => r.status === "succeeded") ? ExitCode.ok : ExitCode.failed;
}

export const backupCommand: Command = {
  name: "backup",
  usage: `kvbackup backup [--vault V]... [--hsm H]... [--kinds secrets,keys,certificates] [--tier manual|daily|weekly] [--full|--incremental]
  Backs up each vault (default: every vault in BACKUP_VAULTS and every Managed HSM in
  BACKUP_MANAGED_HSMS) in this process, with the engine the queue worker runs. --hsm H starts H's
  full backup (the HSM writes it into {BACKUP_CONTAINER}-hsm-{tier}) and waits for it. Daily runs are incremental when BACKUP_INCREMENTAL is on (objects unchanged since
  the vault's newest committed run are copied from it, server-side), others full; --full and
  --incremental ask for one. Exit 0 when every run succeeded, 1 when any is partial or failed.`,
  options: {
    vault: { type: "string", multiple: true },
    hsm: { type: "string", multiple: true },
    kinds: { type: "string" },
    tier: { type: "string" },
    full: { type: "boolean" },
    incremental: { type: "boolean" },
  },
  positionals: { min: 0, max: 0 },
  run,
};
