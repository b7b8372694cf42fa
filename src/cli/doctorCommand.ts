import { type Check, checkHealth, type VaultHealth } from "../backup/engine.js";
import { type Command, ExitCode } from "./command.js";
import type { Output } from "./output.js";
import { diagnosisLines } from "./output.js";

/** ok, FAIL, or note: a capability the configuration does not promise (it fails nothing). */
const mark = (check: Check): string => (check.ok ? "ok  " : check.optional ? "note" : "FAIL");

/** Prints each check; a diagnosis already printed in full (one identity failing every check) is named, not repeated. */
function printer(out: Output): (check: Check, what: string) => void {
  const shown = new Set<string>();
  return (check, what) => {
    out.out(`${mark(check)} ${what}`);
    if (!check.ok && check.notice) out.out(`     ${check.notice}`);
    const d = check.diagnosis;
    if (!d) return;
    const key = `${d.code}\n${d.cause}\n${d.fix}`;
    if (shown.has(key)) out.out(`     ${d.code}: as above`);
    else out.out(diagnosisLines(d, "     "));
    shown.add(key);
  };
}

type Line = ReturnType<typeof printer>;

/** A vault's checks; the rights it lacks that the configuration does not promise, as one note. */
function vault(line: Line, out: Output, v: VaultHealth): void {
  const noted = (c: Check | undefined): boolean => c !== undefined && !c.ok && c.optional === true;
  for (const [what, checks] of [
    ["list + backup", v.kinds],
    ["list + restore", v.restore],
  ] as const) {
    for (const [kind, check] of Object.entries(checks))
      if (!noted(check)) line(check, `${v.name} ${kind}: ${what}`);
    const notes = Object.entries(checks).filter(([, c]) => noted(c));
    if (notes.length === 0) continue;
    out.out(
      `note ${v.name} ${notes.map(([k]) => k).join(", ")}: ${what} (${notes[0]?.[1].diagnosis?.code ?? "refused"})`,
    );
    if (notes[0]?.[1].notice) out.out(`     ${notes[0][1].notice}`);
  }
}

export const doctorCommand: Command = {
  name: "doctor",
  usage: `kvbackup doctor
  Proves, from this machine, every path the app uses: the container (write, read, delete a probe blob),
  both job queues (send, delete, peek), the inventory table (write, read, delete a row); for each backup
  vault and kind the right to list and back up (discovered vaults too), for every vault a restore may
  target the right to list and restore, for each BACKUP_SUBSCRIPTIONS subscription the right to
  list its Key Vaults, and for each Managed HSM the service's pre-backup check (the app may start a
  backup and the HSM, as itself, may write its container through the storage firewall); with
  BACKUP_COPY_BLOB_URI, the isolated copy: reachable, the app may add (a marker blob a day, kept),
  and its role refuses it an overwrite and a delete there. Each failure comes with its diagnosis
  and fix. Exit 0 only when all pass.`,
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const report = await checkHealth(ctx.app(), ctx.signal);
    const { out } = ctx;
    if (out.json) {
      out.document(report);
      return report.ok ? ExitCode.ok : ExitCode.failed;
    }
    const who = report.identity;
    out.out(
      who
        ? `as ${who.name ?? who.oid ?? "?"} (${who.kind}${who.oid ? `, oid ${who.oid}` : ""}${who.tenant ? `, tenant ${who.tenant}` : ""}), signed in by ${who.via}`
        : "as nobody: no credential could get a token (below)",
    );
    const s = report.storage;
    const line = printer(out);
    line(s.checks.blob, `storage container '${s.container}': write, read, delete a probe blob`);
    line(s.checks.backupQueue, "queue backup-jobs: send + delete + peek");
    line(s.checks.restoreQueue, "queue restore-jobs: send + delete + peek");
    line(s.checks.table, "inventory table: write, read, delete a row");
    if (s.checks.events)
      line(s.checks.events, "events queue (BACKUP_EVENTS_QUEUE, continuous protection): peek");
    if (report.deadLetters)
      line(
        report.deadLetters,
        "events dead letters (BACKUP_EVENTS_DEADLETTER_CONTAINER): none, Event Grid delivered every event",
      );
    if (report.copy) {
      const c = report.copy;
      line(c.checks.read, `isolated copy ${c.where}: reachable, list blobs`);
      line(c.checks.add, "isolated copy: add a blob (its marker, kept)");
      line(c.checks.noOverwrite, "isolated copy: overwrite refused to the app (append-only)");
      line(c.checks.noDelete, "isolated copy: delete refused to the app (append-only)");
    }
    for (const d of report.discovery) line(d, `subscription ${d.subscription}: list Key Vaults (discovery)`);
    for (const v of report.vaults) vault(line, out, v);
    for (const v of report.restoreTargets) vault(line, out, v);
    if (report.drillVault) {
      vault(line, out, { ...report.drillVault, name: `${report.drillVault.name} (drill scratch vault)` });
      if (report.drillVault.problem)
        line(
          { ok: false, diagnosis: report.drillVault.problem },
          `${report.drillVault.name}: the drill's alone`,
        );
      if (report.drillVault.skipped) out.out(`skip ${report.drillVault.name}: ${report.drillVault.skipped}`);
    }
    for (const h of report.hsms)
      if (h.skipped) out.out(`skip Managed HSM ${h.name}: ${h.skipped}`);
      else
        line(
          h,
          `Managed HSM ${h.name}: pre-backup check (start a backup; the HSM writes the container as itself)`,
        );
    const notes = [...report.vaults, ...report.restoreTargets].filter((v) =>
      [...Object.values(v.kinds), ...Object.values(v.restore)].some((c) => c && !c.ok && c.optional),
    ).length;
    out.out(
      report.ok
        ? `all checks passed${notes ? ` (notes on ${notes} vault(s) above: rights this configuration does not promise)` : ""}`
        : "some checks failed: see the fixes above and docs/troubleshooting.md",
    );
    return report.ok ? ExitCode.ok : ExitCode.failed;
  },
};
