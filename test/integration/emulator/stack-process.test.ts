import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const tsx = join(require.resolve("tsx/package.json"), "..", "dist", "cli.mjs");
const dir = mkdtempSync(join(process.env.KVBACKUP_TEST_TLS_DIR as string, "npm-run-stack-"));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** dotenv lines -> object; the consumer gets nothing else (plus PATH/HOME to run node). */
const parseEnv = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).replace(/^'(.*)'$/, "$1")]),
  );

describe("npm run stack, used from another process", () => {
  it("starts, writes stack.env, serves a process that only has stack.env, and stops on SIGTERM", async () => {
    child = spawn(process.execPath, [tsx, "test/stack/cli.ts"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", KVBACKUP_STACK_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    // Up when it says so (or gone: the expectations below say what it printed instead).
    await new Promise<void>((resolve) => {
      const read = (d: Buffer): void => {
        out += d;
        if (out.includes("Press Ctrl-C")) resolve();
      };
      child?.stdout?.on("data", read);
      child?.stderr?.on("data", read);
      child?.once("exit", () => resolve());
    });
    const envFile = join(dir, "stack.env");
    expect(out).toContain("kvbackup local stack is up");
    expect(existsSync(envFile)).toBe(true);
    const env = parseEnv(readFileSync(envFile, "utf8"));
    expect(env.BACKUP_VAULTS).toMatch(/^demo-vault=https:\/\/127\.0\.0\.1:\d+$/);
    expect(env.RESTORE_TARGET_VAULTS).toMatch(/^restore-vault=https:\/\/127\.0\.0\.1:\d+$/);
    for (const k of [
      "IDENTITY_ENDPOINT",
      "IDENTITY_HEADER",
      "NODE_EXTRA_CA_CERTS",
      "BACKUP_STORAGE__blobServiceUri",
      "BACKUP_STORAGE__queueServiceUri",
      "BACKUP_STORAGE__tableServiceUri",
    ]) {
      expect(env[k], k).toBeTruthy();
    }

    const { stdout } = await run(process.execPath, [tsx, "test/stack/smoke.ts"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").at(-1) as string);
    expect(result.listed).toBeGreaterThan(20);
    expect(result.restored.secret).toBeTruthy();
    expect(result.restored.key).toBeTruthy();
    expect(result.restored.certificate).toBeTruthy();
    expect(result.blobWritten).toBe(true);
    expect(result.challenge.status).toBe(401);
    expect(result.challenge.wwwAuthenticate).toContain('resource="https://vault.azure.net"');
    expect(result.throttled).toBeGreaterThan(0);

    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).toContain("stopped.");
  }, 120_000);
});
