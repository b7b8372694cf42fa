import { listRuns, showRun } from "../backup/engine.js";
import { type InventoryRow, totalOf } from "../domain/inventory.js";
import { RowStatuses } from "../domain/vocabulary.js";
import { type Command, ExitCode, text, usageError } from "./command.js";
import { diagnosisLines, formatBytes, table } from "./output.js";

export const listCommand: Command = {
  name: "list",
  usage: `kvbackup list [--vault V] [--status ${RowStatuses.join("|")}] [--top N]
  Runs from the inventory, newest first (default 20).`,
  options: { vault: { type: "string" }, status: { type: "string" }, top: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const topText = text(ctx, "top") ?? "20";
    const top = Number(topText);
    if (!/^\d{1,3}$/.test(topText) || top < 1 || top > 500)
      throw usageError("--top takes a number from 1 to 500");
    const status = text(ctx, "status") as InventoryRow["status"] | undefined;
    if (status && !RowStatuses.includes(status)) throw usageError(`--status takes ${RowStatuses.join(", ")}`);
    const vault = text(ctx, "vault")?.toLowerCase();
    const app = ctx.app();
    const copy = app.config.copy !== undefined;
    const runs = await listRuns(
      app,
      { ...(vault ? { vault } : {}), ...(status ? { status } : {}), top },
      ctx.signal,
    );
    if (ctx.out.json) ctx.out.document({ runs });
    else if (runs.length === 0) ctx.out.out("no runs yet");
    else
      ctx.out.out(
        table([
          [
            "RUN",
            "VAULT",
            "TIER",
            "STATUS",
            "OBJECTS",
            "BYTES",
            "STARTED",
            "FIRST FAILURE",
            ...(copy ? ["COPY"] : []),
          ],
          ...runs.map((r) => [
            r.runId,
            r.vault,
            r.tier,
            r.status,
            String(totalOf(r.counts, "backedUp")),
            formatBytes(r.bytes),
            r.startedAt,
            r.firstFailureCode ?? "",
            ...(copy ? [r.copy ? `${r.copy.status}${r.copy.code ? ` (${r.copy.code})` : ""}` : "-"] : []),
          ]),
        ]),
      );
    return ExitCode.ok;
  },
};

export const showCommand: Command = {
  name: "show",
  usage: `kvbackup show RUNID
  One run: its inventory row, its counts and, once committed, its manifest's failures with their fixes.
  Exit 0 for a succeeded run, 1 otherwise.`,
  options: {},
  positionals: { min: 1, max: 1, name: "RUNID" },
  async run(ctx) {
    const shown = await showRun(ctx.app(), ctx.positionals[0] as string, ctx.signal);
    const { run, manifest, manifestProblem } = shown;
    const code = run.status === "succeeded" && manifest ? ExitCode.ok : ExitCode.failed;
    if (ctx.out.json) {
      ctx.out.document(shown);
      return code;
    }
    const out = ctx.out;
    out.out(`${run.runId}  ${run.vault}  ${run.tier}/${run.trigger}  ${run.status}`);
    out.out(
      `started ${run.startedAt}${run.finishedAt ? `, finished ${run.finishedAt} (${((run.durationMs ?? 0) / 1000).toFixed(1)} s)` : ""}`,
    );
    const hsm = manifest?.hsm;
    if (hsm) {
      out.out(
        `Managed HSM full backup (job ${hsm.jobId}): ${hsm.files.length} file(s), ${formatBytes(run.bytes)} in ${hsm.container}/${hsm.folder}/`,
      );
      out.out(`manifest: ${run.manifest}`);
      return code;
    }
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
        out.out(`  failed ${f.kind}/${f.name}:\n${diagnosisLines(f.diagnosis, "    ")}`);
    } else if (manifestProblem)
      out.out(`manifest: ${run.manifest} cannot be trusted\n${diagnosisLines(manifestProblem)}`);
    else
      out.out(
        run.status === "running" ? "not committed yet (no manifest)" : "no manifest: the run did not commit",
      );
    if (run.firstFailureCode && !manifest) out.out(`first failure: ${run.firstFailureCode}`);
    return code;
  },
};
