import { InvocationContext, type Timer } from "@azure/functions";
import { context, metrics, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import { newRunId } from "../../../src/domain/runId.js";
import { VaultStatusFields } from "../../../src/domain/vaultStatus.js";
import { scheduledStatus } from "../../../src/functions/scheduledStatus.js";
import { instrumentAzureSdk } from "../../../src/telemetry/azureSdk.js";
import { MetricNames, RunCompletedEvent, StatusEvent } from "../../../src/telemetry/instruments.js";
import { addFleet, type Stack } from "../../stack/stack.js";
import { appFor, startTestStack } from "../helpers.js";

const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
const logRecords = new InMemoryLogRecordExporter();
let stack: Stack;
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  logs.setGlobalLoggerProvider(
    new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logRecords })] }),
  );
  instrumentAzureSdk();
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("telemetry of a run, through in-memory exporters", () => {
  it("emits the run span with a child per kind and SDK spans beneath, the metrics, and the completed event", async () => {
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 30 });
    const runId = newRunId();
    const r = await runBackup(appFor(), {
      runId,
      vault: "demo-vault",
      tier: "daily",
      trigger: "timer",
    });
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 4000 });
    expect(r.status).toBe("succeeded");

    const finished = spans.getFinishedSpans();
    const run = finished.find((s) => s.name === "kvbackup.run");
    expect(run?.attributes).toMatchObject({
      "kvbackup.run_id": runId,
      "kvbackup.vault": "demo-vault",
      "kvbackup.tier": "daily",
      "kvbackup.status": "succeeded",
    });
    const kinds = finished.filter((s) => s.name === "kvbackup.kind");
    expect(kinds.map((s) => s.attributes["kvbackup.kind"]).sort()).toEqual([
      "certificates",
      "keys",
      "secrets",
    ]);
    for (const k of kinds) expect(k.parentSpanContext?.spanId).toBe(run?.spanContext().spanId);
    const kindIds = new Set(kinds.map((k) => k.spanContext().spanId));
    const sdk = finished.filter(
      (s) => s.parentSpanContext && kindIds.has(s.parentSpanContext.spanId) && s.name !== "kvbackup.kind",
    );
    expect(sdk.length).toBeGreaterThan(0);

    await reader.forceFlush();
    const all = metricExporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const metric = (name: string) => all.filter((m) => m.descriptor.name === name).at(-1);
    const objects = metric(MetricNames.objects);
    const points = objects?.dataPoints ?? [];
    const backedUp = points
      .filter((p) => p.attributes["kvbackup.outcome"] === "backedUp")
      .reduce((n, p) => n + Number(p.value), 0);
    expect(backedUp).toBe(33);
    expect(
      points.find(
        (p) => p.attributes["kvbackup.kind"] === "secrets" && p.attributes["kvbackup.outcome"] === "skipped",
      )?.value,
    ).toBe(3);
    for (const p of points)
      expect(Object.keys(p.attributes).sort()).toEqual([
        "kvbackup.kind",
        "kvbackup.outcome",
        "kvbackup.tier",
        "kvbackup.vault",
      ]);
    expect(Number(metric(MetricNames.bytes)?.dataPoints.reduce((n, p) => n + Number(p.value), 0))).toBe(
      r.bytes,
    );
    expect(metric(MetricNames.runDuration)?.dataPoints[0]?.attributes).toMatchObject({
      "kvbackup.vault": "demo-vault",
      "kvbackup.status": "succeeded",
    });
    expect(Number(metric(MetricNames.throttled)?.dataPoints[0]?.value)).toBeGreaterThan(0);
    const last = metric(MetricNames.lastSuccess)?.dataPoints[0];
    expect(last?.attributes).toEqual({ "kvbackup.vault": "demo-vault" });
    expect(Number(last?.value)).toBeGreaterThan(Date.now() / 1000 - 120);

    const event = logRecords
      .getFinishedLogRecords()
      .find((l) => l.attributes["microsoft.custom_event.name"] === RunCompletedEvent);
    expect(event?.attributes).toMatchObject({
      runId,
      vault: "demo-vault",
      tier: "daily",
      status: "succeeded",
      durationMs: expect.any(Number),
    });
    expect(JSON.parse(String(event?.attributes.counts)).certificates).toEqual({
      backedUp: 3,
      skipped: 0,
      failed: 0,
    });
  }, 120_000);

  it("the hourly status the alerts read is emitted for every vault, discovered ones too, with the dimensions the queries read (issue 21)", async () => {
    const fleetEnv = await addFleet(stack, stack.vaults.demo);
    const app = appFor(fleetEnv);
    await runBackup(app, { runId: newRunId(), vault: "team-a-kv", tier: "daily", trigger: "timer" });
    logRecords.reset();
    const ctx = new InvocationContext({ functionName: "scheduledStatus", logHandler: () => undefined });
    await scheduledStatus(app)(timer, ctx);
    const events = logRecords
      .getFinishedLogRecords()
      .filter((l) => l.attributes["microsoft.custom_event.name"] === StatusEvent);
    const by = Object.fromEntries(events.map((e) => [String(e.attributes.vault), e.attributes]));
    expect(Object.keys(by).sort()).toEqual(["demo-vault", "team-a-kv", "team-b-kv"]);
    expect(by["team-a-kv"]).toMatchObject({
      kind: "vault",
      inFleet: "true",
      lastSuccessAt: expect.any(String),
    });
    expect(by["team-b-kv"]).toMatchObject({ kind: "vault", inFleet: "true" });
    expect(by["team-b-kv"]?.lastSuccessAt).toBeUndefined();
    for (const e of events)
      for (const key of Object.keys(e.attributes).filter((k) => k !== "microsoft.custom_event.name"))
        expect(VaultStatusFields as readonly string[]).toContain(key);
  }, 60_000);
});
