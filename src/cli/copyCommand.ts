import {
  type CopyPass,
  copyPass,
  fleetOf,
  goneVaults,
  requireCopy,
  sourceVault,
  withFleet,
} from "../backup/engine.js";
import { unique } from "../domain/vocabulary.js";
import { type Command, ExitCode, texts } from "./command.js";
import { diagnosisLines, formatBytes, table } from "./output.js";

const behind = (seconds: number | undefined): string =>
  seconds === undefined ? "-" : seconds === 0 ? "nothing" : `${(seconds / 3600).toFixed(1)} h`;

export const copyCommand: Command = {
  name: "copy",
  usage: `kvbackup copy [--vault V]...
  Copies to the isolated copy (BACKUP_COPY_BLOB_URI) what it still owes of each vault (default:
  every vault of the fleet, and every vault gone from it that ran lately): committed runs not yet copied (newest first, 10 per vault at a time),
  each verified against its manifest there, and the vault's event backups. What each backup run
  does after it commits, now — after an outage of the copy account. Exit 0 when everything owed
  is copied and verified.`,
  options: { vault: { type: "string", multiple: true } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const app = await withFleet(ctx.app(), ctx.signal);
    const copy = requireCopy(app, "kvbackup copy");
    const asked = unique(texts(ctx, "vault").map((v) => v.toLowerCase()));
    // A vault gone from the fleet (deleted, untagged) still has runs the copy owes: the backups
    // that matter most then. A name with no runs and not in the fleet is refused (a typo).
    const vaults = asked.length
      ? await Promise.all(asked.map((v) => sourceVault(app, v, ctx.signal)))
      : [...app.config.vaults.map((v) => v.name), ...(await goneVaults(app, fleetOf(app)))];
    const passes: CopyPass[] = [];
    for (const vault of unique(vaults)) {
      ctx.out.err(`copying what ${copy.where} owes of ${vault}`);
      passes.push(await copyPass({ ...app, copy }, vault, undefined, ctx.signal));
    }
    const ok = passes.every(
      (p) =>
        !p.unread &&
        p.runs.every((r) => r.status !== "failed") &&
        p.events.failed === 0 &&
        !p.events.diagnosis,
    );
    if (ctx.out.json) {
      ctx.out.document({ ok, copy: copy.where, vaults: passes });
      return ok ? ExitCode.ok : ExitCode.failed;
    }
    const rows = passes.flatMap((p) =>
      p.runs.map((r) => [
        p.vault,
        r.runId,
        r.status,
        String(r.blobs),
        formatBytes(r.bytes),
        r.method ?? "",
        r.diagnosis?.code ?? "",
      ]),
    );
    if (rows.length)
      ctx.out.out(table([["VAULT", "RUN", "COPY", "BLOBS", "BYTES", "HOW", "DIAGNOSIS"], ...rows]));
    for (const p of passes) {
      ctx.out.out(
        `${p.vault}: ${p.runs.length ? `${p.runs.filter((r) => r.status === "copied").length}/${p.runs.length} run(s) copied` : p.unread ? "the runs it owes are not known (the backup account's inventory did not answer)" : "no run owed"}, event backups: ${p.events.added} added now (${p.events.verified} read back as recorded${p.events.failed ? `, ${p.events.failed} NOT as recorded` : ""}), ${p.events.present} there before, copy behind: ${behind(p.lagSeconds)}`,
      );
      for (const r of p.runs) {
        if (r.fellBack) ctx.out.out(`  ${r.runId}: streamed through this process: ${r.fellBack}`);
        if (r.diagnosis && r.status !== "copied") ctx.out.out(diagnosisLines(r.diagnosis, "  "));
      }
      if (p.unread) ctx.out.out(diagnosisLines(p.unread, "  "));
      if (p.events.diagnosis) ctx.out.out(diagnosisLines(p.events.diagnosis, "  "));
    }
    return ok ? ExitCode.ok : ExitCode.failed;
  },
};
