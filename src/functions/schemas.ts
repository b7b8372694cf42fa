import { z } from "zod";
import type { BackupQueueJob } from "../backup/engine.js";
import {
  ObjectRefPattern,
  parseInstant,
  RestoreIdPattern,
  RuleText,
  RunIdPattern,
  startsWithRealDay,
  VaultNamePattern,
} from "../domain/rules.js";
import { Kinds, Modes, OnConflicts, RowStatuses, Tiers, Triggers } from "../domain/vocabulary.js";

/** The shapes of what reaches the triggers, built from the one vocabulary. */
/** Vault names are DNS names: any case names the same vault. */
const vault = z
  .string()
  .regex(VaultNamePattern, RuleText.vaultName)
  .transform((s) => s.toLowerCase());
const kinds = z.array(z.enum(Kinds)).min(1).max(10);

export const PostBackupsBody = z
  .object({
    vaults: z.array(vault).min(1).max(100).optional(),
    hsms: z.array(vault).min(1).max(100).optional(),
    kinds: kinds.optional(),
    mode: z.enum(Modes).optional(),
  })
  .strict();

/** An ISO 8601 date or date-time of a real calendar day, as an ISO string. */
const isoTime = z
  .string()
  .refine(
    (s) => startsWithRealDay(s) && !Number.isNaN(Date.parse(s)),
    "an ISO date or date-time (YYYY-MM-DD...) of a real day",
  )
  .transform((s) => new Date(s).toISOString());

export const ListBackupsQuery = z.object({
  vault: vault.optional(),
  status: z.enum(RowStatuses).optional(),
  since: isoTime.optional(),
  top: z
    .string()
    .regex(/^\d{1,3}$/, "a whole number from 1 to 500")
    .transform(Number)
    .refine((n) => n >= 1 && n <= 500, "a whole number from 1 to 500")
    .optional(),
});

export const PostRestoresBody = z
  .object({
    runId: z
      .string()
      .refine((s) => s === "latest" || RunIdPattern.test(s), `${RuleText.runId} or 'latest'`)
      .optional(),
    /** A point in time: the vault as it was then (instead of runId). */
    at: z
      .string()
      .refine(
        (s) => parseInstant(s) !== undefined,
        "an ISO 8601 time with its zone, of a real day (2026-12-06T09:30:00Z)",
      )
      .optional(),
    vault,
    targetVault: vault.optional(),
    kinds: kinds.optional(),
    names: z.array(z.string().regex(ObjectRefPattern, RuleText.objectRef)).min(1).max(1000).optional(),
    dryRun: z.boolean().optional(),
    onConflict: z.enum(OnConflicts).optional(),
    from: z.literal("copy").optional(),
  })
  .strict()
  .refine((b) => (b.runId === undefined) !== (b.at === undefined), {
    message: "give runId (a run, or 'latest') or at (a point in time), exactly one",
  })
  .transform((b) => ({ ...b, runId: b.runId ?? "latest" }));

/** A backup-jobs message: a malformed one fails (and ends in the poison queue), it never runs. */
export const BackupJobMessage = z
  .object({
    runId: z.string().regex(RunIdPattern),
    vault,
    tier: z.enum(Tiers),
    trigger: z.enum(Triggers),
    kinds: kinds.optional(),
    mode: z.enum(Modes).optional(),
    /** A Managed HSM's full backup (vault names the HSM). */
    hsm: z.literal(true).optional(),
    /** A restore drill of the vault (runId is the drill's id). */
    drill: z.literal(true).optional(),
  })
  .strict()
  // One job, one tag: a vault's backup (kinds, mode), an HSM's, or a drill.
  .refine((m) => !(m.hsm && m.drill), { message: "a job is an HSM backup or a drill, not both" })
  .refine((m) => !((m.hsm || m.drill) && (m.kinds || m.mode)), {
    message: "kinds and mode belong to a vault's backup, not to an HSM backup or a drill",
  })
  .transform((m) => m as BackupQueueJob);

export const PostDrillsBody = z.object({ vaults: z.array(vault).min(1).max(100).optional() }).strict();

export const RestoreJobMessage = z.object({ restoreId: z.string().regex(RestoreIdPattern) }).strict();
