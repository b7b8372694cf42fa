import type { VaultRef } from "../domain/config.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import type { DrillRow } from "../domain/drill.js";
import type { InventoryRow } from "../domain/inventory.js";
import type { SignalLike } from "../domain/signal.js";
import { type Kind, Kinds } from "../domain/vocabulary.js";
import { findRun } from "./catalog/findRun.js";
import type { EngineDeps } from "./deps.js";
import { diagnosisOf, firstLine, isKeyVaultFailure, isStorageFailure } from "./failures.js";
import { fleetOf, withFleet } from "./fleet.js";
import { VaultLimiter } from "./limiter.js";
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
  /**
   * Objects in the vault now against what its committed runs hold — per kind the settings protect,
   * the newest run that covered it — (managed objects are covered by their certificate); `failed`:
   * objects whose backup failed in the newest run.
   */
  coverage?: {
    inVault: number;
    inBackup: number;
    missing: string[];
    failed: string[];
    diagnosis?: Diagnosis;
  };
  /** Objects with 400+ versions (Key Vault backs up at most 500), as the last drill counted them. */
  nearVersionLimit: string[];
  /** Why a vault with runs of its own in the last 8 days is not in today's fleet (it is then at risk). */
  notInFleet?: Diagnosis;
  verdict: "ok" | "at risk";
  reasons: string[];
}

export interface Report {
  generatedAt: string;
  vaults: VaultReport[];
}

const hoursSince = (now: Date, at: string): number =>
  Math.round(((now.getTime() - Date.parse(at)) / 3_600_000) * 10) / 10;

/**
 * The objects the backups hold now, per kind the settings protect: each kind from the newest
 * committed run that covered it (a run asked for fewer kinds, or whose listing of a kind failed,
 * leaves that kind to older runs); and the objects whose backup failed in the newest run.
 */
async function holdings(
  deps: EngineDeps,
  vault: VaultRef,
  committed: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<{ held: Set<string>; failed: string[] }> {
  const wanted = new Set<Kind>(deps.config.kinds);
  const held = new Set<string>();
  let failed: string[] | undefined;
  for (const row of committed) {
    if (wanted.size === 0) break;
    const { manifest } = await findRun(deps, row.runId, vault.name, signal);
    failed ??= manifest.failed.map((f) => `${f.kind}/${f.name}`);
    const covers = manifest.kinds.filter(
      (k) => wanted.has(k) && !manifest.failed.some((f) => f.kind === k && f.name === "*"),
    );
    for (const i of manifest.items)
      if (covers.includes(i.kind)) held.add(`${i.kind}/${i.name.toLowerCase()}`);
    for (const k of covers) wanted.delete(k);
  }
  return { held, failed: failed ?? [] };
}

async function coverageOf(
  deps: EngineDeps,
  vault: VaultRef,
  committed: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<NonNullable<VaultReport["coverage"]>> {
  const { held: inBackup, failed } = await holdings(deps, vault, committed, signal);
  const port = deps.vaults(
    vault,
    new VaultLimiter({ ratePer10s: Math.min(deps.config.ratePer10s, 400) }),
    {},
  );
  const now: string[] = [];
  try {
    for (const kind of Kinds.filter((k) => deps.config.kinds.includes(k)))
      for await (const page of port.list(kind, signal))
        for (const o of page) if (!o.managed) now.push(`${kind}/${o.name.toLowerCase()}`);
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    const diagnosis = diagnosisOf(e, { vault: vault.name, caller: deps.config.caller, purpose: "backup" });
    return {
      inVault: 0,
      inBackup: inBackup.size,
      missing: [],
      failed,
      ...(diagnosis ? { diagnosis } : {}),
    };
  }
  return {
    inVault: now.length,
    inBackup: inBackup.size,
    missing: now.filter((o) => !inBackup.has(o)).sort(),
    failed,
  };
}

const failureText = (code: string | undefined): string => (code ? ` (${code})` : "");

/** The runs' part: the last successful backup, the newest run when it is not that one, a dead run. */
function runFacts(report: VaultReport, runs: readonly InventoryRow[], now: Date): void {
  const success = runs.find((r) => r.status === "succeeded");
  // The newest finished run decides; one still "running" neither hides an older failure nor counts
  // as a result (a dead one is named once it is older than any run can be).
  const latest = runs.find((r) => r.status !== "running");
  const dead = runs.find((r) => r.status === "running" && hoursSince(now, r.startedAt) > StaleRunningHours);
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
  const proven = drills.find((d) => d.status === "succeeded");
  const last = drills.find((d) => d.status !== "running");
  const dead = drills.find((d) => d.status === "running" && hoursSince(now, d.startedAt) > StaleRunningHours);
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

/** The coverage part: the vault now against what its committed runs hold, for every kind the settings protect. */
async function coverageFacts(
  deps: EngineDeps,
  report: VaultReport,
  vault: VaultRef,
  runs: readonly InventoryRow[],
  signal?: SignalLike,
): Promise<void> {
  const committed = runs.filter((r) => r.status === "succeeded" || r.status === "partial");
  try {
    report.coverage = await coverageOf(deps, vault, committed, signal);
  } catch (e) {
    if (isStorageFailure(e) || isKeyVaultFailure(e)) throw e;
    report.reasons.push(`coverage unknown: ${firstLine(e)}`);
  }
  const c = report.coverage;
  if (c?.diagnosis)
    report.reasons.push(`coverage unknown: the vault could not be listed (${c.diagnosis.code})`);
  if (c?.missing.length)
    report.reasons.push(`${c.missing.length} object(s) in the vault are not in the backups`);
  if (c?.failed.length) report.reasons.push(`${c.failed.length} object(s) failed in the newest run`);
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
  const runs = await deps.inventory.list({ vault: vault.name, top: 50 });
  runFacts(report, runs, now);
  if (kind === "vault") {
    drillFacts(report, await deps.drills.list({ vault: vault.name, top: 20 }), now);
    // A vault not in today's fleet is not on the allow-list: it is never listed (no token to its host).
    if (!gone && how.coverage) await coverageFacts(deps, report, vault, runs, signal);
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
    vaults.push(await vaultReport(deps, { name, url: "" }, "vault", now, how, signal));
  }
  return { generatedAt: now.toISOString(), vaults };
}
