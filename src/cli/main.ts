import { readFileSync } from "node:fs";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { createApp } from "../app.js";
import { diagnosisOf, type EngineDeps } from "../backup/engine.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import { firstLine, KvBackupError, UsageCodes } from "../domain/errors.js";
import { loadConfig } from "../loadConfig.js";
import { backupCommand } from "./backupCommand.js";
import { type Command, ExitCode, type OptionSpec } from "./command.js";
import { copyCommand } from "./copyCommand.js";
import { discoverCommand } from "./discoverCommand.js";
import { doctorCommand } from "./doctorCommand.js";
import { drillCommand, reportCommand } from "./drillCommands.js";
import { eventsCommand } from "./eventsCommand.js";
import { diagnosisLines, type Io, type Output, output, processIo } from "./output.js";
import { restoreCommand, verifyCommand } from "./restoreCommand.js";
import { listCommand, showCommand } from "./runsCommands.js";
import { withSettingsFile } from "./settingsFile.js";

const Commands: readonly Command[] = [
  backupCommand,
  listCommand,
  showCommand,
  verifyCommand,
  restoreCommand,
  discoverCommand,
  eventsCommand,
  copyCommand,
  drillCommand,
  reportCommand,
  doctorCommand,
];

const Global: Record<string, OptionSpec> = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  settings: { type: "string" },
};

export const Usage = `kvbackup — back up Azure Key Vault secrets, keys and certificates

usage:
${Commands.map((c) => `  ${c.usage.split("\n")[0]}`).join("\n")}
options: --json (exactly one JSON document on stdout), --help (kvbackup COMMAND --help for one command), --version,
  --settings FILE (the deployed app's settings: az functionapp config appsettings list output, JSON or dotenv)
settings: the app's environment variables (BACKUP_VAULTS, BACKUP_STORAGE__blobServiceUri, ...); see README.md
exit codes: 0 ok, 1 partial or failed, 2 bad usage or settings, 130 interrupted (Ctrl-C)`;

/** Options of any command that take a value: their values are never the command's name. */
const ValueOptions = new Set(
  [Global, ...Commands.map((c) => c.options)].flatMap((o) =>
    Object.entries(o)
      .filter(([, spec]) => spec.type === "string")
      .map(([name]) => name),
  ),
);

/** The command word: the first argument that is neither an option nor an option's value. */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") return argv[i + 1];
    if (a.startsWith("--")) {
      if (!a.includes("=") && ValueOptions.has(a.slice(2))) i++;
      continue;
    }
    if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/** What an interrupt leaves behind, by command: what was written before the stop stays. */
const Interrupted: Record<string, string> = {
  backup:
    "interrupted: no run committed; the blobs it wrote stay, and its row stays 'running' until the vault's next run marks it abandoned; its lease expires within a minute",
  restore:
    "interrupted: the objects restored before the stop stay in the target vault; run the same restore again and what is already there is skipped (--on-conflict skip, the default)",
  drill:
    "interrupted: what the drill restored stays in the scratch vault until the next drill purges it, and its row stays 'running' until then",
  events:
    "interrupted: the events backed up before the stop are off the queue; the others stay on it (those taken are hidden for up to 5 minutes) for the event function or the next drain",
};
const interrupted = (command: string | undefined): string =>
  (command && Interrupted[command]) || "interrupted: nothing was changed";

/** What an error means to the operator: its exit code and the words (and diagnosis) to show. */
function failure(
  e: unknown,
  command?: string,
): {
  code: number;
  error: { code: string; message: string; diagnosis?: Diagnosis };
} {
  if (e instanceof KvBackupError) {
    const diagnosis = diagnosisOf(e, { caller: "operator" });
    const message = diagnosis && e.failure ? `${diagnosis.code}: ${diagnosis.cause}` : e.message;
    if (e.code === "Aborted")
      return {
        code: ExitCode.interrupted,
        error: {
          code: e.code,
          message: interrupted(command),
        },
      };
    return {
      code: UsageCodes.has(e.code) ? ExitCode.usage : ExitCode.failed,
      error: { code: e.code, message, ...(diagnosis ? { diagnosis } : {}) },
    };
  }
  return {
    code: ExitCode.failed,
    error: { code: "Unexpected", message: `unexpected error: ${firstLine(e)}` },
  };
}

function report(out: Output, e: unknown, command?: string): number {
  const { code, error } = failure(e, command);
  out.err(`kvbackup: ${error.message}`);
  if (error.diagnosis && error.message !== `${error.diagnosis.code}: ${error.diagnosis.cause}`)
    out.err(diagnosisLines(error.diagnosis));
  else if (error.diagnosis) out.err(`  fix: ${error.diagnosis.fix}`);
  if (out.json) out.document({ error });
  return code;
}

function parse(command: Command | undefined, args: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...Global, ...(command?.options ?? {}) },
    });
  } catch (e) {
    // node:util's own words ("Unknown option '--x'"), as a usage error.
    throw new KvBackupError("BadRequest", firstLine(e) || "bad usage");
  }
  const positionals = parsed.positionals.slice(command ? 1 : 0);
  if (command) {
    const { min, max, name } = command.positionals;
    if (!parsed.values.help && positionals.length < min)
      throw new KvBackupError("BadRequest", `${command.name} takes ${name ?? "an argument"}`);
    if (positionals.length > max)
      throw new KvBackupError(
        "BadRequest",
        `${command.name} does not take '${positionals[max]}'${max ? ` (only ${name})` : ""}`,
      );
  }
  return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals };
}

type Env = Record<string, string | undefined>;

/**
 * What the identity library and TLS read from the process itself, not from the settings the CLI is
 * given: with --settings .local/stack.env from a shell that did not source it, the stack's identity
 * endpoint and CA would be ignored. Applied to this process where its environment lacks them (the
 * environment wins, as everywhere). Nothing that chooses who signs in is taken from the file — not
 * the app's identity client ids, not AZURE_TOKEN_CREDENTIALS (an app's "prod" would skip the
 * operator's az login): the CLI signs in as the operator, as the operator's shell says.
 */
function applyProcessSettings(settings: Env): void {
  for (const name of ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"])
    if (!process.env[name] && settings[name]) process.env[name] = settings[name];
  const ca = settings.NODE_EXTRA_CA_CERTS;
  if (!ca || process.env.NODE_EXTRA_CA_CERTS === ca) return;
  let pem: string;
  try {
    pem = readFileSync(ca, "utf8");
  } catch {
    throw new KvBackupError(
      "BadSettings",
      `--settings: NODE_EXTRA_CA_CERTS names ${ca}, which cannot be read`,
    );
  }
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  tls.setDefaultCACertificates([...tls.getCACertificates("default"), ...certs]);
}

/** The operator's app: the settings read as the CLI's caller, wired to the Azure adapters. */
const operatorApp = (env: Env): EngineDeps => {
  applyProcessSettings(env);
  return createApp(loadConfig(env, "operator"));
};

/**
 * Runs the CLI and returns its exit code (the bin sets process.exitCode to it). Tests pass their
 * own streams and, for the engine's unit tests, their own dependencies.
 */
export async function main(
  argv: string[],
  env: Env = process.env,
  io: Io = processIo(),
  makeApp = operatorApp,
  signal?: AbortSignal,
): Promise<number> {
  const out = output(
    io,
    argv.some((a) => a === "--json" || a.startsWith("--json=")),
  );
  const name = commandWord(argv);
  const command = Commands.find((c) => c.name === name);
  try {
    if (name !== undefined && !command)
      throw new KvBackupError("BadRequest", `unknown command '${name.slice(0, 40)}'`);
    const { values, positionals } = parse(command, argv);
    if (values.help) {
      const text = command ? command.usage : Usage;
      if (out.json) out.document({ usage: text });
      else out.out(text);
      return ExitCode.ok;
    }
    if (!command) throw new KvBackupError("BadRequest", "which command? (kvbackup --help lists them)");
    let app: EngineDeps | undefined;
    const settings = typeof values.settings === "string" ? values.settings : undefined;
    return await command.run({
      out,
      values,
      positionals,
      app: () => (app ??= makeApp(withSettingsFile(env, settings))),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    const code = report(out, e, command?.name);
    if (code === ExitCode.usage && !(e instanceof KvBackupError && e.code === "BadSettings"))
      out.err(`\n${command?.usage ?? Usage}`);
    return code;
  }
}
