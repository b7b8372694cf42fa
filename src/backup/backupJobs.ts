import { findHsm, findVault } from "../domain/config.js";
import { KvBackupError } from "../domain/errors.js";
import { normalVaultName } from "../domain/rules.js";
import { newRunId } from "../domain/runId.js";
import {
  type Kind,
  Kinds,
  type Mode,
  type Tier,
  type Trigger,
  unique,
  type WeekDay,
  WeekDays,
} from "../domain/vocabulary.js";
import type { BackupJob, EngineDeps } from "./deps.js";
import { type Fleet, fleetOf, notInFleet, withFleet } from "./fleet.js";
import { type MissingVault, reportMissing } from "./missing.js";

export interface QueuedRun {
  runId: string;
  vault: string;
  status: "queued";
  /** The run backs up a Managed HSM (named by `vault`). */
  hsm?: boolean;
}

export interface BackupRequest {
  /** Default (neither vaults nor hsms given): every vault of the fleet and every Managed HSM. */
  vaults?: readonly string[] | undefined;
  /** Managed HSMs of BACKUP_MANAGED_HSMS to fully back up. */
  hsms?: readonly string[] | undefined;
  kinds?: readonly Kind[] | undefined;
  /** Asked for explicitly (HTTP {"mode"}, CLI --full); unset follows the tier and BACKUP_INCREMENTAL. */
  mode?: Mode | undefined;
  tier: Tier;
  trigger: Trigger;
}

/** The day's tier: weekly on BACKUP_WEEKLY_DAY (UTC, the Functions timer's clock), else daily. */
export function tierFor(at: Date, weeklyDay: WeekDay): Tier {
  return WeekDays[at.getUTCDay()] === weeklyDay ? "weekly" : "daily";
}

/**
 * The jobs a request asks for — one per vault and Managed HSM (default: every vault of the fleet
 * and every HSM) — checked against the fleet: the timer, POST /api/backups and the CLI plan the
 * same way. Vaults and kinds asked for twice run once; a vault off the allow-list refuses the whole
 * request, nothing planned. The deps carry the fleet (withFleet).
 */
export function planBackups(deps: EngineDeps & { fleet?: Fleet }, req: BackupRequest): BackupJob[] {
  const everything = req.vaults === undefined && req.hsms === undefined;
  const names = unique(
    (req.vaults ?? (everything ? deps.config.vaults.map((v) => v.name) : [])).map(normalVaultName),
  );
  if (req.hsms !== undefined && req.vaults === undefined && (req.kinds?.length || req.mode === "incremental"))
    throw new KvBackupError(
      "BadRequest",
      "a Managed HSM backup is always a full backup of every key: kinds and mode=incremental apply to vaults only",
    );
  // Asked for some kinds of every vault: an HSM holds neither secrets nor certificates; it is not included.
  const allHsms = everything && !req.kinds?.length ? deps.config.hsms.map((h) => h.name) : [];
  const hsms = unique((req.hsms ?? allHsms).map(normalVaultName));
  const unknown = names.filter((n) => !findVault(deps.config, n));
  if (unknown.length > 0) {
    // An HSM asked for as a vault: say where it belongs instead of "not in the fleet".
    const hsm = unknown.find((n) => findHsm(deps.config, n));
    if (hsm)
      throw new KvBackupError(
        "BadRequest",
        `'${hsm}' is a Managed HSM: ask for it as an HSM (--hsm ${hsm}, or "hsms" in the body)`,
      );
    throw notInFleet(deps, unknown.map((n) => n.slice(0, 64)).join(", "));
  }
  const unknownHsms = hsms.filter((n) => !findHsm(deps.config, n));
  if (unknownHsms.length > 0)
    throw new KvBackupError(
      "VaultNotAllowed",
      `Managed HSM '${unknownHsms.map((n) => n.slice(0, 64)).join(", ")}' is not in BACKUP_MANAGED_HSMS (${deps.config.hsms.map((h) => h.name).join(", ") || "none"})`,
    );
  const kinds = req.kinds?.length ? Kinds.filter((k) => req.kinds?.includes(k)) : undefined;
  const at = deps.now();
  const ids = new Set<string>();
  const nextId = (): string => {
    // A batch shares its millisecond: four random characters keep its runIds apart, checked anyway.
    let runId = newRunId(at);
    while (ids.has(runId)) runId = newRunId(at);
    ids.add(runId);
    return runId;
  };
  const common = { tier: req.tier, trigger: req.trigger };
  return [
    ...names.map((vault) => ({
      runId: nextId(),
      vault,
      ...common,
      ...(kinds ? { kinds } : {}),
      ...(req.mode ? { mode: req.mode } : {}),
    })),
    ...hsms.map((hsm) => ({ runId: nextId(), vault: hsm, ...common, hsm: true as const })),
  ];
}

/** One message per planned job on backup-jobs (the Functions host spreads them over instances). */
export async function enqueueBackups(given: EngineDeps, req: BackupRequest): Promise<QueuedRun[]> {
  const deps = await withFleet(given);
  const runs: QueuedRun[] = [];
  for (const job of planBackups(deps, req)) {
    await deps.backupJobs.send(job);
    runs.push({ runId: job.runId, vault: job.vault, status: "queued", ...(job.hsm ? { hsm: true } : {}) });
  }
  return runs;
}

export interface Scheduled {
  tier: Tier;
  runs: QueuedRun[];
  /** Vaults backed up lately that are not in today's fleet: each got a failed run (row + event). */
  missing: MissingVault[];
  /** Subscriptions discovery could not read today. */
  unread: Fleet["unread"];
}

/**
 * The timer: the fleet discovered afresh (BACKUP_VAULTS plus BACKUP_SUBSCRIPTIONS), one job per
 * vault, tier by the day; then every vault that dropped out of the fleet is reported.
 */
export async function scheduleBackups(given: EngineDeps): Promise<Scheduled> {
  const deps = await withFleet(given, undefined, { fresh: true });
  const tier = tierFor(deps.now(), deps.config.weeklyDay);
  const runs = await enqueueBackups(deps, { tier, trigger: "timer" });
  const fleet = fleetOf(deps);
  return { tier, runs, missing: await reportMissing(deps, fleet, tier), unread: fleet.unread };
}
