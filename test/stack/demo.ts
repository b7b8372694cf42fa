import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { startStack } from "./stack.js";

/**
 * `npm run demo`: start the local Azure, then in a separate process that knows only stack.env,
 * fire the timer function and drain the queue through the worker, print a short report, stop.
 */
installNetworkGuard();
const require = createRequire(import.meta.url);
const tsx = join(require.resolve("tsx/package.json"), "..", "dist", "cli.mjs");
const t0 = Date.now();
const stack = await startStack({ dir: process.env.KVBACKUP_STACK_DIR ?? ".local" });
let exitCode = 0;
try {
  console.log(
    `local Azure up in ${Date.now() - t0} ms: demo-vault ${stack.vaults.demo.url}, Azurite behind the fault proxy`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, "test/stack/demoRun.ts"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...stack.env },
    timeout: 300_000,
  });
  process.stdout.write(stdout);
  const s = stack.emulator.stats("demo-vault");
  console.log(
    `demo-vault saw ${s.total} requests (${Object.entries(s.byStatus)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ")}); peak concurrency ${s.peakInflight}`,
  );
} catch (e) {
  exitCode = 1;
  const err = e as { stdout?: string; stderr?: string };
  console.error("demo failed:", err.stderr || err.stdout || e);
} finally {
  await stack.stop();
  console.log("stack stopped.");
}
process.exit(exitCode);
