import { createHash } from "node:crypto";
import { DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { BlobServiceClient } from "@azure/storage-blob";
import { createApp } from "../../src/app.js";
import { runVault } from "../../src/backup/run/runVault.js";
import { loadConfig } from "../../src/config.js";
import { totalOf } from "../../src/domain/inventory.js";
import { newRunId } from "../../src/domain/runId.js";
import { keyVaultClientOptions } from "../../src/keyvault/clientOptions.js";
import { installNetworkGuard } from "../setup/networkGuard.js";

/**
 * The measured side of `npm run bench`, in its own process (so its memory is the backup's alone):
 * kvbackup's run, then the baseline scripts use today, one object at a time through the SDK.
 * Prints one JSON line.
 */
installNetworkGuard();
const baselineSample = Number(process.env.BENCH_BASELINE_SAMPLE ?? "300");
const config = loadConfig(process.env, "operator");
const vault = config.vaults[0];
if (!vault) throw new Error("no vault");

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const t0 = performance.now();
const result = await runVault(
  createApp(config, { tuning: { concurrency: Number(process.env.BENCH_CONCURRENCY ?? "16") } }),
  {
    runId: newRunId(),
    vault: vault.name,
    tier: "manual",
    trigger: "cli",
  },
);
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);

// Baseline: what a runbook does — list, then back up and upload each secret in turn.
const credential = new DefaultAzureCredential();
const secrets = new SecretClient(vault.url, credential, keyVaultClientOptions(vault.url));
const container = new BlobServiceClient(
  process.env.BACKUP_STORAGE__blobServiceUri as string,
  credential,
).getContainerClient(config.container);
const names: string[] = [];
for await (const s of secrets.listPropertiesOfSecrets()) {
  if (!s.managed) names.push(s.name);
  if (names.length >= baselineSample) break;
}
const b0 = performance.now();
for (const name of names) {
  const bytes = (await secrets.backupSecret(name)) as Uint8Array;
  createHash("sha256").update(bytes).digest("hex");
  await container.getBlockBlobClient(`baseline/${name}.kvbak`).uploadData(bytes);
}
const baselineSeconds = (performance.now() - b0) / 1000;

const objects = totalOf(result.counts, "backedUp");
console.log(
  JSON.stringify({
    status: result.status,
    objects,
    skipped: totalOf(result.counts, "skipped"),
    failed: result.failed.length,
    seconds,
    peakRssMb: peakRss / 1024 / 1024,
    baselineObjects: names.length,
    baselineSeconds,
  }),
);
