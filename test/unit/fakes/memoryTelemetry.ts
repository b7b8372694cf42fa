import type {
  CopySummary,
  DrillSummary,
  RunInfo,
  RunSummary,
  RunTelemetry,
  Telemetry,
} from "../../../src/backup/ports.js";
import type { Outcome } from "../../../src/domain/inventory.js";
import type { VaultStatus } from "../../../src/domain/vaultStatus.js";
import type { Kind } from "../../../src/domain/vocabulary.js";

export interface RecordedRun {
  info: RunInfo;
  kinds: Kind[];
  objects: { kind: Kind; outcome: Outcome; bytes: number }[];
  throttled: number;
  ended?: RunSummary;
  interrupted?: unknown;
}

/** The Telemetry port, recording: which runs started, what they counted, how they ended (the event). */
export class MemoryTelemetry implements Telemetry {
  readonly runs: RecordedRun[] = [];
  /** KeyVaultRestoreDrillCompleted events, in order. */
  readonly drills: DrillSummary[] = [];

  /** KeyVaultBackupStatus events, in order. */
  readonly statuses: VaultStatus[] = [];

  /** KeyVaultBackupCopyCompleted events, in order. */
  readonly copies: CopySummary[] = [];

  copyEnded(summary: CopySummary): void {
    this.copies.push(summary);
  }

  drillEnded(summary: DrillSummary): void {
    this.drills.push(summary);
  }

  fleetStatus(statuses: readonly VaultStatus[]): void {
    this.statuses.push(...statuses);
  }

  run(info: RunInfo): RunTelemetry {
    const r: RecordedRun = { info, kinds: [], objects: [], throttled: 0 };
    this.runs.push(r);
    return {
      kind: async (kind, fn) => {
        r.kinds.push(kind);
        return fn();
      },
      object: (kind, outcome, bytes = 0) => void r.objects.push({ kind, outcome, bytes }),
      throttled: () => void r.throttled++,
      end: (summary) => {
        r.ended = summary;
      },
      interrupt: (e) => {
        r.interrupted = e;
      },
    };
  }

  /** The events emitted (KeyVaultBackupRunCompleted), in order. */
  get events(): (RunSummary & RunInfo)[] {
    return this.runs.filter((r) => r.ended).map((r) => ({ ...r.info, ...(r.ended as RunSummary) }));
  }
}
