import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface AzuriteEndpoints {
  blob: string;
  queue: string;
  table: string;
}

/** Azurite's well-known development account (public, documented; not a secret). */
export const DevAccount = {
  name: "devstoreaccount1",
  key: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
};

export interface AzuriteProcess {
  endpoints: AzuriteEndpoints;
  /** The watchdog's process id (Azurite runs inside it). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /**
   * Blob metadata in SQL instead of memory: Azurite's AZURITE_DB connection string
   * (mysql://user:password@host:port/database). Blob content, queues and tables then live in
   * files in Azurite's own temporary folder (Azurite refuses --inMemoryPersistence with SQL).
   * Default: everything in memory.
   */
  sqlMetadata?: string;
  /**
   * Where Azurite's temporary folder is made (default: the OS's). With sqlMetadata, blob content
   * is written there and Azurite fdatasyncs every upload: a tmpfs (/dev/shm) keeps that in memory.
   */
  tmpRoot?: string;
  /**
   * Accounts beside devstoreaccount1 (Azurite's AZURITE_ACCOUNTS; setting it replaces the default
   * account, so devstoreaccount1 is always listed first with its well-known key).
   */
  accounts?: { name: string; key: string }[];
}

/**
 * Starts Azurite from npm on loopback, HTTPS with OAuth, in memory (or blob metadata in SQL, see
 * AzuriteOptions), ports chosen by the OS.
 * --skipApiVersionCheck: the SDK sends a newer x-ms-version than Azurite knows;
 * --disableTelemetry: Azurite otherwise reports to Application Insights.
 */
export async function startAzurite(
  tlsFiles: { cert: string; key: string },
  timeoutMs = 20_000,
  options: AzuriteOptions = {},
): Promise<AzuriteProcess> {
  const require = createRequire(import.meta.url);
  const entry = join(require.resolve("azurite/package.json"), "..", "dist", "src", "azurite.js");
  const cwd = mkdtempSync(join(options.tmpRoot ?? tmpdir(), "kvbackup-azurite-"));
  const args = [
    entry,
    ...["--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1"],
    ...["--blobPort", "0", "--queuePort", "0", "--tablePort", "0"],
    ...(options.sqlMetadata ? ["--location", cwd] : ["--inMemoryPersistence", "--extentMemoryLimit", "1024"]),
    ...["--oauth", "basic", "--cert", tlsFiles.cert, "--key", tlsFiles.key],
    "--skipApiVersionCheck",
    "--disableTelemetry",
    "--silent",
  ];
  const watchdog = fileURLToPath(new URL("./azuriteWatchdog.mjs", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [watchdog, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: {
      ...process.env,
      ...(options.sqlMetadata ? { AZURITE_DB: options.sqlMetadata } : {}),
      ...(options.accounts?.length
        ? {
            AZURITE_ACCOUNTS: [DevAccount, ...options.accounts].map((a) => `${a.name}:${a.key}`).join(";"),
          }
        : {}),
    },
  });
  // The IPC channel must not keep this process alive; it only tells Azurite when this process is gone.
  child.channel?.unref();
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const found: Partial<AzuriteEndpoints> = {};
  let output = "";
  const endpoints = await new Promise<AzuriteEndpoints>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Azurite did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at (https:\/\/127\.0\.0\.1:\d+)/g,
      )) {
        found[(m[1] as string).toLowerCase() as keyof AzuriteEndpoints] = m[2] as string;
      }
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        resolve(found as AzuriteEndpoints);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with ${code}:\n${output}`));
    });
  });
  return {
    endpoints,
    pid: child.pid,
    async stop(): Promise<void> {
      process.removeListener("exit", killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
