import {
  buildReport,
  type DrillResult,
  drillTargets,
  pointInTime,
  runDrill,
  type VaultReport,
} from "../backup/engine.js";
import { newRunId } from "../domain/runId.js";
import { unique } from "../domain/vocabulary.js";
import { type Command, ExitCode, fromOption, text, texts } from "./command.js";
import { diagnosisLines, table } from "./output.js";
import { drawBar } from "./progress.js";

export const drillCommand: Command = {
  name: "drill",
  usage: `kvbackup drill [--vault V]... [--at TIME]
  Restore drill, in this process: each vault's newest committed run (default: every vault) restored
  into the scratch vault BACKUP_DRILL_VAULT, every object proved there (metadata, versions, public
  key thumbprints, x5t; never a secret value), then everything the drill restored deleted and
  purged. Exit 0 only when every drill proved its run.
  --at TIME (ISO 8601) drills a point-in-time restore: each vault as restore --at brings it back
  (the newest run finished by then, and continuous protection's event backups taken since); an
  object from an event backup is proved to hold the version its event named, and no version the
  vault never had.
  --from copy drills the isolated copy's run (BACKUP_COPY_BLOB_URI): proof that the copy restores.`,
  options: { vault: { type: "string", multiple: true }, at: { type: "string" }, from: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const app = ctx.app();
    const from = fromOption(ctx);
    // A time is checked before anything is drilled (as restore --at checks it).
    const at = pointInTime(
      { ...(text(ctx, "at") !== undefined ? { at: text(ctx, "at") as string } : {}) },
      app.now(),
    );
    const asked = unique(texts(ctx, "vault").map((v) => v.toLowerCase()));
    const vaults = await drillTargets(app, asked.length ? asked : undefined);
    const { out } = ctx;
    const drills: DrillResult[] = [];
    for (const vault of vaults) {
      const drillId = newRunId();
      out.err(
        `drilling ${vault}${from ? " from the isolated copy" : ""} into ${app.config.drillVault?.name} (drill ${drillId})`,
      );
      const d = await runDrill(
        app,
        {
          vault,
          drillId,
          trigger: "cli",
          ...(from ? { from: "copy" as const } : {}),
          ...(at ? { at: at.toISOString() } : {}),
        },
        {
          // An operator is told at once that another drill holds the scratch vault.
          waitForScratchMs: 0,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          onProgress: (phase, done, total) =>
            drawBar(out, `${vault} ${phase.padEnd(8)}`, done, total, `${done}/${total}`),
        },
      );
      drills.push(d);
      out.out(
        `${vault}: ${d.status} — ${d.at ? `as of ${d.at}: ` : ""}run ${d.runId ?? "-"}, ${d.compared} object(s) compared (${d.againstSource ?? 0} against the vault as it is now), ${d.mismatches} mismatched, ${((d.durationMs ?? 0) / 1000).toFixed(1)} s`,
      );
      if (d.mismatchList.length)
        out.out(
          table([
            ["KIND", "NAME", "WHAT", "EXPECTED", "FOUND"],
            ...d.mismatchList
              .slice(0, 50)
              .map((m) => [m.kind, m.name, m.field, m.expected ?? "", m.actual ?? ""]),
          ]),
        );
      if (d.diagnosis) out.out(diagnosisLines(d.diagnosis, "  "));
      if (d.nearVersionLimit?.length)
        out.out(
          `  ${d.nearVersionLimit.length} object(s) have 400+ versions: ${d.nearVersionLimit.slice(0, 10).join(", ")}`,
        );
    }
    if (out.json) out.document({ drills: drills.map(drillJson) });
    return drills.every((d) => d.status === "succeeded") ? ExitCode.ok : ExitCode.failed;
  },
};

/** One drill as `drill --json` prints it (the scripts' contract). */
const drillJson = (d: DrillResult) => ({
  vault: d.vault,
  drillId: d.drillId,
  runId: d.runId,
  ...(d.at ? { at: d.at } : {}),
  ...(d.from ? { from: d.from } : {}),
  status: d.status,
  compared: d.compared,
  againstSource: d.againstSource ?? 0,
  mismatches: d.mismatchList,
  ...(d.nearVersionLimit ? { nearVersionLimit: d.nearVersionLimit } : {}),
  durationMs: d.durationMs,
  ...(d.diagnosis ? { diagnosis: d.diagnosis } : {}),
});

const age = (hours: number | undefined): string =>
  hours === undefined ? "never" : hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} d`;

const coverageText = (v: VaultReport): string => {
  const c = v.coverage;
  if (v.kind === "managedHsm") return "full HSM backup";
  if (v.notInFleet) return "not in the fleet";
  if (!c) return "unknown";
  if (c.diagnosis) return `unknown (${c.diagnosis.code})`;
  return `${c.inBackup}/${c.inVault}${c.missing.length ? `, ${c.missing.length} missing` : ""}${c.failed.length ? `, ${c.failed.length} failed` : ""}`;
};

/** The recovery point as the table shows it: how long the oldest change no backup holds has waited. */
const unsavedFor = (seconds: number | undefined): string =>
  seconds === undefined
    ? "-"
    : seconds === 0
      ? "nothing"
      : seconds < 5400
        ? `${Math.ceil(seconds / 60)} min`
        : `${Math.round(seconds / 3600)} h`;

export const reportCommand: Command = {
  name: "report",
  usage: `kvbackup report
  Per vault (and Managed HSM): the last successful backup and its age, the last restore a drill
  proved and its age, coverage (objects in the vault now against the last backup), objects near
  the 500-version limit, with BACKUP_COPY_BLOB_URI how far the isolated copy is behind, and a
  verdict — ok, or at risk with why. Exit 0 when every vault is ok.`,
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const app = ctx.app();
    const report = await buildReport(app, ctx.signal);
    const copy = app.config.copy !== undefined;
    const { ok } = report;
    const { out } = ctx;
    if (out.json) {
      out.document(report);
      return ok ? ExitCode.ok : ExitCode.failed;
    }
    out.out(
      table([
        [
          "VAULT",
          "LAST BACKUP",
          "AGE",
          "PROVEN RESTORE",
          "AGE",
          "COVERAGE",
          "UNSAVED FOR",
          ...(copy ? ["COPY BEHIND"] : []),
          "VERDICT",
        ],
        ...report.vaults.map((v) => [
          v.vault,
          v.lastBackup?.runId ?? "-",
          age(v.lastBackup?.ageHours),
          v.kind === "managedHsm" ? "n/a (HSM)" : (v.lastProvenRestore?.runId ?? "-"),
          v.kind === "managedHsm" ? "" : age(v.lastProvenRestore?.ageHours),
          coverageText(v),
          unsavedFor(v.recoveryPointSeconds),
          ...(copy ? [v.kind === "managedHsm" ? "n/a (HSM)" : unsavedFor(v.copyLagSeconds)] : []),
          v.verdict,
        ]),
      ]),
    );
    for (const u of report.unread)
      out.out(
        `subscription ${u.subscription} could not be read: its vaults are not in the fleet, and not backed up unless listed\n${diagnosisLines(u.diagnosis, "  ")}`,
      );
    for (const v of report.vaults.filter((x) => x.verdict !== "ok")) {
      out.out(`${v.vault} at risk:`);
      for (const r of v.reasons) out.out(`  - ${r}`);
      if (v.coverage?.missing.length)
        out.out(
          `    missing: ${v.coverage.missing.slice(0, 10).join(", ")}${v.coverage.missing.length > 10 ? ", …" : ""}`,
        );
    }
    return ok ? ExitCode.ok : ExitCode.failed;
  },
};
