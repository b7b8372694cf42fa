/**
 * The words every layer shares, declared once: the object kinds, run tiers, triggers, modes and
 * statuses. The zod schemas, the HTTP handlers, the CLI and the storage mapping all read these.
 */
export const Kinds = ["secrets", "keys", "certificates"] as const;
export type Kind = (typeof Kinds)[number];

/**
 * What the engine knows of each kind beyond its name — the one table to extend with a new kind
 * (with one entry in each Key Vault adapter's client table: keyvault/vaultAdapter.ts and
 * keyvault/vaultInspector.ts).
 */
export const KindTraits: Record<
  Kind,
  {
    /** The kinds whose names an object of this kind also holds: a certificate has a key and a secret of its name. */
    holds: readonly Kind[];
    /** Order of deletion when a drill empties its scratch vault: lower first (a certificate takes its key and secret with it). */
    deleteOrder: number;
    /** The public material a drill compares, as the adapter's `thumbprint` reports it (none for a secret: its value is never read). */
    publicMaterial?: string;
  }
> = {
  secrets: { holds: ["secrets"], deleteOrder: 2 },
  keys: { holds: ["keys"], deleteOrder: 1, publicMaterial: "public key thumbprint" },
  certificates: { holds: ["certificates", "keys", "secrets"], deleteOrder: 0, publicMaterial: "x5t" },
};

export const Tiers = ["daily", "weekly", "manual"] as const;
export type Tier = (typeof Tiers)[number];

export const Triggers = ["timer", "http", "cli"] as const;
export type Trigger = (typeof Triggers)[number];

export const Modes = ["full", "incremental"] as const;
export type Mode = (typeof Modes)[number];

/** How a committed run ended. */
export const RunStatuses = ["succeeded", "partial", "failed"] as const;
export type RunStatus = (typeof RunStatuses)[number];

/** What an inventory row can say: a run still going, ended, or found dead by the next run. */
export const RowStatuses = ["running", ...RunStatuses, "abandoned"] as const;
export type RowStatus = (typeof RowStatuses)[number];

export const OnConflicts = ["skip", "fail"] as const;
export type OnConflict = (typeof OnConflicts)[number];

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

export const isKind = (s: string): s is Kind => (Kinds as readonly string[]).includes(s);

/**
 * A list of kinds as people write it ("keys, Secrets"): each once, in the engine's order; undefined
 * when it names none or anything else (BACKUP_KINDS and the CLI's --kinds read it so).
 */
export function kindList(text: string): Kind[] | undefined {
  const named = text
    .split(",")
    .map((k) => k.trim().toLowerCase())
    .filter(Boolean);
  if (named.length === 0 || !named.every(isKind)) return undefined;
  return Kinds.filter((k) => named.includes(k));
}

/** "secret 'x'", for messages. */
export const objectLabel = (kind: Kind, name: string): string => `${kind.slice(0, -1)} '${name}'`;

/** The same list without repeats, first occurrence kept (vaults and kinds asked for twice run once). */
export function unique<T>(items: readonly T[], key: (t: T) => string = String): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
