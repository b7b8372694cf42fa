import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newRunId } from "../../src/domain/runId.js";
import { MetricNames, RunCompletedEvent, StatusEvent } from "../../src/telemetry/instruments.js";
import { childEnv, startTestStack, testTls } from "../integration/helpers.js";
import { verifyJwt } from "../stack/identity/jwt.js";
import type { Stack } from "../stack/stack.js";
import { functionsCoreStand } from "./functionsCore.js";
import { type Envelope, Ingestion } from "./ingestion.js";

/**
 * The deployed package with telemetry on, as Azure runs it: loaded as the Node worker loads it,
 * two invocations made as the worker makes them (a backup job from the queue, then the hourly
 * status timer), against the local Azure, exporting through the Azure Monitor exporter to
 * Application Insights' ingestion on loopback. What the alerts and an operator read must arrive:
 * the events, the metrics, the run's trace with the Azure SDK's calls beneath it, never a secret.
 */
const root = join(import.meta.dirname, "..", "..");
// The package copied away from the checkout (globalSetup.ts); KVBACKUP_PACKAGE_APP: another package
// to hold to the same contract (e.g. an older build).
const app = process.env.KVBACKUP_PACKAGE_APP ?? inject("deployedApp");
let stack: Stack;
let ingestion: Ingestion;
let stubs: string;
type Invocation = { name: string; traceId: string; ok: boolean; error?: string; log: string[] };
let loaded: {
  invocations: Invocation[];
  flushed: string[];
  refused: string[];
  outside: string[];
  unresolved: string[];
};
let backupTrace: string;
let statusTrace: string;
const runId = newRunId();

beforeAll(async () => {
  stack = await startTestStack();
  ingestion = new Ingestion(testTls());
  await ingestion.start();
  stubs = functionsCoreStand(process.env.KVBACKUP_TEST_TLS_DIR ?? root);
  // The app's settings as the infra sets them (the stack's own admin settings stay out).
  const settings = Object.fromEntries(Object.entries(stack.env).filter(([k]) => !k.startsWith("STACK_")));
  const job = { runId, vault: stack.vaults.demo.name, tier: "manual", trigger: "http" };
  // Asynchronously: the local Azure answers from this process.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      join(import.meta.dirname, "loadAsWorker.mjs"),
      app,
      ...["--invoke", "backupWorker", "--input", JSON.stringify(job)],
      ...["--invoke", "scheduledStatus"],
    ],
    {
      env: {
        ...childEnv(settings),
        NODE_PATH: stubs,
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(),
        // Every trace kept, as docs/operations.md tells an operator who wants each run's trace: the
        // distro's default (5 traces a second, adaptive) drops a trace that starts right after a cold start.
        OTEL_TRACES_SAMPLER: "always_on",
      },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  loaded = JSON.parse(stdout.trim().split("\n").at(-1) as string);
  backupTrace = loaded.invocations[0]?.traceId as string;
  statusTrace = loaded.invocations[1]?.traceId as string;
}, 180_000);
afterAll(async () => {
  await ingestion?.stop();
  await stack?.stop();
  if (stubs) rmSync(stubs, { recursive: true, force: true });
});

const of = (type: string): Envelope[] => ingestion.envelopes.filter((e) => e.data?.baseType === type);
const named = (type: string, name: string) => of(type).filter((e) => e.data?.baseData?.name === name);
const opId = (e: Envelope) => e.tags?.["ai.operation.id"];

describe("the deployed package's telemetry, through the Azure Monitor exporter", () => {
  it("both invocations ran and every provider flushed", () => {
    expect(loaded.invocations.map((i) => [i.name, i.ok, i.error])).toEqual([
      ["backupWorker", true, undefined],
      ["scheduledStatus", true, undefined],
    ]);
    expect(loaded.flushed).toEqual(["traces", "logs", "metrics"]);
    expect(ingestion.unknown).toEqual([]);
  });

  it("the exporter signs in with the app's managed identity (the infra turns local auth off)", () => {
    expect(ingestion.tokens.length).toBeGreaterThan(0);
    for (const token of ingestion.tokens) {
      const verified = verifyJwt(token ?? "", [stack.identity.signer.publicKey], {
        audiences: ["https://monitor.azure.com"],
        issuerPrefix: "https://sts.windows.net/",
      });
      expect(verified.ok && verified.claims.oid).toBe(stack.identities.app.principalId);
    }
  });

  it("the run's event and each vault's status event, in their invocation's operation", () => {
    const [run] = named("EventData", RunCompletedEvent);
    expect(run?.data?.baseData?.properties).toMatchObject({
      runId,
      vault: "demo-vault",
      status: "succeeded",
    });
    expect(opId(run as Envelope)).toBe(backupTrace);
    const [status] = named("EventData", StatusEvent);
    expect(status?.data?.baseData?.properties).toMatchObject({ vault: "demo-vault", inFleet: "true" });
    expect(status?.data?.baseData?.properties?.lastSuccessAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(opId(status as Envelope)).toBe(statusTrace);
  });

  it("the run's metrics", () => {
    const metrics = new Set(
      of("MetricData").flatMap((e) =>
        ((e.data?.baseData?.metrics ?? []) as { name: string }[]).map((m) => m.name),
      ),
    );
    for (const name of [
      MetricNames.objects,
      MetricNames.bytes,
      MetricNames.runDuration,
      MetricNames.lastSuccess,
    ])
      expect(metrics).toContain(name);
  });

  it("the run's trace: kvbackup.run, a span per kind, the Key Vault and Storage calls beneath", () => {
    const deps = of("RemoteDependencyData").filter((e) => opId(e) === backupTrace);
    const byName = (n: string) => deps.filter((e) => e.data?.baseData?.name === n);
    const [runSpan] = byName("kvbackup.run");
    expect(runSpan?.data?.baseData?.properties).toMatchObject({
      "kvbackup.run_id": runId,
      "kvbackup.vault": "demo-vault",
    });
    expect(byName("kvbackup.kind")).toHaveLength(3);
    // The Azure SDK's own spans (its instrumentation, applied to the bundled @azure/core-tracing).
    expect(byName("SecretClient.backupSecret").length).toBeGreaterThan(0);
    expect(byName("KeyClient.backupKey").length).toBeGreaterThan(0);
    expect(byName("BlockBlobClient-upload").length).toBeGreaterThan(0);
    const ids = new Map(deps.map((e) => [e.data?.baseData?.id as string, e]));
    const ancestors = (e: Envelope): string[] => {
      const parent = ids.get(e.tags?.["ai.operation.parentId"] ?? "");
      return parent ? [String(parent.data?.baseData?.name), ...ancestors(parent)] : [];
    };
    const backupSecret = byName("SecretClient.backupSecret")[0] as Envelope;
    expect(ancestors(backupSecret).slice(0, 2)).toEqual(["kvbackup.kind", "kvbackup.run"]);
  });

  it("no secret value and no backup blob in any envelope", () => {
    const all = JSON.stringify(ingestion.envelopes);
    for (const value of [
      "pw-billing-prod-v2",
      "api-key-v5",
      "t0k3n",
      "DefaultEndpointsProtocol=https;AccountName=demo",
    ])
      expect(all).not.toContain(value);
  });

  it("nothing left loopback but the distro's own start-up calls, which the guard made unreachable", () => {
    // The Azure VM resource detector's metadata probe, and (when the process lives long enough) the
    // SDK-statistics settings fetch: both fail quietly, and everything above arrived regardless.
    const distro = ["169.254.169.254", "settings.sdk.monitor.azure.com"];
    expect(loaded.refused.filter((host) => !distro.includes(host))).toEqual([]);
  });

  it("nothing comes from outside the package: the distro's own reach for @azure/core-tracing finds nothing, and the SDK's spans above come from kvbackup's bridge on the bundled copy", () => {
    expect(loaded.outside).toEqual([]);
    expect(loaded.unresolved.filter((m) => m !== "@azure/core-tracing")).toEqual([]);
  });
});
