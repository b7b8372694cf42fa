import { createHash, randomBytes } from "node:crypto";
import { DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { BlobServiceClient } from "@azure/storage-blob";
import { type App, createApp } from "../../src/app.js";
import { enqueueBackups } from "../../src/backup/backupJobs.js";
import { findRun } from "../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../src/backup/catalog/verifyRun.js";
import type { BackupJob } from "../../src/backup/deps.js";
import { drainEvents, runBackup } from "../../src/backup/engine.js";
import { withFleet } from "../../src/backup/fleet.js";
import { Pool } from "../../src/backup/pool.js";
import { runRestore } from "../../src/backup/restore/runRestore.js";
import type { RunResult } from "../../src/backup/run/record.js";
import { Queues } from "../../src/domain/config.js";
import { KvBackupError } from "../../src/domain/errors.js";
import { totalOf } from "../../src/domain/inventory.js";
import { keyVaultClientOptions } from "../../src/keyvault/clientOptions.js";
import { loadConfig } from "../../src/loadConfig.js";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { takeJobs } from "../stack/takeJobs.js";
import { RunEnded } from "./measure.js";

/**
 * The measured side of `npm run bench`, one process per role so that its memory is its own:
 * BENCH_MODE = backup (one runBackup, optionally verify it and probe storage), baseline (what a
 * runbook does, one secret at a time), drain (a Functions instance: takes jobs from backup-jobs and
 * runs them until the queue stays empty), restore (runRestore of a run into another vault), events
 * (an event function's instance: works off the events queue).
 * Prints one JSON line last.
 */
installNetworkGuard();
const mode = process.env.BENCH_MODE ?? "backup";
const config = loadConfig(process.env, "operator");
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? "16");
const app: App = createApp(config, { tuning: { concurrency } });

let peakRss = 0;
/** Where the peak is: V8's heap (used and reserved) and memory outside it (buffers), each at its own high. */
const peaks = { heapUsed: 0, heapTotal: 0, external: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
  peaks.heapTotal = Math.max(peaks.heapTotal, m.heapTotal);
  peaks.external = Math.max(peaks.external, m.external);
}, 50);
const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
/** The process's high-water mark so far (the kernel's, not a sample). */
const peakRssMb = (): number =>
  mb(Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024));

const summary = (r: RunResult, seconds: number) => ({
  runId: r.runId,
  vault: r.vault,
  status: r.status,
  mode: r.mode,
  objects: totalOf(r.counts, "backedUp"),
  skipped: totalOf(r.counts, "skipped"),
  failed: r.failed.length,
  failures: r.failed.slice(0, 5).map((f) => `${f.kind}/${f.name} ${f.code}`),
  bytes: r.bytes,
  copied: r.copied,
  seconds,
});

async function backup(): Promise<Record<string, unknown>> {
  const job = JSON.parse(process.env.BENCH_JOB as string) as BackupJob;
  const t0 = performance.now();
  // Where the run's time goes, from its progress: until the first object is done (preflight, base,
  // the first page), each kind's listing end, the last object done, then the commit (the manifest).
  const at = (): number => Math.round(performance.now() - t0) / 1000;
  const phases: Record<string, number> = {};
  const r = await runBackup(app, job, {
    onProgress: (p) => {
      if (p.runDone > 0) phases.firstObjectDone ??= at();
      if (p.listingDone) phases[`${p.kind}ListingDone`] ??= at();
      if (p.listingDone && p.done === p.listed) phases[`${p.kind}AllDone`] = at();
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  phases.runEnded = Math.round(seconds * 1000) / 1000;
  const runCpu = process.cpuUsage();
  // The bench reads the other processes' CPU at this line: the run's share, before verify and the probe.
  console.log(RunEnded);
  if (r.status === "failed")
    throw new Error(`the measured run failed: ${JSON.stringify(r.diagnosis ?? r.failed.slice(0, 3))}`);
  const out: Record<string, unknown> = {
    ...summary(r, seconds),
    runCpuSeconds: Math.round((runCpu.user + runCpu.system) / 1e5) / 10,
    phasesSeconds: phases,
    peakRssMb: peakRssMb(),
    peakMemoryMb: {
      heapUsed: mb(peaks.heapUsed),
      heapTotal: mb(peaks.heapTotal),
      external: mb(peaks.external),
    },
  };
  const { manifest } = await findRun(app, r.runId, r.vault);
  out.copiedInManifest = manifest.items.filter((i) => i.copiedFrom).length;
  out.fromKeyVault = manifest.items.length - (out.copiedInManifest as number);
  out.averageBlobBytes = Math.round(r.bytes / Math.max(1, manifest.items.length));
  if (process.env.BENCH_VERIFY === "1") {
    const v0 = performance.now();
    const v = await verifyRun(app, manifest);
    out.verify = {
      ok: v.ok,
      expected: v.expected,
      checked: v.checked,
      bytes: v.bytes,
      problems: v.problems.length,
      seconds: (performance.now() - v0) / 1000,
    };
  }
  const probe = Number(process.env.BENCH_STORAGE_PROBE ?? "0");
  if (probe > 0) out.storageProbe = await storageProbe(probe, out.averageBlobBytes as number, manifest.items);
  return out;
}

/**
 * Storage alone, with the container as the run left it: plain SDK uploads of blobs of the run's
 * average size at the run's concurrency (what each backed-up object costs storage), and plain
 * server-side copies of the run's own blobs (what each unchanged object of an incremental run costs).
 */
async function storageProbe(
  n: number,
  size: number,
  items: readonly { blob: string }[],
): Promise<Record<string, unknown>> {
  const container = new BlobServiceClient(
    process.env.BACKUP_STORAGE__blobServiceUri as string,
    new DefaultAzureCredential(),
  ).getContainerClient(config.container);
  let count = 0;
  for await (const _ of container.listBlobsFlat()) count++;
  const body = randomBytes(Math.max(1, size));
  const tag = Date.now().toString(36);
  const timed = async (fn: (i: number) => Promise<unknown>): Promise<number> => {
    const pool = new Pool(concurrency);
    const t0 = performance.now();
    for (let i = 0; i < n; i++)
      await pool.submit(async () => {
        await fn(i);
      });
    await pool.drain();
    return n / ((performance.now() - t0) / 1000);
  };
  const uploadsPerSec = await timed((i) =>
    container.getBlockBlobClient(`probe/${tag}/u-${i}.kvbak`).uploadData(body, {
      blobHTTPHeaders: { blobContentMD5: createHash("md5").update(body).digest() },
      metadata: { sha256: createHash("sha256").update(body).digest("hex") },
      conditions: { ifNoneMatch: "*" },
    }),
  );
  const sources = items.slice(0, n);
  const copiesPerSec =
    sources.length === 0
      ? undefined
      : await timed(async (i) => {
          const from = sources[i % sources.length] as { blob: string };
          const poller = await container
            .getBlobClient(`probe/${tag}/c-${i}.kvbak`)
            .beginCopyFromURL(container.getBlobClient(from.blob).url, { conditions: { ifNoneMatch: "*" } });
          await poller.pollUntilDone();
        });
  return {
    blobsInContainerBefore: count,
    blobs: n,
    blobBytes: size,
    concurrency,
    uploadsPerSec: Math.round(uploadsPerSec),
    ...(copiesPerSec ? { copiesPerSec: Math.round(copiesPerSec) } : {}),
  };
}

/** What a runbook does today: list, then back up and upload each secret in turn. */
async function baseline(): Promise<Record<string, unknown>> {
  const sample = Number(process.env.BENCH_BASELINE_SAMPLE ?? "300");
  const vault = config.vaults[0];
  if (!vault) throw new Error("no vault");
  const credential = new DefaultAzureCredential();
  const secrets = new SecretClient(vault.url, credential, keyVaultClientOptions(vault.url));
  const container = new BlobServiceClient(
    process.env.BACKUP_STORAGE__blobServiceUri as string,
    credential,
  ).getContainerClient(config.container);
  await container.createIfNotExists();
  const names: string[] = [];
  const t0 = performance.now();
  for await (const s of secrets.listPropertiesOfSecrets()) {
    if (!s.managed) names.push(s.name);
    if (names.length >= sample) break;
  }
  const b0 = performance.now();
  for (const name of names) {
    const bytes = (await secrets.backupSecret(name)) as Uint8Array;
    createHash("sha256").update(bytes).digest("hex");
    await container.getBlockBlobClient(`baseline/${name}.kvbak`).uploadData(bytes);
  }
  const seconds = (performance.now() - b0) / 1000;
  return { objects: names.length, seconds, listSeconds: (b0 - t0) / 1000, peakRssMb: peakRssMb() };
}

/** A Functions instance: takes one job at a time from backup-jobs until the queue stays empty. */
async function drain(): Promise<Record<string, unknown>> {
  const idleMs = Number(process.env.BENCH_IDLE_MS ?? "3000");
  const runs: Record<string, unknown>[] = [];
  const givenBack: Record<string, unknown>[] = [];
  let idleSince = Date.now();
  for (;;) {
    const [job] = await takeJobs<BackupJob>(Queues.backup, 1);
    if (!job) {
      if (Date.now() - idleSince > idleMs) break;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const startedAt = Date.now();
    try {
      const r = await runBackup(app, job);
      runs.push({ ...summary(r, (Date.now() - startedAt) / 1000), startedAt, endedAt: Date.now() });
    } catch (e) {
      // As the Functions host does with a retryable failure (a lease or budget slot lost): the
      // message goes back on the queue and is delivered again. Counted, never hidden.
      if (!(e instanceof KvBackupError && e.retryable)) throw e;
      givenBack.push({ vault: job.vault, code: e.code, after: (Date.now() - startedAt) / 1000 });
      await app.backupJobs.send(job);
    }
    idleSince = Date.now();
  }
  return { runs, givenBack, peakRssMb: peakRssMb(), pid: process.pid };
}

async function restore(): Promise<Record<string, unknown>> {
  const runId = process.env.BENCH_RUN_ID as string;
  const source = process.env.BENCH_SOURCE_VAULT as string;
  const target = process.env.BENCH_TARGET_VAULT as string;
  const t0 = performance.now();
  const report = await runRestore(app, { runId, vault: source, targetVault: target, onConflict: "skip" });
  const seconds = (performance.now() - t0) / 1000;
  const outcomes: Record<string, number> = {};
  for (const e of report.results ?? []) outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
  const failed = (report.results ?? []).filter((e) => e.outcome === "failed");
  return {
    status: report.status,
    objects: outcomes.restored ?? 0,
    outcomes,
    failed: failed.length,
    failures: failed.slice(0, 5).map((f) => `${f.kind}/${f.name} ${f.diagnosis?.code ?? ""}`),
    seconds,
    peakRssMb: peakRssMb(),
  };
}

/**
 * An event function's instance (continuous protection): works off the events queue until it has
 * taken BENCH_EVENTS_EXPECTED messages; per event, the seconds from the version's creation (the
 * event's time) to its backup done; then every event blob's name, for the bench to check.
 */
async function events(): Promise<Record<string, unknown>> {
  const expected = Number(process.env.BENCH_EVENTS_EXPECTED);
  const deadline = Date.now() + Number(process.env.BENCH_EVENTS_TIMEOUT_MS ?? "600000");
  const seconds: number[] = [];
  const totals = { processed: 0, backedUp: 0, duplicates: 0, skipped: 0, failed: 0 };
  // The container exists in a deployment (the infra makes it); the bench's storage starts empty.
  await app.blobs.probe();
  while (totals.processed < expected && Date.now() < deadline) {
    const r = await drainEvents(app, undefined, {
      onEvent: (e) => seconds.push((Date.now() - Date.parse(e.eventAt)) / 1000),
    });
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r[k];
    // As the Functions host polls an empty queue: look again shortly.
    if (r.processed === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const blobs = [...(await app.blobs.list("events/")).keys()];
  return { ...totals, seconds, blobs, peakRssMb: peakRssMb() };
}

/** The timer's part: the fleet discovered, one job per vault on backup-jobs (full runs: no base yet). */
async function enqueue(): Promise<Record<string, unknown>> {
  const deps = await withFleet(app, undefined, { fresh: true });
  const runs = await enqueueBackups(deps, { tier: "daily", trigger: "timer", mode: "full" });
  return { queued: runs.length, discovered: deps.fleet?.vaults.length ?? 0 };
}

const modes: Record<string, () => Promise<Record<string, unknown>>> = {
  backup,
  baseline,
  drain,
  restore,
  enqueue,
  events,
};
const fn = modes[mode];
if (!fn) throw new Error(`BENCH_MODE: one of ${Object.keys(modes).join(", ")}`);
const result = await fn();
clearInterval(sampler);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ mode, ...result, cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10 }));
