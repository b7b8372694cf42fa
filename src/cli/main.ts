import { parseArgs } from "node:util";
import { createApp } from "../app.js";
import { loadConfig } from "../config.js";
import { isKvBackupError } from "../errors.js";
import { backupCommand, doctorCommand, ExitCode, listCommand, showCommand } from "./commands.js";
import { consoleOutput } from "./output.js";
import { restoreCommand, verifyCommand } from "./restoreCommands.js";

export const Usage = `kvbackup — back up Azure Key Vault secrets, keys and certificates

usage:
  kvbackup backup [--vault V]... [--kinds secrets,keys,certificates] [--tier manual|daily|weekly]
  kvbackup list [--vault V] [--status S] [--top N]
  kvbackup show RUNID
  kvbackup verify RUNID|latest [--vault V]
  kvbackup restore RUNID|latest --vault V [--to T] [--only kind/name]... [--dry-run] [--on-conflict skip|fail]
  kvbackup doctor
options: --json (one JSON document on stdout), --help
settings: the app's environment variables (BACKUP_VAULTS, BACKUP_STORAGE__blobServiceUri, ...); see README.md
exit codes: 0 ok, 1 partial or failed, 2 bad usage or settings`;

/** Runs the CLI and returns its exit code (the bin calls process.exit with it). */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        vault: { type: "string", multiple: true },
        kinds: { type: "string" },
        tier: { type: "string" },
        status: { type: "string" },
        top: { type: "string" },
        to: { type: "string" },
        only: { type: "string", multiple: true },
        "dry-run": { type: "boolean" },
        "on-conflict": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${Usage}\n`);
    return ExitCode.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const out = consoleOutput(values.json === true);
  if (values.help || !command) {
    (command ? out.out : out.err)(Usage);
    return values.help ? ExitCode.ok : ExitCode.usage;
  }
  try {
    const app = createApp(loadConfig(env));
    const vaults = (values.vault as string[] | undefined) ?? [];
    switch (command) {
      case "backup":
        return await backupCommand(app, out, {
          vaults,
          ...(typeof values.kinds === "string" ? { kinds: values.kinds } : {}),
          ...(typeof values.tier === "string" ? { tier: values.tier } : {}),
        });
      case "list":
        return await listCommand(app, out, {
          ...(vaults[0] ? { vault: vaults[0] } : {}),
          ...(typeof values.status === "string" ? { status: values.status } : {}),
          ...(typeof values.top === "string" ? { top: values.top } : {}),
        });
      case "show":
        return await showCommand(app, out, rest[0]);
      case "doctor":
        return await doctorCommand(app, out);
      case "verify":
        return await verifyCommand(app, out, rest[0], vaults[0]);
      case "restore":
        return await restoreCommand(app, out, {
          ...(rest[0] ? { ref: rest[0] } : {}),
          ...(vaults[0] ? { vault: vaults[0] } : {}),
          ...(typeof values.to === "string" ? { to: values.to } : {}),
          only: (values.only as string[] | undefined) ?? [],
          dryRun: values["dry-run"] === true,
          ...(typeof values["on-conflict"] === "string" ? { onConflict: values["on-conflict"] } : {}),
        });
      default:
        out.err(`unknown command '${command}'\n\n${Usage}`);
        return ExitCode.usage;
    }
  } catch (e) {
    if (
      isKvBackupError(e, "BadSettings") ||
      isKvBackupError(e, "BadRequest") ||
      isKvBackupError(e, "VaultNotAllowed")
    ) {
      out.err(`kvbackup: ${e.message}`);
      if (out.json) out.document({ error: { code: e.code, message: e.message } });
      return ExitCode.usage;
    }
    const message = e instanceof Error ? e.message : String(e);
    out.err(`kvbackup: ${message}`);
    if (out.json) out.document({ error: { code: isKvBackupError(e) ? e.code : "Error", message } });
    return ExitCode.failed;
  }
}
