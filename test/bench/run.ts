import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { eventBlobFacts } from "../../src/backup/events/backupEvent.js";
import { newRunId } from "../../src/domain/runId.js";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { deliverEvents } from "../stack/stack.js";
import { type BenchStack, type StorageMode, startBenchStack } from "./benchStack.js";
import {
  compileWorker,
  cpuSince,
  cpuSnapshot,
  killWorkers,
  machine,
  RequestLog,
  RunEnded,
  round,
  runWorker,
  withCpu,
} from "./measure.js";
import { churnBenchVault, seedBenchVault } from "./seed.js";

/**
 * `npm run bench -- --scenario single|incremental|fleet|restore|events [--objects N] [--vaults V --workers W]`
 * (events: N new secret versions across V vaults, default 10, made over --seconds, default 60)
 *
 * Starts a private local Azure (Key Vault emulator with its token buckets on, identity endpoint,
 * ARM emulator, Azurite in memory — or with --storage sql its blob metadata in a private MariaDB,
 * which measured slower here), seeds vaults, runs kvbackup — compiled, in separate processes — and measures from the emulator's own counters and request log. The last
 * line printed is one JSON object; it is also written to .local/bench/<scenario>-<objects>.json.
 * Everything started here listens on 127.0.0.1 and is stopped at the end, also on failure.
 */
installNetworkGuard();
const azuriteVersion = (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve("azurite/package.json"), "utf8")) as {
    version: string;
  }
).version;
const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "single" },
    objects: { type: "string" },
    vaults: { type: "string", default: "20" },
    workers: { type: "string", default: "4" },
    storage: { type: "string", default: "memory" },
    concurrency: { type: "string", default: "16" },
    "latency-ms": { type: "string", default: "10" },
    "jitter-ms": { type: "string", default: "5" },
    "vault-limit": { type: "string", default: "4000" },
    rate: { type: "string", default: "2000" },
    "create-limit": { type: "string", default: "300" },
    "vault-rate": { type: "string" },
    "subscription-rate": { type: "string" },
    churn: { type: "string", default: "0.01" },
    "baseline-sample": { type: "string", default: "300" },
    "storage-probe": { type: "string", default: "2000" },
    out: { type: "string" },
    seconds: { type: "string", default: "60" },
  },
});

const scenario = values.scenario as string;
const Scenarios = ["single", "incremental", "fleet", "restore", "events"] as const;
type Scenario = (typeof Scenarios)[number];
if (!(Scenarios as readonly string[]).includes(scenario))
  throw new Error(`--scenario: one of ${Scenarios.join(", ")}`);
const num = (name: string, raw: string | undefined, min: number): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} takes a number >= ${min}`);
  return n;
};
const defaultObjects: Record<Scenario, string> = {
  single: "10000",
  incremental: "10000",
  fleet: "10000",
  restore: "2000",
  events: "2000",
};
const objects = Math.round(num("objects", values.objects ?? defaultObjects[scenario as Scenario], 10));
const storage = values.storage as StorageMode;
if (storage !== "sql" && storage !== "memory") throw new Error("--storage: sql or memory");
const concurrency = num("concurrency", values.concurrency, 1);
const latency = {
  fixedMs: num("latency-ms", values["latency-ms"], 0),
  jitterMs: num("jitter-ms", values["jitter-ms"], 0),
};
const vaultLimit = num("vault-limit", values["vault-limit"], 10);
const createLimit = num("create-limit", values["create-limit"], 1);
/** BACKUP_RATE_PER_10S of single, incremental and restore runs: the app's default, half the vault's limit. */
const rate = num("rate", values.rate, 10);
const dir = resolve(".local/bench");
const outFile = resolve(values.out ?? join(dir, `${scenario}-${objects}.json`));
mkdirSync(dir, { recursive: true });

const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const secondsSince = (t0: number): number => round((performance.now() - t0) / 1000, 1);

type Result = Record<string, unknown>;

/** The settings of a backing-up process: the stack's, the vaults, the budget. */
function appEnv(stack: BenchStack, extra: Record<string, string>): Record<string, string> {
  return { ...stack.env, BENCH_CONCURRENCY: String(concurrency), ...extra };
}

async function seedOne(stack: BenchStack, name: string, n: number) {
  const v = await stack.addVault(name);
  const s0 = performance.now();
  const seeded = seedBenchVault(stack.emulator, name, n);
  log(
    `seeded ${name}: ${seeded.secrets} secrets, ${seeded.keys} keys, ${seeded.certificates} certificates in ${secondsSince(s0)} s`,
  );
  stack.emulator.setLimits(name, { perTenSeconds: vaultLimit, createPerTenSeconds: createLimit });
  stack.emulator.setLatency(name, latency);
  return { ...v, seeded };
}

/** One runBackup in its own process, measured from the emulator's counters and log. */
async function backupRun(
  stack: BenchStack,
  requests: RequestLog,
  vault: { name: string; url: string },
  job: { tier: "manual" | "daily"; mode: "full" | "incremental" },
  extra: Record<string, string> = {},
) {
  stack.emulator.resetStats(vault.name);
  requests.clear();
  const env = appEnv(stack, {
    BACKUP_VAULTS: `${vault.name}=${vault.url}`,
    BACKUP_RATE_PER_10S: String(rate),
    BACKUP_SUBSCRIPTION_RATE_PER_10S: String(Math.min(20_000, rate * 5)),
    BACKUP_INCREMENTAL: "true",
    BENCH_MODE: "backup",
    BENCH_JOB: JSON.stringify({ runId: newRunId(), vault: vault.name, trigger: "cli", ...job }),
    ...extra,
  });
  const parts = { azurite: stack.storage.azuritePid, mariadb: stack.storage.mariadbPid };
  const started = cpuSnapshot(parts);
  let runCpu: Record<string, number> | undefined;
  const w = runWorker(env, "backup", undefined, (line) => {
    if (line === RunEnded) runCpu = cpuSince(started, parts);
  });
  const r = await w.done;
  if (!runCpu) throw new Error("the backup worker did not say when its run ended");
  const stats = stack.emulator.stats(vault.name);
  const seconds = r.seconds as number;
  const txPerSec = stats.total / seconds;
  const run = {
    runId: r.runId,
    status: r.status,
    mode: r.mode,
    objects: r.objects as number,
    fromKeyVault: r.fromKeyVault,
    copied: r.copied,
    skippedManagedByCertificate: r.skipped,
    failed: r.failed as number,
    failures: r.failures,
    seconds: round(seconds),
    objectsPerSec: round((r.objects as number) / seconds, 1),
    kvTransactions: stats.total,
    kvTransactionsByOperation: stats.byOperation,
    kvTxPerSec: round(txPerSec, 1),
    budgetPerSec: rate / 10,
    budgetUtilisation: round(txPerSec / (rate / 10), 3),
    throttled: stats.throttled,
    throttledShare: round(stats.throttled / Math.max(1, stats.total), 4),
    ...requests.windows(),
    peakConcurrencyAtVault: stats.peakInflight,
    peakRssMb: r.peakRssMb as number,
    ...(r.peakMemoryMb ? { peakMemoryMb: r.peakMemoryMb } : {}),
    ...(r.phasesSeconds ? { phasesSeconds: r.phasesSeconds } : {}),
    bytes: r.bytes,
    averageBlobBytes: r.averageBlobBytes,
    ...(r.verify ? { verify: r.verify } : {}),
    ...(r.storageProbe ? { storageProbe: r.storageProbe } : {}),
    // From the worker's start to the end of its run (not verify, not the storage probe).
    cpuSecondsDuringRun: { ...runCpu, "kvbackup worker": r.runCpuSeconds as number },
  };
  log(
    `${job.mode} run of ${vault.name}: ${run.objects} objects (${String(run.copied)} copied) in ${run.seconds} s, ${run.kvTransactions} Key Vault tx = ${run.kvTxPerSec} tx/s of ${run.budgetPerSec} (${round(run.budgetUtilisation * 100, 1)} %), ${run.throttled} throttled, ${run.failed} failed, peak RSS ${run.peakRssMb} MB`,
  );
  if (run.storageProbe) log(`storage alone: ${JSON.stringify(run.storageProbe)}`);
  return run;
}

async function baseline(stack: BenchStack, vault: { name: string; url: string }) {
  stack.emulator.resetStats(vault.name);
  const b = await runWorker(
    appEnv(stack, {
      BACKUP_VAULTS: `${vault.name}=${vault.url}`,
      BENCH_MODE: "baseline",
      BENCH_BASELINE_SAMPLE: values["baseline-sample"] as string,
    }),
    "baseline",
  ).done;
  const objectsPerSec = (b.objects as number) / (b.seconds as number);
  log(`baseline (one at a time, ${String(b.objects)} secrets): ${round(objectsPerSec, 1)} objects/s`);
  return {
    objects: b.objects,
    seconds: round(b.seconds as number),
    objectsPerSec: round(objectsPerSec, 1),
    kvThrottled: stack.emulator.stats(vault.name).throttled,
  };
}

async function single(stack: BenchStack, requests: RequestLog): Promise<Result> {
  const vault = await seedOne(stack, "bench-vault", objects);
  const run = await backupRun(
    stack,
    requests,
    vault,
    { tier: "manual", mode: "full" },
    {
      BENCH_STORAGE_PROBE: values["storage-probe"] as string,
    },
  );
  const base = await baseline(stack, vault);
  return {
    objects,
    seconds: run.seconds,
    kvTransactions: run.kvTransactions,
    budgetUtilisation: run.budgetUtilisation,
    throttledShare: run.throttledShare,
    failed: run.failed,
    peakRssMb: run.peakRssMb,
    speedupVsBaseline: round(run.objectsPerSec / base.objectsPerSec, 2),
    run,
    baseline: base,
  };
}

async function incremental(stack: BenchStack, requests: RequestLog): Promise<Result> {
  const vault = await seedOne(stack, "bench-vault", objects);
  const full = await backupRun(stack, requests, vault, { tier: "daily", mode: "full" });
  // Key Vault's timestamps are in seconds: the changes must land in a later second than the seed.
  await sleep(1100);
  const changed = churnBenchVault(
    stack.emulator,
    vault.name,
    vault.seeded,
    Math.round(objects * num("churn", values.churn, 0)),
  );
  log(
    `changed ${changed.names.length} objects (${changed.secrets} secrets, ${changed.keys} keys, ${changed.certificates} certificates)`,
  );
  const daily = await backupRun(
    stack,
    requests,
    vault,
    { tier: "daily", mode: "incremental" },
    { BENCH_VERIFY: "1", BENCH_STORAGE_PROBE: values["storage-probe"] as string },
  );
  return {
    objects,
    seconds: daily.seconds,
    kvTransactions: daily.kvTransactions,
    budgetUtilisation: daily.budgetUtilisation,
    throttledShare: daily.throttledShare,
    failed: daily.failed,
    peakRssMb: Math.max(full.peakRssMb, daily.peakRssMb),
    fullRunKvTransactions: full.kvTransactions,
    fullRunSeconds: full.seconds,
    transactionRatio: round(full.kvTransactions / Math.max(1, daily.kvTransactions), 1),
    wallRatio: round(full.seconds / daily.seconds, 2),
    changedObjects: changed.names.length,
    backedUpFromKeyVault: daily.fromKeyVault,
    copiedServerSide: daily.copied,
    ...storageBound(full.seconds, daily),
    verify: daily.verify,
    fullRun: full,
    incrementalRun: daily,
  };
}

/**
 * What the storage side alone allows an incremental run: its copies at the rate the probe measured
 * (same container, same concurrency, nothing else running), against the full run's time.
 */
function storageBound(fullSeconds: number, daily: { copied: unknown; storageProbe?: unknown }) {
  const probe = daily.storageProbe as { copiesPerSec?: number } | undefined;
  const copied = Number(daily.copied);
  if (!probe?.copiesPerSec || !copied) return {};
  const alone = copied / probe.copiesPerSec;
  return {
    storageBound: {
      copiesPerSecAlone: probe.copiesPerSec,
      secondsForTheCopiesAlone: round(alone, 1),
      wallRatioTheStorageAllows: round(fullSeconds / alone, 2),
      copiesPerSecNeededFor5x: Math.ceil(copied / (fullSeconds / 5)),
    },
  };
}

async function fleet(stack: BenchStack, requests: RequestLog): Promise<Result> {
  const vaults = Math.round(num("vaults", values.vaults, 1));
  const workers = Math.round(num("workers", values.workers, 1));
  const vaultRate = num("vault-rate", values["vault-rate"] ?? "250", 10);
  const subscriptionRate = num("subscription-rate", values["subscription-rate"] ?? String(vaultRate * 4), 10);
  const subscription = "22222222-2222-4222-8222-000000000b01";
  const perVault = Math.max(10, Math.round(objects / vaults));
  const names: string[] = [];
  const s0 = performance.now();
  for (let i = 0; i < vaults; i++) {
    const name = `fleet-${String(i).padStart(2, "0")}`;
    await stack.addVault(name, { subscription });
    seedBenchVault(stack.emulator, name, perVault);
    // The service's limits scaled down with the budget: each vault allows what one slot spends.
    stack.emulator.setLimits(name, { perTenSeconds: vaultRate, createPerTenSeconds: createLimit });
    stack.emulator.setLatency(name, latency);
    names.push(name);
  }
  log(
    `seeded ${vaults} vaults x ${perVault} objects in ${secondsSince(s0)} s (discovered through ARM, subscription ${subscription})`,
  );
  const env = appEnv(stack, {
    BACKUP_SUBSCRIPTIONS: subscription,
    BACKUP_VAULT_TAG: "backup=true",
    BACKUP_RATE_PER_10S: String(vaultRate),
    BACKUP_SUBSCRIPTION_RATE_PER_10S: String(subscriptionRate),
    BACKUP_INCREMENTAL: "true",
  });
  const queued = await runWorker({ ...env, BENCH_MODE: "enqueue" }, "enqueue").done;
  log(`queued ${String(queued.queued)} jobs on backup-jobs (${String(queued.discovered)} vaults discovered)`);
  for (const n of names) stack.emulator.resetStats(n);
  requests.clear();
  const t0 = Date.now();
  const started = Array.from({ length: workers }, (_, i) =>
    runWorker({ ...env, BENCH_MODE: "drain", BENCH_WORKER: String(i) }, `drain ${i}`),
  );
  const measured = await withCpu(
    {
      ...Object.fromEntries(started.map((w, i) => [`worker ${i}`, w.pid])),
      azurite: stack.storage.azuritePid,
      mariadb: stack.storage.mariadbPid,
    },
    () => Promise.all(started.map((w) => w.done)),
  );
  const results = measured.value;
  const runs = results.flatMap((r) => r.runs as Record<string, unknown>[]);
  const ended = Math.max(...runs.map((r) => r.endedAt as number));
  const seconds = (ended - t0) / 1000;
  const stats = names.map((n) => stack.emulator.stats(n));
  const kvTransactions = stats.reduce((a, s) => a + s.total, 0);
  const throttled = stats.reduce((a, s) => a + s.throttled, 0);
  const floorSeconds = kvTransactions / (subscriptionRate / 10);
  const windows = requests.windows();
  const activeSeconds = ((requests.last ?? 0) - (requests.first ?? 0)) / 1000;
  const perWorker = results.map((r, i) => ({
    worker: i,
    runs: (r.runs as unknown[]).length,
    givenBack: ((r.givenBack as unknown[] | undefined) ?? []).length,
    peakRssMb: r.peakRssMb,
  }));
  const givenBack = results.flatMap((r) => (r.givenBack as Record<string, unknown>[] | undefined) ?? []);
  log(
    `fleet: ${runs.length} runs by ${workers} workers in ${round(seconds, 1)} s (floor ${round(floorSeconds, 1)} s), ${kvTransactions} tx, busiest 10 s window ${windows.maxWindowTx} of ${subscriptionRate}, ${givenBack.length} job(s) given back to the queue`,
  );
  return {
    objects: perVault * vaults,
    seconds: round(seconds),
    kvTransactions,
    budgetUtilisation: round(kvTransactions / seconds / (subscriptionRate / 10), 3),
    throttledShare: round(throttled / Math.max(1, kvTransactions), 4),
    failed: runs.reduce((a, r) => a + (r.failed as number), 0),
    peakRssMb: Math.max(...results.map((r) => r.peakRssMb as number)),
    vaults,
    workers,
    subscriptionBudgetPer10s: subscriptionRate,
    vaultRatePer10s: vaultRate,
    slots: Math.floor(subscriptionRate / vaultRate),
    maxWindowTx: windows.maxWindowTx,
    maxWindowAccepted: windows.maxWindowAccepted,
    maxFixedWindowTx: windows.maxFixedWindowTx,
    floorSeconds: round(floorSeconds),
    overFloor: round(seconds / floorSeconds - 1, 3),
    activeSeconds: round(activeSeconds),
    secondsFromFirstRun: round((ended - Math.min(...runs.map((r) => r.startedAt as number))) / 1000),
    budgetScope: `subscription ${subscription} (vaults discovered through the ARM emulator, BACKUP_SUBSCRIPTIONS)`,
    objectsPerVault: perVault,
    statuses: runs.reduce<Record<string, number>>((a, r) => {
      a[r.status as string] = (a[r.status as string] ?? 0) + 1;
      return a;
    }, {}),
    throttled,
    givenBack,
    requestLogEntries: requests.count,
    perWorker,
    runs: runs
      .map((r) => ({
        vault: r.vault,
        status: r.status,
        objects: r.objects,
        failed: r.failed,
        startS: round(((r.startedAt as number) - t0) / 1000, 1),
        endS: round(((r.endedAt as number) - t0) / 1000, 1),
      }))
      .sort((a, b) => a.startS - b.startS),
    cpuSecondsDuringRun: measured.cpuSeconds,
  };
}

async function restore(stack: BenchStack, requests: RequestLog): Promise<Result> {
  const source = await seedOne(stack, "bench-vault", objects);
  const target = await stack.addVault("bench-restore");
  stack.emulator.setLimits(target.name, { perTenSeconds: vaultLimit, createPerTenSeconds: createLimit });
  stack.emulator.setLatency(target.name, latency);
  const backup = await backupRun(stack, requests, source, { tier: "manual", mode: "full" });
  stack.emulator.resetStats(target.name);
  requests.clear();
  const w = runWorker(
    appEnv(stack, {
      BACKUP_VAULTS: `${source.name}=${source.url}`,
      RESTORE_TARGET_VAULTS: `${target.name}=${target.url}`,
      BACKUP_RATE_PER_10S: String(rate),
      BACKUP_SUBSCRIPTION_RATE_PER_10S: String(Math.min(20_000, rate * 5)),
      BENCH_MODE: "restore",
      BENCH_RUN_ID: backup.runId as string,
      BENCH_SOURCE_VAULT: source.name,
      BENCH_TARGET_VAULT: target.name,
    }),
    "restore",
  );
  const measured = await withCpu(
    { "kvbackup worker": w.pid, azurite: stack.storage.azuritePid, mariadb: stack.storage.mariadbPid },
    () => w.done,
  );
  const r = measured.value;
  const stats = stack.emulator.stats(target.name);
  const seconds = r.seconds as number;
  const restoreOps = Object.entries(stats.byOperation)
    .filter(([op]) => op.startsWith("Restore"))
    .reduce((a, [, n]) => a + n, 0);
  const restored = r.objects as number;
  log(
    `restore: ${restored} objects in ${round(seconds, 1)} s = ${round(restored / seconds, 1)} objects/s, ${stats.total} tx, ${stats.throttled} throttled`,
  );
  return {
    objects,
    seconds: round(seconds),
    kvTransactions: stats.total,
    budgetUtilisation: round(stats.total / seconds / (rate / 10), 3),
    throttledShare: round(stats.throttled / Math.max(1, stats.total), 4),
    failed: r.failed,
    peakRssMb: r.peakRssMb,
    restored,
    objectsPerSec: round(restored / seconds, 1),
    outcomes: r.outcomes,
    status: r.status,
    failures: r.failures,
    createClassLimitPer10s: createLimit,
    restoreRequests: restoreOps,
    createClassUtilisation: round(restoreOps / seconds / (createLimit / 10), 3),
    throttled: stats.throttled,
    kvTransactionsByOperationStatus: stats.byOperationStatus,
    ...requests.windows(),
    backupRun: backup,
    cpuSecondsDuringRun: measured.cpuSeconds,
  };
}

/** The p-th percentile of sorted values (nearest rank). */
const percentile = (sorted: number[], p: number): number =>
  sorted.length
    ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number)
    : 0;

/**
 * Continuous protection (issue 23): N new secret versions across V vaults, made at an even pace
 * over --seconds while an event function's instance (one worker process) works off the events
 * queue the emulator's events go to. Measures every version backed up (held by a blob of its own
 * version, or by a backup of its object taken after it), none doubled (one version in two blobs),
 * and the seconds from each version's creation to its backup.
 */
async function events(stack: BenchStack, requests: RequestLog): Promise<Result> {
  const vaults = Math.round(num("vaults", values.vaults === "20" ? "10" : values.vaults, 1));
  const over = num("seconds", values.seconds, 1);
  const names: { name: string; url: string }[] = [];
  for (let i = 0; i < vaults; i++) {
    const v = await stack.addVault(`events-${String(i).padStart(2, "0")}`);
    stack.emulator.setLimits(v.name, { perTenSeconds: vaultLimit, createPerTenSeconds: createLimit });
    stack.emulator.setLatency(v.name, latency);
    names.push(v);
  }
  const publisher = await deliverEvents(stack.emulator, {
    queueServiceUri: stack.env.BACKUP_STORAGE__queueServiceUri as string,
    caPem: readFileSync(stack.env.NODE_EXTRA_CA_CERTS as string, "utf8"),
    name: "keyvault-events",
  });
  const env = appEnv(stack, {
    BACKUP_VAULTS: names.map((v) => `${v.name}=${v.url}`).join(","),
    BACKUP_RATE_PER_10S: String(rate),
    BACKUP_EVENTS_QUEUE: "keyvault-events",
    BENCH_MODE: "events",
    BENCH_EVENTS_EXPECTED: String(objects),
  });
  requests.clear();
  const worker = runWorker(env, "events");
  // N versions at an even pace: each vault's secrets s0..s49 get new versions in turn.
  const made: { vault: string; name: string; version: string; at: number }[] = [];
  const t0 = performance.now();
  for (let i = 0; i < objects; i++) {
    const due = (i * over * 1000) / objects - (performance.now() - t0);
    if (due > 0) await sleep(due);
    const vault = names[i % vaults] as { name: string };
    const name = `s${Math.floor(i / vaults) % 50}`;
    const at = Date.now();
    const r = stack.emulator.call(vault.name, "PUT", `/secrets/${name}?api-version=7.6`, {
      value: `v${i}`,
    }) as {
      id?: string;
    };
    made.push({
      vault: vault.name,
      name,
      version:
        String(r.id ?? "")
          .split("/")
          .pop() ?? "",
      at,
    });
  }
  const generationSeconds = secondsSince(t0);
  log(`made ${made.length} versions across ${vaults} vaults in ${generationSeconds} s`);
  await publisher.settled();
  const done = (await worker.done) as {
    processed: number;
    backedUp: number;
    duplicates: number;
    failed: number;
    seconds: number[];
    blobs: string[];
    peakRssMb: number;
  };
  const totalSeconds = secondsSince(t0);
  // A version is held by a blob of its own version, or by a backup of its object taken after it.
  const byObject = new Map<string, { version: string; takenAt: number }[]>();
  const perVersion = new Map<string, number>();
  for (const b of done.blobs) {
    const [, vault, , name] = b.split("/");
    const facts = eventBlobFacts(b);
    if (!vault || !name || !facts) continue;
    const k = `${vault}/${name}`;
    byObject.set(k, [
      ...(byObject.get(k) ?? []),
      // Surely held: what existed when the backup call started.
      { version: facts.version, takenAt: Date.parse(facts.startedAt) },
    ]);
    perVersion.set(`${k}/${facts.version}`, (perVersion.get(`${k}/${facts.version}`) ?? 0) + 1);
  }
  const held = (v: (typeof made)[number]): boolean =>
    (byObject.get(`${v.vault}/${v.name}`) ?? []).some((b) => b.version === v.version || b.takenAt >= v.at);
  const lost = made.filter((v) => !held(v)).length;
  const doubled = [...perVersion.values()].filter((n) => n > 1).length;
  const sorted = [...done.seconds].sort((a, b) => a - b);
  return {
    objects,
    vaults,
    seconds: totalSeconds,
    generationSeconds,
    events: publisher.counts.sent,
    processed: done.processed,
    backedUp: done.backedUp,
    duplicates: done.duplicates,
    failed: done.failed,
    lost,
    doubled,
    p50Seconds: round(percentile(sorted, 50), 2),
    p99Seconds: round(percentile(sorted, 99), 2),
    // kvbackup's calls: the emulator's log less the versions the bench made.
    kvTransactions: requests.count - made.length,
    peakRssMb: done.peakRssMb,
  };
}

const run: Record<Scenario, (s: BenchStack, r: RequestLog) => Promise<Result>> = {
  single,
  incremental,
  fleet,
  restore,
  events,
};

let stack: BenchStack | undefined;
let stopping = false;
const stopAll = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  killWorkers();
  await stack?.stop();
};
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    log(`${sig}: stopping everything the bench started`);
    void stopAll().finally(() => process.exit(130));
  });

let exitCode = 0;
const startedAt = new Date().toISOString();
const t0 = performance.now();
try {
  log("compiling the worker (tsconfig.bench.json)");
  compileWorker();
  log(`starting the local Azure (storage: ${storage})`);
  stack = await startBenchStack(join(dir, "stack"), storage);
  const requests = new RequestLog(stack.emulator);
  const result = await run[scenario as Scenario](stack, requests);
  requests.close();
  const out = {
    scenario,
    ...result,
    settings: {
      concurrency,
      keyVaultLatencyMs: latency,
      vaultLimitPer10s: vaultLimit,
      backupRatePer10s: rate,
      createLimitPer10s: createLimit,
      storage:
        storage === "sql"
          ? `Azurite ${azuriteVersion} blob metadata in MariaDB ${stack.storage.mariadb} (private, 127.0.0.1, relaxed durability); blob content, queues and tables in Azurite's files`
          : `Azurite ${azuriteVersion}, everything in its memory (metadata in its in-memory store, blob content in memory)`,
    },
    environment: {
      ...machine(),
      date: startedAt,
      benchSeconds: round((performance.now() - t0) / 1000, 1),
      alsoRunning: `everything on this one machine: the Key Vault emulator, the identity endpoint and the ARM emulator (in the bench process), Azurite${storage === "sql" ? ", MariaDB" : ""}, and the kvbackup worker process(es), compiled JavaScript run by node; cpuSecondsDuringRun says how much CPU each used`,
    },
  };
  const json = JSON.stringify(out);
  writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
  log(`written to ${outFile}`);
  await stopAll();
  console.log(json);
} catch (e) {
  exitCode = 1;
  console.error(e);
  await stopAll();
}
process.exit(exitCode);
