import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { startStack } from "../stack/stack.js";
import { seedBenchVault } from "./seed.js";

/**
 * `npm run bench -- --objects N`: seed a vault with N objects, give it the service's limit
 * (4,000 transactions / 10 s) and 10 ms latency, back it up with BACKUP_RATE_PER_10S=4000, then run
 * the one-at-a-time baseline. The last line printed is one JSON object; it is also written to
 * bench-results.json.
 */
installNetworkGuard();
const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "5000" },
    out: { type: "string", default: "bench-results.json" },
    concurrency: { type: "string", default: "16" },
  },
});
const objectsWanted = Number(values.objects);
if (!Number.isInteger(objectsWanted) || objectsWanted < 10)
  throw new Error("--objects takes a whole number >= 10");
const require = createRequire(import.meta.url);
const tsx = join(require.resolve("tsx/package.json"), "..", "dist", "cli.mjs");

const stack = await startStack({ seed: false, writeEnv: false });
try {
  const vaultName = "bench-vault";
  const { url } = await stack.emulator.createVault(vaultName);
  const { BackupOperatorRole } = await import("../stack/keyvault/roles.js");
  stack.emulator.assignRole(vaultName, {
    principalId: stack.identities.app.principalId,
    role: BackupOperatorRole,
  });
  const s0 = Date.now();
  const seeded = seedBenchVault(stack.emulator, vaultName, objectsWanted);
  console.log(
    `seeded ${vaultName}: ${seeded.secrets} secrets, ${seeded.keys} keys, ${seeded.certificates} certificates in ${((Date.now() - s0) / 1000).toFixed(1)} s`,
  );
  const limit = 4000;
  stack.emulator.setLimits(vaultName, { perTenSeconds: limit, createPerTenSeconds: 300 });
  stack.emulator.setLatency(vaultName, { fixedMs: 10, jitterMs: 0 });
  stack.emulator.resetStats(vaultName);

  const env = {
    ...stack.env,
    BACKUP_VAULTS: `${vaultName}=${url}`,
    BACKUP_RATE_PER_10S: String(limit),
    BENCH_CONCURRENCY: values.concurrency as string,
  };
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, "test/bench/worker.ts"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    timeout: 3_600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const w = JSON.parse(stdout.trim().split("\n").at(-1) as string);
  const stats = stack.emulator.stats(vaultName);
  // Requests the run made: the baseline's are counted apart (its backups and its listing).
  const baselineTx = (stats.byOperation.BackupSecret ?? 0) - seeded.secrets;
  const runTx = stats.total - Math.max(0, baselineTx) - Math.ceil(w.baselineObjects / 25) - 1;
  const txPerSec = runTx / w.seconds;
  const budgetPerSec = limit / 10;
  const objectsPerSec = w.objects / w.seconds;
  const baselineObjectsPerSec = w.baselineObjects / w.baselineSeconds;
  const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
  const result = {
    objects: w.objects,
    seconds: round(w.seconds),
    objectsPerSec: round(objectsPerSec, 1),
    txPerSec: round(txPerSec, 1),
    budgetPerSec,
    budgetUtilisation: round(txPerSec / budgetPerSec, 3),
    throttled: stats.throttled,
    throttledShare: round(stats.throttled / Math.max(1, runTx), 4),
    failed: w.failed,
    peakRssMb: round(w.peakRssMb, 1),
    baselineObjectsPerSec: round(baselineObjectsPerSec, 1),
    speedupVsBaseline: round(objectsPerSec / baselineObjectsPerSec, 2),
    status: w.status,
    skippedManaged: w.skipped,
    peakConcurrencyAtVault: stats.peakInflight,
    baselineSample: w.baselineObjects,
    node: process.version,
  };
  console.log(
    `kvbackup: ${result.objects} objects in ${result.seconds} s = ${result.objectsPerSec} obj/s, ${result.txPerSec} tx/s of a ${budgetPerSec} tx/s budget (${(result.budgetUtilisation * 100).toFixed(1)} %), ${result.throttled} throttled, ${result.failed} failed, peak RSS ${result.peakRssMb} MB`,
  );
  console.log(
    `baseline (one at a time, ${result.baselineSample} secrets): ${result.baselineObjectsPerSec} obj/s -> speedup ${result.speedupVsBaseline}x`,
  );
  writeFileSync(values.out as string, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
} finally {
  await stack.stop();
}
