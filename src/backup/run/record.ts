import type { VaultRef } from "../../domain/config.js";
import type { Diagnosis } from "../../domain/diagnosis.js";
import { type Counts, countsOf, emptyCounts, type InventoryRow } from "../../domain/inventory.js";
import {
  type Manifest,
  type ManifestFailure,
  manifestBlob,
  manifestBytes,
  runPrefix,
} from "../../domain/manifest.js";
import type { Kind, Mode, RunStatus } from "../../domain/vocabulary.js";
import type { CopyPass } from "../copy/copyPass.js";
import type { BackupJob, EngineDeps } from "../deps.js";
import { finishing } from "../lifecycle.js";
import type { RunTelemetry } from "../ports.js";

/** What a run tells its caller (the queue worker, the CLI). */
export interface RunResult {
  runId: string;
  vault: string;
  status: RunStatus;
  manifestPath: string;
  counts: Counts;
  bytes: number;
  durationMs: number;
  failed: ManifestFailure[];
  /** The one diagnosis of a run that stopped early: at the storage preflight, or storage lost mid-run. */
  diagnosis?: Diagnosis;
  stoppedAt?: "preflight" | "mid-run";
  /** full, or incremental when a base run was found: unchanged objects were copied from it. */
  mode: Mode;
  /** Objects copied server-side from the base run (counted among backedUp too). */
  copied: number;
  /** The run had committed before (a redelivered message): nothing was done again. */
  alreadyCommitted?: boolean;
  /** A Managed HSM run: where the HSM wrote its backup, and how many files it holds. */
  hsm?: { container: string; folder: string; files: number };
  /** The run committed but its inventory row could not be written; the next run of the vault repairs it. */
  inventoryStale?: boolean;
  /** The isolated copy's pass after the run (BACKUP_COPY_BLOB_URI): this run's copy first, then what was owed. */
  copy?: CopyPass;
}

/**
 * One run's record keeping: its folder, its inventory row (one per runId, however often the run
 * resumes), its telemetry, and the result it ends with. Every result comes from here: end() for a
 * run that ends now (final row, event); endedBefore() for one that had already committed (a
 * redelivered message: its manifest answers, no second event); damaged() for one whose manifest
 * is damaged (refused, its row left as evidence).
 */
export class RunRecord {
  readonly prefix: string;
  readonly manifestPath: string;
  readonly counts = emptyCounts();
  /** Set once the base is known: incremental only when the run has one. */
  mode: Mode = "full";
  copied = 0;
  startedAt: Date;
  private telemetryOf: RunTelemetry | undefined;

  constructor(
    private readonly deps: EngineDeps,
    readonly job: BackupJob,
    readonly vault: VaultRef,
    readonly kinds: Kind[],
  ) {
    this.prefix = runPrefix(job.tier, vault.name, job.runId);
    this.manifestPath = manifestBlob(this.prefix);
    this.startedAt = deps.now();
  }

  get telemetry(): RunTelemetry {
    this.telemetryOf ??= this.deps.telemetry.run({
      runId: this.job.runId,
      vault: this.vault.name,
      tier: this.job.tier,
      trigger: this.job.trigger,
    });
    return this.telemetryOf;
  }

  row(status: InventoryRow["status"], extra: Partial<InventoryRow> = {}): InventoryRow {
    return {
      vault: this.vault.name,
      runId: this.job.runId,
      tier: this.job.tier,
      trigger: this.job.trigger,
      mode: this.mode,
      status,
      startedAt: this.startedAt.toISOString(),
      counts: this.counts,
      bytes: 0,
      manifest: this.manifestPath,
      ...extra,
    };
  }

  /** Row "running"; a resumed run keeps the first attempt's start time (and its one row). */
  async start(): Promise<void> {
    const earlier = await this.deps.inventory.get(this.job.runId, this.vault.name);
    const first = earlier ? new Date(earlier.startedAt) : undefined;
    if (first && !Number.isNaN(first.getTime())) this.startedAt = first;
    await this.deps.inventory.put(this.row("running"));
  }

  /**
   * The run ends: the row goes final (best effort: the inventory may sit behind the path that
   * failed), the event is emitted whatever happened to the row, and the caller gets the result.
   */
  async end(
    status: RunStatus,
    outcome: {
      bytes: number;
      failed: ManifestFailure[];
      manifestSha256?: string;
      diagnosis?: Diagnosis;
      stoppedAt?: RunResult["stoppedAt"];
    },
  ): Promise<RunResult> {
    const { finishedAt, durationMs } = finishing(this.deps, this.startedAt);
    const firstFailureCode = outcome.diagnosis?.code ?? outcome.failed[0]?.code;
    let inventoryStale = false;
    try {
      await this.deps.inventory.put(
        this.row(status, {
          finishedAt,
          durationMs,
          bytes: outcome.bytes,
          ...(outcome.manifestSha256 ? { manifestSha256: outcome.manifestSha256 } : {}),
          ...(firstFailureCode ? { firstFailureCode } : {}),
        }),
      );
    } catch {
      inventoryStale = true;
    }
    this.telemetry.end({
      status,
      counts: this.counts,
      bytes: outcome.bytes,
      durationMs,
      ...(firstFailureCode ? { firstFailureCode } : {}),
    });
    return this.result({
      status,
      mode: this.mode,
      copied: this.copied,
      counts: this.counts,
      bytes: outcome.bytes,
      durationMs,
      failed: outcome.failed,
      ...(outcome.diagnosis ? { diagnosis: outcome.diagnosis } : {}),
      ...(outcome.stoppedAt ? { stoppedAt: outcome.stoppedAt } : {}),
      ...(inventoryStale && status !== "failed" ? { inventoryStale } : {}),
    });
  }

  /** The run had committed before: its manifest's word, as it was (no row, no event here). */
  endedBefore(manifest: Manifest): RunResult {
    return this.result({
      status: manifest.status,
      mode: manifest.mode,
      copied: manifest.items.filter((i) => i.copiedFrom).length,
      counts: countsOf(manifest),
      bytes: manifestBytes(manifest),
      failed: manifest.failed,
      alreadyCommitted: true,
    });
  }

  /** The runId's manifest is damaged: refused, its row left as evidence (no second row, no event). */
  damaged(diagnosis: Diagnosis): RunResult {
    return this.result({ status: "failed", diagnosis, stoppedAt: "preflight" });
  }

  private result(r: Partial<RunResult> & Pick<RunResult, "status">): RunResult {
    return {
      runId: this.job.runId,
      vault: this.vault.name,
      manifestPath: this.manifestPath,
      counts: countsOf({ items: [], skipped: [], failed: [] }),
      mode: "full",
      copied: 0,
      bytes: 0,
      durationMs: 0,
      failed: [],
      ...r,
    };
  }
}

/** The final row of a committed run, from its manifest (repairs a row left "running" or "abandoned"). */
export function finalRow(row: InventoryRow, manifest: Manifest, manifestSha256: string): InventoryRow {
  const counts = countsOf(manifest);
  const first = manifest.failed[0]?.code;
  return {
    ...row,
    status: manifest.status,
    mode: manifest.mode,
    finishedAt: manifest.finishedAt,
    durationMs: Math.max(0, Date.parse(manifest.finishedAt) - Date.parse(row.startedAt)) || 0,
    counts,
    bytes: manifestBytes(manifest),
    manifestSha256,
    ...(first ? { firstFailureCode: first } : {}),
  };
}
