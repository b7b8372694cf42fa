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
    out[m[1] as string] = (m[2] as string)
      .trim()
      .replace(/^'(.*)'$/, "$1")
      .replace(/^"(.*)"$/, "$1");
  }
  return out;
}

function fromJson(path: string, text: string): Env {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KvBackupError("BadSettings", `--settings: ${path} is not valid JSON`);
  }
  if (Array.isArray(json)) {
    const out: Env = {};
    for (const item of json as { name?: unknown; value?: unknown }[])
      if (
        typeof item?.name === "string" &&
        (typeof item.value === "string" || typeof item.value === "number")
      )
        out[item.name] = String(item.value);
    return out;
  }
  if (json && typeof json === "object") {
    // local.settings.json keeps them under Values.
    const values = ((json as { Values?: unknown }).Values ?? json) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(values)
        .filter(([, v]) => typeof v === "string")
        .map(([k, v]) => [k, v as string]),
    );
  }
  throw new KvBackupError("BadSettings", `--settings: ${path} holds no settings`);
}

/** The settings a command runs with: the file's (when given), then the environment over them. */
export const withSettingsFile = (env: Env, path: string | undefined): Env =>
  path ? { ...readSettingsFile(path), ...env } : env;
