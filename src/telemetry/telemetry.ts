import {
  type Attributes,
  type Counter,
  context,
  type Histogram,
  metrics,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import type { RunStatus, Tier, Trigger } from "../backup/manifest.js";
import type { Kind } from "../config.js";
import type { Counts, Outcome } from "../storage/inventory.js";

/** The event the infra's alerts query ("no successful backup in 26 h", failed or partial runs). */
export const RunCompletedEvent = "KeyVaultBackupRunCompleted";

export const MetricNames = {
  objects: "kvbackup.objects",
  bytes: "kvbackup.bytes",
  runDuration: "kvbackup.run.duration",
  throttled: "kvbackup.throttled",
  lastSuccess: "kvbackup.last_success",
} as const;

interface Instruments {
  objects: Counter;
  bytes: Counter;
  duration: Histogram;
  throttled: Counter;
}

let instruments: Instruments | undefined;
const lastSuccess = new Map<string, number>();

/**
 * Instruments are made at first use, after the entry point (or a test) has installed a meter
 * provider: the OpenTelemetry API hands out no-op meters before that.
 */
function meters(): Instruments {
  if (instruments) return instruments;
  const meter = metrics.getMeter("kvbackup");
  instruments = {
    objects: meter.createCounter(MetricNames.objects, {
      description: "Objects handled, by kind and outcome",
    }),
    bytes: meter.createCounter(MetricNames.bytes, { description: "Backup bytes written", unit: "By" }),
    duration: meter.createHistogram(MetricNames.runDuration, { description: "Run duration", unit: "s" }),
    throttled: meter.createCounter(MetricNames.throttled, { description: "429 answers seen from Key Vault" }),
  };
  meter
    .createObservableGauge(MetricNames.lastSuccess, {
      description: "Unix time of the vault's last successful run",
      unit: "s",
    })
    .addCallback((result) => {
      for (const [vault, at] of lastSuccess) result.observe(at, { vault });
    });
  return instruments;
}

/** Only for tests that install a fresh meter provider. */
export function resetTelemetryForTests(): void {
  instruments = undefined;
  lastSuccess.clear();
}

export interface RunInfo {
  runId: string;
  vault: string;
  tier: Tier;
  trigger: Trigger;
}

export interface RunSummary {
  status: RunStatus;
  counts: Counts;
  bytes: number;
  durationMs: number;
  firstFailureCode?: string;
}

/** One run's telemetry: the kvbackup.run span with a child per kind, the metrics and the closing event. */
export class RunTelemetry {
  private readonly span;
  private readonly base: Attributes;
  private ended = false;

  constructor(readonly run: RunInfo) {
    this.base = { vault: run.vault, tier: run.tier };
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
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      span.end();
    }
  }

  /** Object names never go into metric attributes: cardinality stays low. */
  object(kind: Kind, outcome: Outcome, bytes = 0): void {
    const m = meters();
    m.objects.add(1, { ...this.base, kind, outcome });
    if (bytes > 0) m.bytes.add(bytes, { ...this.base, kind });
  }

  throttled(): void {
    meters().throttled.add(1, { vault: this.run.vault });
  }

  /** The run stopped without a result (aborted, or storage vanished mid-run): close the span as an error. */
  abandon(e: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.span.recordException(e instanceof Error ? e : new Error(String(e)));
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    this.span.end();
  }

  end(summary: RunSummary): void {
    this.ended = true;
    const m = meters();
    m.duration.record(summary.durationMs / 1000, { ...this.base, status: summary.status });
    if (summary.status === "succeeded") lastSuccess.set(this.run.vault, Math.floor(Date.now() / 1000));
    this.span.setAttribute("kvbackup.status", summary.status);
    this.span.setStatus(
      summary.status === "failed"
        ? { code: SpanStatusCode.ERROR, message: summary.firstFailureCode ?? "failed" }
        : { code: SpanStatusCode.OK },
    );
    this.span.end();
    const fields = {
      runId: this.run.runId,
      vault: this.run.vault,
      tier: this.run.tier,
      trigger: this.run.trigger,
      status: summary.status,
      counts: JSON.stringify(summary.counts),
      bytes: summary.bytes,
      durationMs: summary.durationMs,
      ...(summary.firstFailureCode ? { firstFailureCode: summary.firstFailureCode } : {}),
    };
    // Azure Monitor turns a log record with microsoft.custom_event.name into a customEvents row.
    logs.getLogger("kvbackup").emit({
      severityNumber: summary.status === "succeeded" ? SeverityNumber.INFO : SeverityNumber.WARN,
      body: RunCompletedEvent,
      attributes: { "microsoft.custom_event.name": RunCompletedEvent, ...fields },
    });
  }
}
