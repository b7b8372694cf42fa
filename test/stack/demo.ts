import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { startStack } from "./stack.js";

/**
 * `npm run demo` (foundation stage): start the local Azure, let a separate process that knows only
 * stack.env list, back up and restore through the real SDKs and DefaultAzureCredential, print what
 * happened, stop everything. The product's own backup run joins this demo with the backup engine.
 */
installNetworkGuard();
const require = createRequire(import.meta.url);
const tsx = join(require.resolve("tsx/package.json"), "..", "dist", "cli.mjs");
const t0 = Date.now();
const stack = await startStack({ dir: process.env.KVBACKUP_STACK_DIR ?? ".local" });
let exitCode = 0;
try {
  console.log(
    `stack up in ${Date.now() - t0} ms: demo-vault ${stack.vaults.demo.url}, restore-vault ${stack.vaults.restore.url}`,
  );
  const t1 = Date.now();
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, "test/stack/smoke.ts"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...stack.env },
    timeout: 120_000,
  });
  const r = JSON.parse(stdout.trim().split("\n").at(-1) as string);
  const s = stack.emulator.stats("demo-vault");
  console.log(`
  listed in demo-vault        ${r.listed} secrets (managed ones left out)
  backed up + restored        secret ${r.restored.secret}, key ${r.restored.key}, certificate ${r.restored.certificate} -> restore-vault
  blob written to Azurite     yes (HTTPS, managed identity, through the fault proxy)
  401 challenge without token ${r.challenge.status} ${r.challenge.wwwAuthenticate}
  429s at 10 requests / 10 s  ${r.throttled} of 30
  demo-vault requests         ${s.total} (${Object.entries(s.byStatus)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")})
  took                        ${Date.now() - t1} ms`);
} catch (e) {
  exitCode = 1;
  console.error("demo failed:", e);
} finally {
  await stack.stop();
  console.log("stack stopped.");
}
process.exit(exitCode);
