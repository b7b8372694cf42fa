import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
export const MariadbServer = "/usr/sbin/mariadbd";

export interface Mariadb {
  /** mysql://root@127.0.0.1:{port}/{database}: Azurite's AZURITE_DB. */
  url: string;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

/** A port the OS says is free now (MariaDB cannot be told port 0 and report it back). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * A private MariaDB for Azurite's SQL metadata store: its own datadir under `dir` (made afresh),
 * listening on 127.0.0.1 only, a socket in `dir`, no option files read. Durability is relaxed
 * (the data is thrown away at the end): what is measured is Key Vault's pace, not fsync.
 */
export async function startMariadb(dir: string, database = "azurite_blob"): Promise<Mariadb> {
  const root = resolve(dir);
  const datadir = join(root, "data");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(datadir, { recursive: true });
  const user = process.getuid?.() === 0 ? ["--user=root"] : [];
  await run(
    "mariadb-install-db",
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      ...user,
    ],
    { timeout: 120_000 },
  );
  const port = await freePort();
  const socket = join(root, "mariadb.sock");
  const child: ChildProcess = spawn(
    MariadbServer,
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--pid-file=${join(root, "mariadb.pid")}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--skip-log-bin",
      "--innodb-buffer-pool-size=512M",
      "--innodb-log-file-size=256M",
      "--innodb-flush-log-at-trx-commit=0",
      "--innodb-doublewrite=0",
      "--max-connections=200",
      ...user,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (c: Buffer) => {
    log = (log + c.toString()).slice(-8000);
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const client = ["-h", "127.0.0.1", "-P", String(port), "-uroot", "--protocol=tcp"];
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}:\n${log}`);
      try {
        await run("mariadb-admin", [...client, "ping"], { timeout: 5000 });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`mariadbd did not answer within 60 s:\n${log}`);
        await sleep(200);
      }
    }
    await run("mariadb", [...client, "-e", `CREATE DATABASE ${database}`], { timeout: 10_000 });
    const { stdout } = await run("mariadb", [...client, "-N", "-e", "SELECT VERSION()"], { timeout: 10_000 });
    return {
      url: `mysql://root@127.0.0.1:${port}/${database}`,
      pid: child.pid as number,
      version: stdout.trim(),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export const mariadbAvailable = (): boolean => existsSync(MariadbServer);
