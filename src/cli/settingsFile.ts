import { readFileSync } from "node:fs";
import { KvBackupError } from "../domain/errors.js";

type Env = Record<string, string | undefined>;

/**
 * The deployed app's settings, so the on-call engineer need not retype them: the JSON that
 * `az functionapp config appsettings list` prints ([{name, value, slotSetting}]), a JSON object
 * {NAME: value}, or dotenv lines (NAME=value, as .local/stack.env). The environment still wins over
 * the file, so one setting can be changed for one command.
 */
export function readSettingsFile(path: string): Env {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new KvBackupError(
      "BadSettings",
      `--settings: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) return fromJson(path, trimmed);
  const out: Env = {};
  for (const line of text.split(/\r?\n/)) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!m || line.trim().startsWith("#")) continue;
    out[m[1] as string] = dotenvValue(m[2] as string);
  }
  return out;
}

/** A dotenv value: inside its quotes when quoted, else up to an inline " #" comment. */
function dotenvValue(raw: string): string {
  const v = raw.trim();
  const quoted = v.match(/^(["'])(.*?)\1(\s+#.*)?$/);
  if (quoted) return quoted[2] as string;
  return v.replace(/\s+#.*$/, "");
}

/** A setting's value from JSON: text as it is; a number or true/false as text; anything else is refused. */
function jsonValue(path: string, name: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new KvBackupError(
    "BadSettings",
    `--settings: ${path}: ${name.slice(0, 80)} is ${Array.isArray(value) ? "a list" : "an object"}; app settings are text (e.g. "secrets,keys")`,
  );
}

function fromJson(path: string, text: string): Env {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KvBackupError("BadSettings", `--settings: ${path} is not valid JSON`);
  }
  const out: Env = {};
  if (Array.isArray(json)) {
    for (const item of json as { name?: unknown; value?: unknown }[]) {
      if (typeof item?.name !== "string") continue;
      const value = jsonValue(path, item.name, item.value);
      if (value !== undefined) out[item.name] = value;
    }
    return out;
  }
  if (json && typeof json === "object") {
    // local.settings.json keeps them under Values.
    const values = ((json as { Values?: unknown }).Values ?? json) as Record<string, unknown>;
    if (!values || typeof values !== "object" || Array.isArray(values))
      throw new KvBackupError("BadSettings", `--settings: ${path}: Values is not an object of settings`);
    for (const [name, raw] of Object.entries(values)) {
      const value = jsonValue(path, name, raw);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  throw new KvBackupError("BadSettings", `--settings: ${path} holds no settings`);
}

/** The settings a command runs with: the file's (when given), then the environment over them. */
export const withSettingsFile = (env: Env, path: string | undefined): Env =>
  path ? { ...readSettingsFile(path), ...env } : env;
