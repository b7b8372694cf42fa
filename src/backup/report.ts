import type { VaultRef } from "../domain/config.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import type { DrillRow } from "../domain/drillRecord.js";
import type { InventoryRow } from "../domain/inventory.js";
import { abortError, type SignalLike } from "../domain/signal.js";
import { findRun } from "./catalog/findRun.js";
import { copyFacts } from "./copy/copyLag.js";
import { type Coverage, coverageFacts } from "./coverage.js";
import type { EngineDeps } from "./deps.js";
import { isStorageFailure } from "./failures.js";
import { fleetOf, withFleet } from "./fleet.js";
import { goneVaults, vaultGone } from "./missing.js";

/** The alerts' thresholds: a backup older than 26 h, a proven restore older than 8 days. */
export const BackupMaxAgeHours = 26;
export const ProvenRestoreMaxAgeHours = 8 * 24;
/** Longer than any run or drill can take (the Functions timeout is 30 minutes): a row still "running" is dead. */
export const StaleRunningHours = 12;

export interface VaultReport {
  vault: string;
  kind: "vault" | "managedHsm";
  lastBackup?: { runId: string; finishedAt: string; ageHours: number };
  /** The newest run, when it is not the last successful one (failed, partial, running). */
  latestRun?: { runId: string; status: InventoryRow["status"]; startedAt: string; firstFailureCode?: string };
  lastProvenRestore?: { drillId: string; runId?: string; finishedAt: string; ageHours: number };
  /** The newest drill, when it did not prove a restore. */
  latestDrill?: {
    drillId: string;
    status: DrillRow["status"];
    mismatches: number;
    firstFailureCode?: string;
  };
  /** The vault now against what its backups hold (coverage.ts). */
  coverage?: Coverage;
  /** How long the oldest change no backup holds yet has waited, in seconds (0: none waits); with coverage. */
  recoveryPointSeconds?: number;
  /** How long the isolated copy has been missing a restore point this account has (0: none); with BACKUP_COPY_BLOB_URI. */
  copyLagSeconds?: number;
  /** Objects with 400+ versions (Key Vault backs up at most 500), as the last drill counted them. */
  nearVersionLimit: string[];
  /** Why a vault with runs of its own in the last RememberDays is not in today's fleet (it is then at risk). */
  notInFleet?: Diagnosis;
  verdict: "ok" | "at risk";
  reasons: string[];
}

export interface Report {
  generatedAt: string;
  vaults: VaultReport[];
  /**
   * Subscriptions discovery could not read, each with its diagnosis: their vaults are in no list
   * above unless they ran lately, so the report is not ok while any is here.
   */
  unread: { subscription: string; diagnosis: Diagnosis }[];
  /** Every vault is ok and discovery read every subscription. */
  ok: boolean;
}

const hoursSince = (now: Date, at: string): number =>
  Math.round(((now.getTime() - Date.parse(at)) / 3_600_000) * 10) / 10;

const failureText = (code: string | undefined): string => (code ? ` (${code})` : "");

/**
 * Of rows newest first (runs or drills): the newest success, the newest finished one, and one still
 * "running" older than any run can be (dead). The newest finished one decides; one still running
 * neither hides an older failure nor counts as a result.
 */
function newestOf<R extends { status: string; startedAt: string }>(rows: readonly R[], now: Date) {
  return {
    success: rows.find((r) => r.status === "succeeded"),
    latest: rows.find((r) => r.status !== "running"),
    dead: rows.find((r) => r.status === "running" && hoursSince(now, r.startedAt) > StaleRunningHours),
  };
}

/** The runs' part: the last successful backup, the newest run when it is not that one, a dead run. */
function runFacts(report: VaultReport, runs: readonly InventoryRow[], now: Date): void {
  const { success, latest, dead } = newestOf(runs, now);
  if (success?.finishedAt)
    report.lastBackup = {
      runId: success.runId,
      finishedAt: success.finishedAt,
      ageHours: hoursSince(now, success.finishedAt),
    };
  if (latest && latest !== success)
    report.latestRun = {
      runId: latest.runId,
      status: latest.status,
      startedAt: latest.startedAt,
      ...(latest.firstFailureCode ? { firstFailureCode: latest.firstFailureCode } : {}),
    };
  const { reasons } = report;
  if (!report.lastBackup) reasons.push("no successful backup on record");
  else if (report.lastBackup.ageHours > BackupMaxAgeHours)
    reasons.push(
      `last successful backup is ${report.lastBackup.ageHours} h old (over ${BackupMaxAgeHours} h)`,
    );
  if (dead) reasons.push(`run ${dead.runId} has been "running" since ${dead.startedAt} (over 12 h: it died)`);
  if (report.latestRun)
    reasons.push(
      `newest run ${report.latestRun.runId} is ${report.latestRun.status}${failureText(report.latestRun.firstFailureCode)}`,
    );
}

/** The drills' part: the last proven restore, the newest drill when it did not prove one, a dead drill. */
function drillFacts(report: VaultReport, drills: readonly DrillRow[], now: Date): void {
  const { success: proven, latest: last, dead } = newestOf(drills, now);
  if (proven?.finishedAt)
    report.lastProvenRestore = {
      drillId: proven.drillId,
      ...(proven.runId ? { runId: proven.runId } : {}),
      finishedAt: proven.finishedAt,
      ageHours: hoursSince(now, proven.finishedAt),
    };
  if (last && last !== proven)
    report.latestDrill = {
      drillId: last.drillId,
      status: last.status,
      mismatches: last.mismatches,
      ...(last.firstFailureCode ? { firstFailureCode: last.firstFailureCode } : {}),
    };
  // As the newest drill that compared objects counted them (an older count may be long fixed).
  report.nearVersionLimit = (
    drills.find((d) => d.status !== "running" && d.compared > 0)?.nearVersionLimit ?? []
  ).slice(0, 50);
  const { reasons } = report;
  if (!report.lastProvenRestore) reasons.push("no restore proven by a drill");
  else if (report.lastProvenRestore.ageHours > ProvenRestoreMaxAgeHours)
    reasons.push(
      `last proven restore is ${Math.round(report.lastProvenRestore.ageHours / 24)} days old (over 8)`,
    );
  if (dead)
    reasons.push(`drill ${dead.drillId} has been "running" since ${dead.startedAt} (over 12 h: it died)`);
  if (report.latestDrill)
    reasons.push(
      `newest drill ${report.latestDrill.drillId} ${report.latestDrill.status}${failureText(report.latestDrill.firstFailureCode)}`,
    );
  if (report.nearVersionLimit.length)
    reasons.push(
      `${report.nearVersionLimit.length} object(s) have 400+ versions (Key Vault backs up at most 500)`,
    );
}

async function vaultReport(
  deps: EngineDeps,
  vault: VaultRef,
  kind: VaultReport["kind"],
  now: Date,
  how: { coverage: boolean; gone?: Diagnosis },
  signal?: SignalLike,
): Promise<VaultReport> {
  const { gone } = how;
  const report: VaultReport = { vault: vault.name, kind, nearVersionLimit: [], verdict: "ok", reasons: [] };
  if (gone) {
    report.notInFleet = gone;
    report.reasons.push(`not in today's fleet (${gone.code}): ${gone.cause}`);
  }
  const runs = await deps.inventory.list({ vault: vault.name, top: 50 }, signal);
  runFacts(report, runs, now);
  if (kind === "vault" && deps.config.copy) {
    const copy = copyFacts(vault.name, runs, now, deps.config.copy.maxLagHours);
    if (copy.copyLagSeconds !== undefined) report.copyLagSeconds = copy.copyLagSeconds;
    report.reasons.push(...copy.reasons);
  }
  if (kind === "vault") {
    drillFacts(report, await deps.drills.list({ vault: vault.name, top: 20 }, signal), now);
    // A vault not in today's fleet is not on the allow-list: it is never listed (no token to its host).
    if (!gone && how.coverage) {
      const { coverage, reasons } = await coverageFacts(deps, vault, runs, signal);
      if (coverage) report.coverage = coverage;
      if (coverage?.recoveryPointSeconds !== undefined)
        report.recoveryPointSeconds = coverage.recoveryPointSeconds;
      report.reasons.push(...reasons);
    }
  }
  report.verdict = report.reasons.length ? "at risk" : "ok";
  return report;
}

/**
 * kvbackup report and GET /api/report: for every vault of the fleet, each Managed HSM, and every
 * vault backed up lately that is no longer in the fleet (with why): the last successful backup and
 * its age, the last proven restore and its age, coverage (the vault's objects now against what its
 * runs hold; `coverage: false` leaves it out, and with it every Key Vault call), objects near the
 * version limit, and a verdict with why.
 */
export async function buildReport(
  given: EngineDeps,
  signal?: SignalLike,
  options: { coverage?: boolean } = {},
): Promise<Report> {
  const deps = await withFleet(given, signal);
  const now = deps.now();
  const fleet = fleetOf(deps);
  const coverage = options.coverage !== false;
  const vaults: VaultReport[] = [];
  for (const v of deps.config.vaults)
    vaults.push(await vaultReport(deps, v, "vault", now, { coverage }, signal));
  for (const h of deps.config.hsms)
    vaults.push(await vaultReport(deps, h, "managedHsm", now, { coverage }, signal));
  for (const name of await goneVaults(deps, fleet)) {
    const how = { coverage, gone: vaultGone(name, fleet) };
    vaults.push(
      await vaultReport(deps, { name, url: "" }, await goneKind(deps, name, signal), now, how, signal),
    );
  }
  if (signal?.aborted) throw abortError(signal);
  const unread = fleet.unread;
  return {
    generatedAt: now.toISOString(),
    vaults,
    unread,
    ok: unread.length === 0 && vaults.every((v) => v.verdict === "ok"),
  };
}

/** A vault or a Managed HSM, for one that is no longer configured: what its newest sound run backed up. */
async function goneKind(deps: EngineDeps, name: string, signal?: SignalLike): Promise<VaultReport["kind"]> {
  try {
    return (await findRun(deps, "latest", name, signal)).manifest.hsm ? "managedHsm" : "vault";
  } catch (e) {
    if (isStorageFailure(e)) throw e;
    return "vault";
  }
}
