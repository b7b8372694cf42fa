import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installNetworkGuard } from "../setup/networkGuard.js";
import { writeLocalSettings } from "./localSettings.js";
import { startStack } from "./stack.js";

/** `npm run stack`: start everything on loopback, write .local/stack.env, run until Ctrl-C or SIGTERM. */
installNetworkGuard();
const started = Date.now();
const dir = process.env.KVBACKUP_STACK_DIR ?? ".local";
const stack = await startStack({ dir });
const line = (k: string, v: string): void => console.log(`  ${k.padEnd(22)} ${v}`);
console.log(`kvbackup local stack is up (${Date.now() - started} ms)`);
line("identity endpoint", stack.identity.endpoint);
line("demo-vault", stack.vaults.demo.url);
line("restore-vault", stack.vaults.restore.url);
line("blob (fault proxy)", stack.env.BACKUP_STORAGE__blobServiceUri ?? "");
line("queue (fault proxy)", stack.env.BACKUP_STORAGE__queueServiceUri ?? "");
line("table (fault proxy)", stack.env.BACKUP_STORAGE__tableServiceUri ?? "");
line("copy blob (isolated)", `${stack.env.BACKUP_COPY_BLOB_URI ?? ""}  container ${stack.copy.container}`);
line("admin API", stack.admin.url);
if (stack.seeded) {
  const s = stack.seeded;
  line(
    "seeded demo-vault",
    `${s.secrets} secrets, ${s.keys} keys, ${s.certificates} certificates (+${s.managed} managed key/secret)`,
  );
}
line("settings", `${dir}/stack.env  (set -a; . ${dir}/stack.env; set +a)`);
if (!process.env.KVBACKUP_STACK_DIR) {
  const did = writeLocalSettings("local.settings.json", stack.env);
  line(
    "local.settings.json",
    did === "written" ? "written for func start (this stack's ports)" : "kept (not written by the stack)",
  );
}
// npm does not always pass a signal on to this process: the pid to stop is this one, not npm's.
writeFileSync(join(dir, "stack.pid"), `${process.pid}\n`);
line("pid", `${process.pid} (${dir}/stack.pid): stop with Ctrl-C, or kill $(cat ${dir}/stack.pid)`);
console.log("Press Ctrl-C to stop.");

let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the stack...`);
  await stack.stop();
  rmSync(join(dir, "stack.pid"), { force: true });
  console.log("stopped.");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
