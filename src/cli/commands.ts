import type { App } from "../app.js";
import { checkHealth, type HealthReport } from "../backup/health.js";
import type { Manifest, Tier } from "../backup/manifest.js";
import { newRunId, RunIdPattern } from "../backup/runId.js";
import { type RunResult, runVault } from "../backup/runVault.js";
import { findVault, type Kind, Kinds } from "../config.js";
import { KvBackupError } from "../errors.js";
import type { InventoryRow } from "../storage/inventory.js";
import { formatBytes, type Output, table } from "./output.js";
import { progressReporter } from "./progress.js";

export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

const usage = (message: string): KvBackupError => new KvBackupError("BadRequest", message);

function vaultsFrom(app: App, names: string[]) {
  if (names.length === 0) return [...app.config.vaults];
  return names.map((n) => {
    const v = findVault(app.config, n);
    if (!v)
      throw usage(
        `vault '${n}' is not in BACKUP_VAULTS (${app.config.vaults.map((x) => x.name).join(", ")})`,
      );
    return v;
  });
}

/** kvbackup backup: runs each vault in this process, the same engine the queue worker runs. */
export async function backupCommand(
  app: App,
  out: Output,
  opts: { vaults: string[]; kinds?: string; tier?: string },
): Promise<number> {
  const tier = (opts.tier ?? "manual") as Tier;
  if (!["manual", "daily", "weekly"].includes(tier)) throw usage(`--tier must be manual, daily or weekly`);
  let kinds: Kind[] | undefined;
  if (opts.kinds) {
    kinds = opts.kinds.split(",").map((k) => k.trim()) as Kind[];
    if (kinds.some((k) => !(Kinds as readonly string[]).includes(k)))
      throw usage(`--kinds takes a subset of ${Kinds.join(",")}`);
  }
  const results: RunResult[] = [];
  for (const vault of vaultsFrom(app, opts.vaults)) {
    const job = {
      runId: newRunId(),
      vault: vault.name,
      tier,
      trigger: "cli" as const,
      ...(kinds ? { kinds } : {}),
    };
    out.err(`backing up ${vault.name} (${vault.url}) as run ${job.runId}`);
    const progress = progressReporter(out, vault.name);
    const r = await runVault({ ...app.engine, onProgress: progress.update }, job);
    progress.finish();
    results.push(r);
    if (r.preflight)
      out.err(
        `  storage preflight failed — ${r.preflight.code}: ${r.preflight.cause}\n  fix: ${r.preflight.fix}`,
      );
    const c = r.counts;
    out.out(
      `${r.vault} ${r.runId}: ${r.status}  secrets ${c.secrets.backedUp}, keys ${c.keys.backedUp}, certificates ${c.certificates.backedUp}; ` +
        `skipped ${c.secrets.skipped + c.keys.skipped + c.certificates.skipped}; failed ${r.failed.length}; ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s`,
    );
    for (const f of r.failed)
      out.out(`  ${f.kind}/${f.name}: ${f.code} — ${f.diagnosis.cause}\n    fix: ${f.diagnosis.fix}`);
  }
  if (out.json) out.document({ runs: results });
  return results.every((r) => r.status === "succeeded") ? ExitCode.ok : ExitCode.failed;
}

export async function listCommand(
  app: App,
  out: Output,
  opts: { vault?: string; status?: string; top?: string },
): Promise<number> {
  const top = opts.top ? Number(opts.top) : 20;
  if (!Number.isInteger(top) || top < 1 || top > 500) throw usage("--top takes a number from 1 to 500");
  if (opts.status && !["running", "succeeded", "partial", "failed"].includes(opts.status))
    throw usage("--status: running, succeeded, partial or failed");
  const runs = await app.inventory.list({
    ...(opts.vault ? { vault: opts.vault } : {}),
    ...(opts.status ? { status: opts.status as InventoryRow["status"] } : {}),
    top,
  });
  if (out.json) {
    out.document({ runs });
    return ExitCode.ok;
  }
  if (runs.length === 0) out.out("no runs yet");
  else {
    const total = (r: InventoryRow) => Object.values(r.counts).reduce((n, c) => n + c.backedUp, 0);
    out.out(
      table([
        ["RUN", "VAULT", "TIER", "STATUS", "OBJECTS", "BYTES", "STARTED", "FIRST FAILURE"],
        ...runs.map((r) => [
          r.runId,
          r.vault,
          r.tier,
          r.status,
          String(total(r)),
          formatBytes(r.bytes),
          r.startedAt,
          r.firstFailureCode ?? "",
        ]),
      ]),
    );
  }
  return ExitCode.ok;
}

export async function showCommand(app: App, out: Output, runId: string | undefined): Promise<number> {
  if (!runId || !RunIdPattern.test(runId))
    throw usage("show takes a runId (yyyyMMddTHHmmssZ-xxxxxx); see kvbackup list");
  const run = await app.inventory.get(runId);
  if (!run) throw new KvBackupError("NotFound", `no run ${runId}`);
  const manifest: Manifest | undefined = await app.store.readManifest(run.manifest);
  if (out.json) {
    out.document({ run, ...(manifest ? { manifest } : {}) });
    return run.status === "succeeded" ? ExitCode.ok : ExitCode.failed;
  }
  out.out(`${run.runId}  ${run.vault}  ${run.tier}/${run.trigger}  ${run.status}`);
  out.out(
    `started ${run.startedAt}${run.finishedAt ? `, finished ${run.finishedAt} (${((run.durationMs ?? 0) / 1000).toFixed(1)} s)` : ""}`,
  );
  out.out(
    table([
      ["KIND", "BACKED UP", "SKIPPED", "FAILED"],
      ...Object.entries(run.counts).map(([k, c]) => [
        k,
        String(c.backedUp),
        String(c.skipped),
        String(c.failed),
      ]),
    ]),
  );
  if (manifest) {
    out.out(`manifest: ${run.manifest} (${manifest.items.length} blobs, ${formatBytes(run.bytes)})`);
    for (const f of manifest.failed)
      out.out(`  failed ${f.kind}/${f.name}: ${f.code} — ${f.diagnosis.cause}\n    fix: ${f.diagnosis.fix}`);
  } else
    out.out(
      run.status === "running" ? "not committed yet (no manifest)" : "no manifest: the run did not commit",
    );
  return run.status === "succeeded" ? ExitCode.ok : ExitCode.failed;
}

export async function doctorCommand(app: App, out: Output): Promise<number> {
  const report: HealthReport = await checkHealth(app);
  if (out.json) {
    out.document(report);
    return report.ok ? ExitCode.ok : ExitCode.failed;
  }
  const mark = (ok: boolean) => (ok ? "ok  " : "FAIL");
  out.out(
    `${mark(report.storage.ok)} storage container '${report.storage.container}' (write + delete a probe blob, inventory table)`,
  );
  if (report.storage.diagnosis)
    out.out(
      `     ${report.storage.diagnosis.code}: ${report.storage.diagnosis.cause}\n     fix: ${report.storage.diagnosis.fix}`,
    );
  for (const v of report.vaults) {
    for (const [kind, check] of Object.entries(v.kinds)) {
      out.out(`${mark(check.ok)} ${v.name} ${kind}: list + backup`);
      if (check.diagnosis)
        out.out(`     ${check.diagnosis.code}: ${check.diagnosis.cause}\n     fix: ${check.diagnosis.fix}`);
    }
  }
  out.out(
    report.ok ? "all checks passed" : "some checks failed: see the fixes above and docs/troubleshooting.md",
  );
  return report.ok ? ExitCode.ok : ExitCode.failed;
}
