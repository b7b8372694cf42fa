import { z } from "zod";
import { KvBackupError } from "./errors.js";

export const Kinds = ["secrets", "keys", "certificates"] as const;
export type Kind = (typeof Kinds)[number];
export const WeekDays = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
] as const;
export type WeekDay = (typeof WeekDays)[number];

export interface VaultRef {
  name: string;
  url: string;
}

export type StorageConfig =
  | { kind: "connectionString"; connectionString: string }
  | {
      kind: "identity";
      blobServiceUri: string;
      queueServiceUri: string;
      tableServiceUri: string;
      clientId?: string;
    };

export interface Config {
  vaults: readonly VaultRef[];
  restoreTargets: readonly VaultRef[];
  storage: StorageConfig;
  container: string;
  inventoryTable: string;
  schedule: string;
  weeklyDay: WeekDay;
  kinds: readonly Kind[];
  ratePer10s: number;
  /** POST /api/restores requires the Backup.Restore app role (from App Service authentication). */
  restoreRequireRole: boolean;
  clientId?: string;
  appInsightsConnectionString?: string;
}

export const Queues = { backup: "backup-jobs", restore: "restore-jobs" } as const;

const VaultName = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const VaultHost =
  /^([a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9])\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)$/i;

/** "name", "https://name.vault.azure.net" or "name=https://host:port" (hosts that do not carry the name). */
function parseVault(entry: string): VaultRef | string {
  const eq = entry.indexOf("=");
  if (eq > 0) {
    const name = entry.slice(0, eq).trim();
    const raw = entry.slice(eq + 1).trim();
    if (!VaultName.test(name))
      return `'${name}' is not a vault name (3-24 letters, digits and -, starting with a letter)`;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return `'${raw}' is not a URL`;
    }
    if (url.protocol !== "https:") return `'${raw}' must be https`;
    return { name, url: url.origin };
  }
  if (entry.includes("://")) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return `'${entry}' is not a URL`;
    }
    const m = url.hostname.match(VaultHost);
    if (url.protocol !== "https:" || !m) {
      return `'${entry}' is not a Key Vault URL (https://NAME.vault.azure.net); use NAME=URL for other hosts`;
    }
    return { name: (m[1] as string).toLowerCase(), url: url.origin };
  }
  if (!VaultName.test(entry))
    return `'${entry}' is not a vault name (3-24 letters, digits and -, starting with a letter)`;
  return { name: entry.toLowerCase(), url: `https://${entry.toLowerCase()}.vault.azure.net` };
}

const vaultList = (required: boolean) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): VaultRef[] => {
      const entries = (raw ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (required && entries.length === 0) {
        ctx.addIssue({
          code: "custom",
          message: "required: vaults to back up, e.g. contoso-kv or contoso-kv=https://10.0.0.4",
        });
        return [];
      }
      const out: VaultRef[] = [];
      for (const entry of entries) {
        const v = parseVault(entry);
        if (typeof v === "string") ctx.addIssue({ code: "custom", message: v });
        else if (out.some((o) => o.name === v.name))
          ctx.addIssue({ code: "custom", message: `vault '${v.name}' is listed twice` });
        else out.push(v);
      }
      return out;
    });

const httpsUri = z
  .string()
  .trim()
  .refine((s) => {
    try {
      return new URL(s).protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an https:// URL")
  .transform((s) => s.replace(/\/+$/, ""));

const optionalText = z
  .string()
  .optional()
  .transform((s) => (s?.trim() ? s.trim() : undefined));

const Schema = z.object({
  BACKUP_VAULTS: vaultList(true),
  RESTORE_TARGET_VAULTS: vaultList(false),
  BACKUP_STORAGE: optionalText,
  BACKUP_STORAGE__blobServiceUri: httpsUri.optional(),
  BACKUP_STORAGE__queueServiceUri: httpsUri.optional(),
  BACKUP_STORAGE__tableServiceUri: httpsUri.optional(),
  BACKUP_STORAGE__credential: optionalText.refine(
    (s) => s === undefined || s.toLowerCase() === "managedidentity",
    "must be managedidentity",
  ),
  BACKUP_STORAGE__clientId: optionalText,
  BACKUP_CONTAINER: z
    .string()
    .default("keyvault-backups")
    .refine(
      (s) => /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(s),
      "3-63 lowercase letters, digits and single hyphens",
    ),
  BACKUP_INVENTORY_TABLE: z
    .string()
    .default("backupinventory")
    .refine((s) => /^[A-Za-z][A-Za-z0-9]{2,62}$/.test(s), "3-63 letters and digits, starting with a letter"),
  BACKUP_SCHEDULE: z
    .string()
    .default("0 0 2 * * *")
    .refine(
      (s) => s.trim().split(/\s+/).length === 6,
      "NCRONTAB with six fields: second minute hour day month day-of-week",
    ),
  BACKUP_WEEKLY_DAY: z
    .string()
    .default("Sunday")
    .transform((s) => WeekDays.find((d) => d.toLowerCase() === s.trim().toLowerCase()))
    .refine((d) => d !== undefined, `one of ${WeekDays.join(", ")}`),
  BACKUP_KINDS: z
    .string()
    .default(Kinds.join(","))
    .transform((s) => [
      ...new Set(
        s
          .split(",")
          .map((k) => k.trim().toLowerCase())
          .filter(Boolean),
      ),
    ])
    .refine(
      (ks) => ks.length > 0 && ks.every((k) => (Kinds as readonly string[]).includes(k)),
      `a non-empty subset of ${Kinds.join(",")}`,
    ),
  BACKUP_RATE_PER_10S: z
    .string()
    .default("2000")
    .transform((s) => Number(s))
    .refine(
      (n) => Number.isInteger(n) && n >= 10 && n <= 4000,
      "a whole number from 10 to 4000 (the vault's own limit is 4000 per 10 s)",
    ),
  RESTORE_REQUIRE_ROLE: z
    .string()
    .default("true")
    .transform((s) => s.trim().toLowerCase())
    .refine((s) => s === "true" || s === "false", "true or false (false only for local development)")
    .transform((s) => s === "true"),
  AZURE_CLIENT_ID: optionalText,
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
});

/** Azure hosts name the service in the host: derive queue/table from blob when not given. */
const sibling = (blob: string, service: "queue" | "table"): string | undefined =>
  /\.blob\.core\./.test(blob) ? blob.replace(".blob.core.", `.${service}.core.`) : undefined;

/** The storage connection, from the raw values (checked even when other keys are bad, so all problems show at once). */
function storageFrom(env: Record<string, string | undefined>, problems: string[]): StorageConfig | undefined {
  const connectionString = env.BACKUP_STORAGE?.trim();
  if (connectionString) {
    if (!/AccountName=|UseDevelopmentStorage=true|BlobEndpoint=/i.test(connectionString)) {
      problems.push(
        "BACKUP_STORAGE: not a storage connection string (or leave it empty and use BACKUP_STORAGE__blobServiceUri)",
      );
    }
    return { kind: "connectionString", connectionString };
  }
  const uri = (key: string): string | undefined => {
    const r = httpsUri.optional().safeParse(env[key]);
    return r.success ? r.data : undefined;
  };
  const blob = uri("BACKUP_STORAGE__blobServiceUri");
  if (!blob) {
    if (!env.BACKUP_STORAGE__blobServiceUri) {
      problems.push(
        "BACKUP_STORAGE__blobServiceUri: required (identity-based storage), or BACKUP_STORAGE with a connection string (local only)",
      );
    }
    return undefined;
  }
  const queue = uri("BACKUP_STORAGE__queueServiceUri") ?? sibling(blob, "queue");
  const table = uri("BACKUP_STORAGE__tableServiceUri") ?? sibling(blob, "table");
  if (!queue && !env.BACKUP_STORAGE__queueServiceUri)
    problems.push(
      "BACKUP_STORAGE__queueServiceUri: required when the blob URI is not an Azure *.blob.core.* host",
    );
  if (!table && !env.BACKUP_STORAGE__tableServiceUri)
    problems.push(
      "BACKUP_STORAGE__tableServiceUri: required when the blob URI is not an Azure *.blob.core.* host",
    );
  const clientId = env.BACKUP_STORAGE__clientId?.trim();
  return {
    kind: "identity",
    blobServiceUri: blob,
    queueServiceUri: queue ?? "",
    tableServiceUri: table ?? "",
    ...(clientId ? { clientId } : {}),
  };
}

/**
 * Reads every setting once. Bad settings fail here, all at once: one message naming every bad key
 * and what it expects.
 */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const known = Object.fromEntries(
    Object.keys(Schema.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = Schema.safeParse(known);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${String(issue.path[0])}: ${issue.message}`);
  }
  const storage = storageFrom(known, problems);
  if (problems.length > 0 || !parsed.success || !storage) {
    throw new KvBackupError("BadSettings", `Bad settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  const s = parsed.data;
  const clash = s.RESTORE_TARGET_VAULTS.filter((t) =>
    s.BACKUP_VAULTS.some((v) => v.name === t.name && v.url !== t.url),
  );
  if (clash.length > 0) {
    throw new KvBackupError(
      "BadSettings",
      `Bad settings:\n  - RESTORE_TARGET_VAULTS: ${clash.map((c) => c.name).join(", ")} also in BACKUP_VAULTS with another URL`,
    );
  }
  const config: Config = {
    vaults: s.BACKUP_VAULTS,
    restoreTargets: s.RESTORE_TARGET_VAULTS,
    storage,
    container: s.BACKUP_CONTAINER,
    inventoryTable: s.BACKUP_INVENTORY_TABLE,
    schedule: s.BACKUP_SCHEDULE,
    weeklyDay: s.BACKUP_WEEKLY_DAY as WeekDay,
    kinds: s.BACKUP_KINDS as Kind[],
    ratePer10s: s.BACKUP_RATE_PER_10S,
    restoreRequireRole: s.RESTORE_REQUIRE_ROLE,
    ...(s.AZURE_CLIENT_ID ? { clientId: s.AZURE_CLIENT_ID } : {}),
    ...(s.APPLICATIONINSIGHTS_CONNECTION_STRING
      ? { appInsightsConnectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING }
      : {}),
  };
  return Object.freeze(config);
}

/** A vault this app may send a token to: the allow-list is BACKUP_VAULTS plus RESTORE_TARGET_VAULTS. */
export function findVault(
  config: Config,
  name: string,
  opts: { includeRestoreTargets?: boolean } = {},
): VaultRef | undefined {
  const lower = name.toLowerCase();
  return (
    config.vaults.find((v) => v.name.toLowerCase() === lower) ??
    (opts.includeRestoreTargets
      ? config.restoreTargets.find((v) => v.name.toLowerCase() === lower)
      : undefined)
  );
}
