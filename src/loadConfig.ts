import { z } from "zod";
import { type Config, Queues } from "./domain/config.js";
import type { Caller } from "./domain/diagnosis.js";
import { KvBackupError } from "./domain/errors.js";
import { type Kind, Kinds, kindList, WeekDays } from "./domain/vocabulary.js";
import { CopySettings, copyConfig, copyProblems, primaryEndpoints } from "./settings/copySetting.js";
import { ncrontabProblem } from "./settings/ncrontab.js";
import { StorageSchema } from "./settings/storageSetting.js";
import {
  appInsightsProblem,
  boolText,
  clientIdText,
  decimal,
  normalConnectionString,
  optionalText,
  serviceUrl,
} from "./settings/values.js";
import { clashes, hsmEndpointClashes, parseHsmList, parseVaultList } from "./settings/vaultList.js";

const vaultList = (required: boolean) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const { vaults, problems } = parseVaultList(raw);
      if (required && vaults.length === 0 && problems.length === 0)
        problems.push("required: vaults to back up, e.g. contoso-kv or contoso-kv=https://10.0.0.4");
      for (const message of problems) ctx.addIssue({ code: "custom", message });
      return vaults;
    });

const hsmList = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const { vaults, problems } = parseHsmList(raw);
    for (const message of problems) ctx.addIssue({ code: "custom", message });
    return vaults;
  });

const Guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Subscription ids, comma separated: GUIDs, each once. */
const subscriptionList = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const ids = (raw ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    for (const id of ids)
      if (!Guid.test(id))
        ctx.addIssue({ code: "custom", message: `'${id.slice(0, 64)}' is not a subscription id (a GUID)` });
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: "custom", message: "a subscription is listed twice" });
    return [...new Set(ids)];
  });

/** name=value: discovery keeps only vaults carrying that tag (tag names are case-insensitive in Azure, values are not). */
const vaultTag = optionalText.transform((raw, ctx) => {
  if (raw === undefined) return undefined;
  const eq = raw.indexOf("=");
  const name = raw.slice(0, eq).trim();
  if (eq <= 0 || !name) {
    ctx.addIssue({ code: "custom", message: "name=value, e.g. backup=true" });
    return undefined;
  }
  return { name, value: raw.slice(eq + 1).trim() };
});

/** An NCRONTAB schedule (six fields, as the Functions host reads it), its default and what that means. */
const cronSetting = (fallback: string, meaning: string) =>
  z
    .string()
    .default(fallback)
    .superRefine((s, ctx) => {
      const problem = ncrontabProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: `${problem} (e.g. '${fallback}', ${meaning})` });
    });

const Schema = z.object({
  BACKUP_VAULTS: vaultList(false),
  BACKUP_SUBSCRIPTIONS: subscriptionList,
  BACKUP_VAULT_TAG: vaultTag,
  BACKUP_ARM_ENDPOINT: z.string().default("https://management.azure.com").pipe(serviceUrl()),
  RESTORE_TARGET_VAULTS: vaultList(false),
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
    .refine((s) => /^[A-Za-z][A-Za-z0-9]{2,62}$/.test(s), "3-63 letters and digits, starting with a letter")
    .refine((s) => s.toLowerCase() !== "tables", "'tables' is reserved by Azure Table storage"),
  BACKUP_SCHEDULE: cronSetting("0 0 2 * * *", "daily at 02:00 UTC"),
  BACKUP_WEEKLY_DAY: z
    .string()
    .default("Sunday")
    .transform((s) => WeekDays.find((d) => d.toLowerCase() === s.trim().toLowerCase()))
    .refine((d) => d !== undefined, `one of ${WeekDays.join(", ")}`),
  BACKUP_KINDS: z
    .string()
    .default(Kinds.join(","))
    .transform((s) => kindList(s))
    .refine((ks) => ks !== undefined, `a non-empty subset of ${Kinds.join(",")}`),
  BACKUP_RATE_PER_10S: z
    .string()
    .default("2000")
    .pipe(decimal(10, 4000, " (the vault's own limit is 4000 per 10 s)")),
  BACKUP_SUBSCRIPTION_RATE_PER_10S: z
    .string()
    .default("10000")
    .pipe(decimal(10, 20000, " (Key Vault caps a subscription at 5 × 4000 per 10 s)")),
  BACKUP_MANAGED_HSMS: hsmList,
  BACKUP_DRILL_VAULT: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const { vaults, problems } = parseVaultList(raw);
      if (vaults.length > 1) problems.push("one scratch vault (name, URL or name=URL), not a list");
      for (const message of problems) ctx.addIssue({ code: "custom", message });
      return vaults[0];
    }),
  BACKUP_DRILL_SCHEDULE: cronSetting("0 0 4 * * 0", "Sundays at 04:00 UTC"),
  BACKUP_EVENTS_QUEUE: z
    .string()
    .optional()
    .refine(
      (s) => s === undefined || /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(s),
      "a queue name: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
    )
    .refine(
      (s) => s === undefined || !Object.values(Queues).some((q) => s === q || s === `${q}-poison`),
      "a queue of its own, not backup-jobs or restore-jobs (or their poison queues)",
    ),
  BACKUP_EVENTS_DEADLETTER_CONTAINER: z
    .string()
    .optional()
    .refine(
      (s) => s === undefined || /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(s),
      "a container name: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
    ),
  ...CopySettings,
  BACKUP_INCREMENTAL: z
    .string()
    .default("true")
    .pipe(boolText(" (false: every daily run backs up everything)")),
  RESTORE_REQUIRE_ROLE: z.string().default("true").pipe(boolText(" (false only for local development)")),
  WEBSITE_AUTH_ENABLED: z.string().default("false").pipe(boolText(" (set by App Service)")),
  AZURE_CLIENT_ID: clientIdText,
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText.superRefine((s, ctx) => {
    const problem = s === undefined ? undefined : appInsightsProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
});

const keysOf = (
  schema: { shape: Record<string, unknown> } | { in: { shape: Record<string, unknown> } },
): string[] => Object.keys("shape" in schema ? schema.shape : schema.in.shape);

type Settings = z.infer<typeof Schema>;

/** What one setting says against another: each clash named by the setting to change. */
function crossProblems(s: Settings): string[] {
  const { BACKUP_MANAGED_HSMS: hsms, BACKUP_VAULTS: vaults, BACKUP_CONTAINER: container } = s;
  const targets = s.RESTORE_TARGET_VAULTS;
  const problems: string[] = [];
  const deadLetters = s.BACKUP_EVENTS_DEADLETTER_CONTAINER;
  if (deadLetters && !s.BACKUP_EVENTS_QUEUE)
    problems.push(
      "BACKUP_EVENTS_DEADLETTER_CONTAINER: the dead letters of continuous protection's events; set BACKUP_EVENTS_QUEUE too",
    );
  if (deadLetters && (deadLetters === container || deadLetters.startsWith(`${container}-hsm-`)))
    problems.push(
      `BACKUP_EVENTS_DEADLETTER_CONTAINER: '${deadLetters}' holds backups; Event Grid's dead letters need a container of their own`,
    );
  if (s.BACKUP_VAULT_TAG && s.BACKUP_SUBSCRIPTIONS.length === 0)
    problems.push("BACKUP_VAULT_TAG: filters discovery; set BACKUP_SUBSCRIPTIONS too");
  problems.push(...clashes(vaults, targets).map((p) => `RESTORE_TARGET_VAULTS: ${p}`));
  // Runs are filed by name ({tier}/{name}/..., the inventory's partition): one name, one thing.
  problems.push(...hsmEndpointClashes([...vaults, ...targets], hsms).map((p) => `BACKUP_MANAGED_HSMS: ${p}`));
  for (const h of hsms)
    if (vaults.some((v) => v.name === h.name))
      problems.push(
        `BACKUP_MANAGED_HSMS: '${h.name}' is also a vault in BACKUP_VAULTS; names must be unique`,
      );
  // The drill deletes and purges what it restores: a vault that holds backups or restores is never its scratch vault.
  const drill = s.BACKUP_DRILL_VAULT;
  if (drill) {
    for (const _ of clashes([...vaults, ...targets], [drill]))
      problems.push(
        `BACKUP_DRILL_VAULT: '${drill.name}' is also a backup vault or a restore target; the drill empties its scratch vault, so it must be a vault of its own`,
      );
    for (const _ of hsmEndpointClashes([drill], hsms))
      problems.push(
        `BACKUP_DRILL_VAULT: '${drill.name}' is the endpoint of a Managed HSM in BACKUP_MANAGED_HSMS, not a scratch vault`,
      );
  }
  // HSM backups go to {container}-hsm-{tier}: a container name has at most 63 characters.
  if (hsms.length > 0 && container.length > 52)
    problems.push(
      `BACKUP_CONTAINER: at most 52 characters with BACKUP_MANAGED_HSMS (their containers are '${container}-hsm-weekly' and so on, at most 63)`,
    );
  return problems;
}

/** The settings, read, as the app uses them. */
const configOf = (s: Settings, storage: Config["storage"], caller: Caller): Readonly<Config> =>
  Object.freeze({
    vaults: s.BACKUP_VAULTS,
    restoreTargets: s.RESTORE_TARGET_VAULTS,
    hsms: s.BACKUP_MANAGED_HSMS,
    ...(s.BACKUP_DRILL_VAULT ? { drillVault: s.BACKUP_DRILL_VAULT } : {}),
    drillSchedule: s.BACKUP_DRILL_SCHEDULE,
    ...(s.BACKUP_EVENTS_QUEUE ? { eventsQueue: s.BACKUP_EVENTS_QUEUE } : {}),
    ...(s.BACKUP_EVENTS_DEADLETTER_CONTAINER
      ? { eventsDeadLetters: s.BACKUP_EVENTS_DEADLETTER_CONTAINER }
      : {}),
    ...copyConfig(s),
    storage,
    container: s.BACKUP_CONTAINER,
    inventoryTable: s.BACKUP_INVENTORY_TABLE,
    schedule: s.BACKUP_SCHEDULE,
    weeklyDay: s.BACKUP_WEEKLY_DAY as Config["weeklyDay"],
    kinds: s.BACKUP_KINDS as Kind[],
    ratePer10s: s.BACKUP_RATE_PER_10S,
    subscriptionRatePer10s: s.BACKUP_SUBSCRIPTION_RATE_PER_10S,
    incremental: s.BACKUP_INCREMENTAL,
    subscriptions: s.BACKUP_SUBSCRIPTIONS,
    ...(s.BACKUP_VAULT_TAG ? { vaultTag: s.BACKUP_VAULT_TAG } : {}),
    armEndpoint: s.BACKUP_ARM_ENDPOINT,
    restoreRequireRole: s.RESTORE_REQUIRE_ROLE,
    appServiceAuth: s.WEBSITE_AUTH_ENABLED,
    caller,
    ...(s.AZURE_CLIENT_ID ? { clientId: s.AZURE_CLIENT_ID } : {}),
    ...(s.APPLICATIONINSIGHTS_CONNECTION_STRING
      ? { appInsightsConnectionString: normalConnectionString(s.APPLICATIONINSIGHTS_CONNECTION_STRING) }
      : {}),
  });

/**
 * Reads every setting once. Bad settings fail here, all at once: one message naming every bad key
 * and what it expects. `caller` says who will make the calls (diagnoses name that path).
 */
export function loadConfig(env: Record<string, string | undefined>, caller: Caller): Readonly<Config> {
  const known = Object.fromEntries(
    [...keysOf(Schema), ...keysOf(StorageSchema)].map((k) => [k, env[k]?.trim() === "" ? undefined : env[k]]),
  );
  const parsed = Schema.safeParse(known);
  const storage = StorageSchema.safeParse(known);
  const problems = [...(parsed.error?.issues ?? []), ...(storage.error?.issues ?? [])].map(
    (i) => `${String(i.path[0])}: ${i.message}`,
  );
  const given = (k: string): boolean => (known[k] ?? "").split(",").some((x) => x.trim());
  if (!given("BACKUP_VAULTS") && !given("BACKUP_SUBSCRIPTIONS"))
    problems.push(
      "BACKUP_VAULTS: required: vaults to back up (e.g. contoso-kv or contoso-kv=https://10.0.0.4), or BACKUP_SUBSCRIPTIONS to discover them",
    );
  if (parsed.success)
    problems.push(
      ...crossProblems(parsed.data),
      ...copyProblems(
        parsed.data,
        primaryEndpoints(known.BACKUP_STORAGE__blobServiceUri, known.BACKUP_STORAGE),
      ),
    );
  if (problems.length > 0 || !parsed.success || !storage.success)
    throw new KvBackupError("BadSettings", `Bad settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return configOf(parsed.data, storage.data, caller);
}
