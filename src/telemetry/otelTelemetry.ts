import { type Attributes, context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import type { CopySummary } from "../domain/copyFacts.js";
import type { DrillSummary } from "../domain/drillRecord.js";
import { firstLine } from "../domain/errors.js";
import type { Outcome } from "../domain/inventory.js";
import type { VaultStatus } from "../domain/vaultStatus.js";
import type { Kind, RunStatus, Tier, Trigger } from "../domain/vocabulary.js";
import {
  CopyCompletedEvent,
  DrillCompletedEvent,
  instruments,
  RunCompletedEvent,
  StatusEvent,
} from "./instruments.js";

interface RunInfo {
  runId: string;
  vault: string;
  tier: Tier;
  trigger: Trigger;
}

interface RunSummary {
  status: RunStatus | "abandoned";
  counts: unknown;
  bytes: number;
  durationMs: number;
  firstFailureCode?: string;
}

/** One run's telemetry through the OpenTelemetry API: the kvbackup.run span with a child per kind, the metrics and the closing event. */
class OtelRun {
  private readonly span: Span;
  private readonly base: Attributes;
  private ended = false;

  constructor(private readonly run: RunInfo) {
    // Metric attributes are namespaced (OpenTelemetry naming: attributes of our own domain carry its prefix).
    this.base = { "kvbackup.vault": run.vault, "kvbackup.tier": run.tier };
    this.span = trace.getTracer("kvbackup").startSpan("kvbackup.run", {
      attributes: {
        "kvbackup.run_id": run.runId,
        "kvbackup.vault": run.vault,
        "kvbackup.tier": run.tier,
        "kvbackup.trigger": run.trigger,
      },
    });
  }

  /** Runs fn inside a child span for one kind; the Azure SDK's spans land beneath it. */
  async kind<T>(kind: Kind, fn: () => Promise<T>): Promise<T> {
    const parent = trace.setSpan(context.active(), this.span);
    const span = trace
      .getTracer("kvbackup")
      .startSpan("kvbackup.kind", { attributes: { "kvbackup.kind": kind } }, parent);
    try {
      return await context.with(trace.setSpan(parent, span), fn);
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: firstLine(e) });
      throw e;
    } finally {
      span.end();
    }
  }

  /** Object names never go into metric attributes: cardinality stays low. */
  object(kind: Kind, outcome: Outcome, bytes = 0): void {
    const m = instruments();
    m.objects.add(1, { ...this.base, "kvbackup.kind": kind, "kvbackup.outcome": outcome });
    if (bytes > 0) m.bytes.add(bytes, { ...this.base, "kvbackup.kind": kind });
  }

  throttled(): void {
    instruments().throttled.add(1, { "kvbackup.vault": this.run.vault });
  }

  interrupt(e: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.span.recordException(e instanceof Error ? e : new Error(String(e)));
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: firstLine(e) });
    this.span.end();
  }

  end(summary: RunSummary): void {
    if (this.ended) return;
    this.ended = true;
    const m = instruments();
    m.duration.record(summary.durationMs / 1000, { ...this.base, "kvbackup.status": summary.status });
    if (summary.status === "succeeded") m.lastSuccess.set(this.run.vault, Math.floor(Date.now() / 1000));
    this.span.setAttribute("kvbackup.status", summary.status);
    this.span.setStatus(
      summary.status === "succeeded" || summary.status === "partial"
        ? { code: SpanStatusCode.OK }
        : { code: SpanStatusCode.ERROR, message: summary.firstFailureCode ?? summary.status },
    );
    this.span.end();
    // Azure Monitor turns a log record with microsoft.custom_event.name into a customEvents row.
    logs.getLogger("kvbackup").emit({
      severityNumber: summary.status === "succeeded" ? SeverityNumber.INFO : SeverityNumber.WARN,
      body: RunCompletedEvent,
      attributes: {
        "microsoft.custom_event.name": RunCompletedEvent,
        runId: this.run.runId,
        vault: this.run.vault,
        tier: this.run.tier,
        trigger: this.run.trigger,
        status: summary.status,
        counts: JSON.stringify(summary.counts),
        bytes: summary.bytes,
        durationMs: summary.durationMs,
        ...(summary.firstFailureCode ? { firstFailureCode: summary.firstFailureCode } : {}),
      },
    });
  }
}

/** A drill's end: the event the "no proven restore" alert reads, and the gauge when it proved a restore. */
function drillEnded(d: DrillSummary): void {
  if (d.status === "succeeded") instruments().lastProvenRestore.set(d.vault, Math.floor(Date.now() / 1000));
  logs.getLogger("kvbackup").emit({
    severityNumber: d.status === "succeeded" ? SeverityNumber.INFO : SeverityNumber.WARN,
    body: DrillCompletedEvent,
    attributes: {
      "microsoft.custom_event.name": DrillCompletedEvent,
      vault: d.vault,
      drillId: d.drillId,
      ...(d.runId ? { runId: d.runId } : {}),
      status: d.status,
      compared: d.compared,
      mismatches: d.mismatches,
      durationMs: d.durationMs,
      ...(d.firstFailureCode ? { firstFailureCode: d.firstFailureCode } : {}),
    },
  });
}

/** One KeyVaultBackupStatus event per vault; a time it does not have is left out (the alert reads that as never). */
function fleetStatus(statuses: readonly VaultStatus[]): void {
  const logger = logs.getLogger("kvbackup");
  for (const s of statuses)
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      body: StatusEvent,
      attributes: {
        "microsoft.custom_event.name": StatusEvent,
        vault: s.vault,
        kind: s.kind,
        // customDimensions are strings: booleans as "true" / "false", as the queries compare them.
        inFleet: String(s.inFleet),
        drilled: String(s.drilled),
        ...(s.lastSuccessAt ? { lastSuccessAt: s.lastSuccessAt } : {}),
        ...(s.lastProvenRestoreAt ? { lastProvenRestoreAt: s.lastProvenRestoreAt } : {}),
      },
    });
}

/** A run's copy ended: KeyVaultBackupCopyCompleted, what the copy alerts read (failed; lagSeconds). */
function copyEnded(c: CopySummary): void {
  logs.getLogger("kvbackup").emit({
    severityNumber: c.status === "copied" ? SeverityNumber.INFO : SeverityNumber.WARN,
    body: CopyCompletedEvent,
    attributes: {
      "microsoft.custom_event.name": CopyCompletedEvent,
      runId: c.runId,
      vault: c.vault,
      status: c.status,
      blobs: c.blobs,
      bytes: c.bytes,
      durationMs: c.durationMs,
      ...(c.lagSeconds !== undefined ? { lagSeconds: c.lagSeconds } : {}),
      ...(c.method ? { method: c.method } : {}),
      ...(c.code ? { code: c.code } : {}),
    },
  });
}

/** The engine's Telemetry port, on the OpenTelemetry API (exported to Azure Monitor when bootstrap set that up). */
export const otelTelemetry = {
  run: (info: RunInfo): OtelRun => new OtelRun(info),
  drillEnded,
  fleetStatus,
  copyEnded,
};
