import type { VaultRef } from "../domain/config.js";
import type { Diagnosis } from "../domain/diagnosis.js";
import type { DrillRow } from "../domain/drill.js";
import type { InventoryRow } from "../domain/inventory.js";
import type { SignalLike } from "../domain/signal.js";
import { Kinds } from "../domain/vocabulary.js";
import { findRun } from "./catalog/findRun.js";
import type { EngineDeps } from "./deps.js";
import { diagnosisOf, isKeyVaultFailure, isStorageFailure } from "./failures.js";
import { withFleet } from "./fleet.js";
import { VaultLimiter } from "./limiter.js";

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
  /** Objects in the vault now against the last successful backup (managed objects are covered by their certificate). */
  coverage?: {
    inVault: number;
    inBackup: number;
    missing: string[];
    failed: string[];
    diagnosis?: Diagnosis;
  };
  /** Objects with 400+ versions (Key Vault backs up at most 500), as the last drill counted them. */
  nearVersionLimit: string[];
  verdict: "ok" | "at risk";
  reasons: string[];
}

export interface Report {
  generatedAt: string;
  vaults: VaultReport[];
}

const hoursSince = (now: Date, at: string): number =>
  Math.round(((now.getTime() - Date.parse(at)) / 3_600_000) * 10) / 10;

async function coverageOf(
  deps: EngineDeps,
  vault: VaultRef,
  runId: string,
  signal?: SignalLike,
): Promise<NonNullable<VaultReport["coverage"]>> {
  const { manifest } = await findRun(deps, runId, vault.name, signal);
  const inBackup = new Set(manifest.items.map((i) => `${i.kind}/${i.name.toLowerCase()}`));
  const port = deps.vaults(
    vault,
    new VaultLimiter({ ratePer10s: Math.min(deps.config.ratePer10s, 400) }),
    {},
  );
  const now: string[] = [];
  try {
    for (const kind of Kinds.filter((k) => manifest.kinds.includes(k)))
      for await (const page of port.list(kind, signal))
        for (const o of page) if (!o.managed) now.push(`${kind}/${o.name.toLowerCase()}`);
  } catch (e) {
    if (!isKeyVaultFailure(e)) throw e;
    const diagnosis = diagnosisOf(e, { vault: vault.name, caller: deps.config.caller });
    return {
      inVault: 0,
      inBackup: inBackup.size,
      missing: [],
      failed: manifest.failed.map((f) => `${f.kind}/${f.name}`),
      ...(diagnosis ? { diagnosis } : {}),
    };
  }
  return {
    inVault: now.length,
    inBackup: inBackup.size,
    missing: now.filter((o) => !inBackup.has(o)).sort(),
    failed: manifest.failed.map((f) => `${f.kind}/${f.name}`),
  };
}

async function vaultReport(
  deps: EngineDeps,
  vault: VaultRef,
  kind: VaultReport["kind"],
  now: Date,
  signal?: SignalLike,
): Promise<VaultReport> {
  const runs = await deps.inventory.list({ vault: vault.name, top: 50 });
  const drills = kind === "vault" ? await deps.drills.list({ vault: vault.name, top: 20 }) : [];
  const success = runs.find((r) => r.status === "succeeded");
  // The newest finished run and drill decide; one still "running" neither hides an older failure
  // nor counts as a result (a dead one is named below once it is older than any run can be).
  const latest = runs.find((r) => r.status !== "running");
  const proven = drills.find((d) => d.status === "succeeded");
  const lastDrill = drills.find((d) => d.status !== "running");
  const stale = (startedAt: string): boolean => hoursSince(now, startedAt) > StaleRunningHours;
  const deadRun = runs.find((r) => r.status === "running" && stale(r.startedAt));
  const deadDrill = drills.find((d) => d.status === "running" && stale(d.startedAt));
  const reasons: string[] = [];
  const report: VaultReport = { vault: vault.name, kind, nearVersionLimit: [], verdict: "ok", reasons };
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
  if (proven?.finishedAt)
    report.lastProvenRestore = {
      drillId: proven.drillId,
      ...(proven.runId ? { runId: proven.runId } : {}),
      finishedAt: proven.finishedAt,
      ageHours: hoursSince(now, proven.finishedAt),
    };
  if (lastDrill && lastDrill !== proven)
    report.latestDrill = {
      drillId: lastDrill.drillId,
      status: lastDrill.status,
      mismatches: lastDrill.mismatches,
      ...(lastDrill.firstFailureCode ? { firstFailureCode: lastDrill.firstFailureCode } : {}),
    };
  // As the newest drill that compared objects counted them (an older count may be long fixed).
  report.nearVersionLimit = (
    drills.find((d) => d.status !== "running" && d.compared > 0)?.nearVersionLimit ?? []
  ).slice(0, 50);

  if (!report.lastBackup) reasons.push("no successful backup on record");
  else if (report.lastBackup.ageHours > BackupMaxAgeHours)
    reasons.push(
      `last successful backup is ${report.lastBackup.ageHours} h old (over ${BackupMaxAgeHours} h)`,
    );
  if (deadRun)
    reasons.push(`run ${deadRun.runId} has been "running" since ${deadRun.startedAt} (over 12 h: it died)`);
  if (report.latestRun)
    reasons.push(
      `newest run ${report.latestRun.runId} is ${report.latestRun.status}${report.latestRun.firstFailureCode ? ` (${report.latestRun.firstFailureCode})` : ""}`,
    );
  if (kind === "vault") {
    if (!report.lastProvenRestore) reasons.push("no restore proven by a drill");
    else if (report.lastProvenRestore.ageHours > ProvenRestoreMaxAgeHours)
      reasons.push(
        `last proven restore is ${Math.round(report.lastProvenRestore.ageHours / 24)} days old (over 8)`,
      );
    if (deadDrill)
      reasons.push(
        `drill ${deadDrill.drillId} has been "running" since ${deadDrill.startedAt} (over 12 h: it died)`,
      );
    if (report.latestDrill)
      reasons.push(
        `newest drill ${report.latestDrill.drillId} ${report.latestDrill.status}${report.latestDrill.firstFailureCode ? ` (${report.latestDrill.firstFailureCode})` : ""}`,
      );
    if (success) {
      try {
        report.coverage = await coverageOf(deps, vault, success.runId, signal);
      } catch (e) {
        if (isStorageFailure(e) || isKeyVaultFailure(e)) throw e;
        reasons.push(`coverage unknown: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
      }
      const c = report.coverage;
      if (c?.diagnosis) reasons.push(`coverage unknown: the vault could not be listed (${c.diagnosis.code})`);
      if (c?.missing.length)
        reasons.push(`${c.missing.length} object(s) in the vault are not in the last backup`);
      if (c?.failed.length) reasons.push(`${c.failed.length} object(s) failed in the last backup`);
    }
    if (report.nearVersionLimit.length)
      reasons.push(
        `${report.nearVersionLimit.length} object(s) have 400+ versions (Key Vault backs up at most 500)`,
      );
  }
  report.verdict = reasons.length ? "at risk" : "ok";
  return report;
}

/**
 * kvbackup report and GET /api/report: for every vault of the fleet (and each Managed HSM), the last
 * successful backup and its age, the last proven restore and its age, coverage (the vault's objects
 * now against the last successful backup), objects near the version limit, and a verdict with why.
 */
export async function buildReport(given: EngineDeps, signal?: SignalLike): Promise<Report> {
  const deps = await withFleet(given, signal);
  const now = deps.now();
  const vaults: VaultReport[] = [];
  for (const v of deps.config.vaults) vaults.push(await vaultReport(deps, v, "vault", now, signal));
  for (const h of deps.config.hsms) vaults.push(await vaultReport(deps, h, "managedHsm", now, signal));
  return { generatedAt: now.toISOString(), vaults };
}
