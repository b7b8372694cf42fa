import { withFleet } from "../backup/fleet.js";
import type { RunResult } from "../backup/run/record.js";
import { runVault } from "../backup/run/runVault.js";
import { findHsm, findVault } from "../domain/config.js";
import { newRunId } from "../domain/runId.js";
import { isKind, Kinds, type Mode, type Tier, Tiers, unique } from "../domain/vocabulary.js";
import { type Command, type CommandContext, ExitCode, text, texts, usageError } from "./command.js";
import { diagnosisLines, formatBytes } from "./output.js";
import { backupProgress } from "./progress.js";

function kindsOf(raw: string | undefined) {
  if (raw === undefined) return undefined;
  const kinds = unique(
    raw
      .split(",")
      .map((k) => k.trim().toLowerCase())
      .filter(Boolean),
  );
  if (kinds.length === 0 || !kinds.every(isKind))
    throw usageError(`--kinds takes a subset of ${Kinds.join(",")}`);
  return Kinds.filter((k) => kinds.includes(k));
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
  // The fleet as the timer sees it: BACKUP_VAULTS plus the vaults discovery finds.
  const app = await withFleet(ctx.app(), ctx.signal);
  const names = unique(texts(ctx, "vault").map((n) => n.toLowerCase()));
  const hsmNames = unique(texts(ctx, "hsm").map((n) => n.toLowerCase()));
  const everything = names.length === 0 && hsmNames.length === 0;
  const vaults = everything ? [...app.config.vaults] : names.map((n) => findVault(app.config, n));
  if (hsmNames.length > 0 && names.length === 0 && (kinds || mode === "incremental"))
    throw usageError(
      "a Managed HSM backup is always a full backup of every key: --kinds and --incremental apply to --vault only",
    );
  // --kinds for every vault: an HSM holds neither secrets nor certificates; it is not included.
  const hsms = everything ? (kinds ? [] : [...app.config.hsms]) : hsmNames.map((n) => findHsm(app.config, n));
  const missingHsms = hsmNames.filter((_, i) => !hsms[i]);
  if (missingHsms.length > 0)
    throw usageError(
      `Managed HSM '${missingHsms.join("', '")}' is not in BACKUP_MANAGED_HSMS (${app.config.hsms.map((x) => x.name).join(", ") || "none"})`,
    );
  const missing = names.filter((_, i) => !vaults[i]);
  if (missing.length > 0)
    throw usageError(
      `vault '${missing.join("', '")}' is neither in BACKUP_VAULTS nor discovered (${app.config.vaults.map((x) => x.name).join(", ")})`,
    );
  const { out } = ctx;
  const results: RunResult[] = [];
  for (const vault of vaults) {
    if (!vault) continue;
    const job = {
      runId: newRunId(),
      vault: vault.name,
      tier,
      trigger: "cli" as const,
      ...(kinds ? { kinds } : {}),
      ...(mode ? { mode } : {}),
    };
    out.err(`backing up ${vault.name} (${vault.url}) as run ${job.runId}`);
    const progress = backupProgress(out, vault.name);
    const r = await runVault(app, job, {
      onProgress: progress.update,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    progress.finish();
    results.push(r);
    out.out(summary(r));
    if (r.diagnosis)
      out.out(
        `  the run stopped ${r.stoppedAt === "preflight" ? "at the storage preflight" : "mid-run"}:\n${diagnosisLines(r.diagnosis, "    ")}`,
      );
    for (const f of r.failed) out.out(`  ${f.kind}/${f.name}:\n${diagnosisLines(f.diagnosis, "    ")}`);
    if (r.inventoryStale)
      out.out(
        "  committed, but the inventory row could not be written; the next run of this vault repairs it",
      );
  }
  for (const hsm of hsms) {
    if (!hsm) continue;
    const job = { runId: newRunId(), vault: hsm.name, tier, trigger: "cli" as const, hsm: true };
    out.err(
      `backing up Managed HSM ${hsm.name} (${hsm.url}) as run ${job.runId}: the HSM writes its own full backup`,
    );
    const r = await runVault(app, job, ctx.signal ? { signal: ctx.signal } : {});
    results.push(r);
    out.out(hsmSummary(r));
    if (r.diagnosis) out.out(`  the HSM backup failed:\n${diagnosisLines(r.diagnosis, "    ")}`);
  }
  if (out.json) out.document({ runs: results });
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
