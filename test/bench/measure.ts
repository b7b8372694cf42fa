import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import type { KeyVaultEmulator } from "../stack/keyvault/emulator.js";

export const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

/** The line a backup worker prints when its run has ended (verify and the storage probe follow). */
export const RunEnded = '{"mark":"run-ended"}';

/**
 * Every Key Vault answer of every vault, timestamped when it is sent, through the emulator's own
 * observer hook (KeyVaultEmulator.observe): what the subscription-wide windows are counted from.
 */
export class RequestLog {
  private times: number[] = [];
  private statuses: number[] = [];
  private vaults: string[] = [];
  private readonly stopObserving: () => void;

  constructor(emulator: KeyVaultEmulator) {
    this.stopObserving = emulator.observe((e) => {
      this.times.push(Date.now());
      this.statuses.push(e.status);
      this.vaults.push(e.vault);
    });
  }

  clear(): void {
    this.times = [];
    this.statuses = [];
    this.vaults = [];
  }

  close(): void {
    this.stopObserving();
  }

  get count(): number {
    return this.times.length;
  }

  get first(): number | undefined {
    return this.times[0];
  }

  get last(): number | undefined {
    return this.times.at(-1);
  }

  /**
   * The most requests any 10 s window saw (sliding: every window that starts at a request), all
   * answers and the ones Key Vault counts (429s do not count against its limits), and the busiest
   * fixed 10 s window from the first request.
   */
  windows(windowMs = 10_000): { maxWindowTx: number; maxWindowAccepted: number; maxFixedWindowTx: number } {
    const t = this.times;
    let maxAll = 0;
    let maxAccepted = 0;
    let j = 0;
    let acceptedInside = 0;
    // Accepted requests inside [t[i], t[i] + windowMs): two pointers over the sorted times.
    for (let i = 0; i < t.length; i++) {
      while (j < t.length && (t[j] as number) < (t[i] as number) + windowMs) {
        if (this.statuses[j] !== 429) acceptedInside++;
        j++;
      }
      maxAll = Math.max(maxAll, j - i);
      maxAccepted = Math.max(maxAccepted, acceptedInside);
      if (this.statuses[i] !== 429) acceptedInside--;
    }
    const buckets = new Map<number, number>();
    const t0 = t[0] ?? 0;
    for (const x of t) {
      const b = Math.floor((x - t0) / windowMs);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    }
    return {
      maxWindowTx: maxAll,
      maxWindowAccepted: maxAccepted,
      maxFixedWindowTx: Math.max(0, ...buckets.values()),
    };
  }

  /** Requests per vault (to check the log against the emulator's own counters). */
  perVault(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.vaults) out[v] = (out[v] ?? 0) + 1;
    return out;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined when it is gone. */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the name), in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Each long-lived part's CPU seconds so far, and this process's. */
export interface CpuSnapshot {
  self: NodeJS.CpuUsage;
  parts: Record<string, number | undefined>;
}

export function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  return {
    self: process.cpuUsage(),
    parts: Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, procCpuSeconds(p)])),
  };
}

/** CPU used by each part between `since` and now. */
export function cpuSince(
  since: CpuSnapshot,
  pids: Record<string, number | undefined>,
): Record<string, number> {
  const self = process.cpuUsage(since.self);
  const cpuSeconds: Record<string, number> = {
    "bench process (Key Vault emulator, identity, ARM)": round((self.user + self.system) / 1e6, 1),
  };
  for (const [k, p] of Object.entries(pids)) {
    const a = since.parts[k];
    const b = procCpuSeconds(p);
    if (a !== undefined && b !== undefined) cpuSeconds[k] = round(b - a, 1);
  }
  return cpuSeconds;
}

/** CPU used by each long-lived part while `fn` ran, so a reader sees what shared the 2 cores. */
export async function withCpu<T>(
  pids: Record<string, number | undefined>,
  fn: () => Promise<T>,
): Promise<{ value: T; cpuSeconds: Record<string, number>; wallSeconds: number }> {
  const before = cpuSnapshot(pids);
  const t0 = performance.now();
  const value = await fn();
  const wallSeconds = (performance.now() - t0) / 1000;
  return { value, cpuSeconds: cpuSince(before, pids), wallSeconds };
}

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
  };
}

const require = createRequire(import.meta.url);
const tsc = join(require.resolve("typescript/package.json"), "..", "bin", "tsc");
/** The worker as the Functions host would run kvbackup: compiled JavaScript (see compileWorker). */
const compiledWorker = resolve(".local/bench/dist/test/bench/worker.js");

/**
 * Compiles the worker and the app (tsconfig.bench.json -> .local/bench/dist) so that workers run
 * as the deployed package does, plain JavaScript: under a TypeScript loader the same process holds
 * ~40 MB more (measured: 151 MB against 109 MB after createApp), which is the loader's, not kvbackup's.
 */
export function compileWorker(): void {
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.bench.json"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`compiling the bench worker failed:\n${r.stdout}${r.stderr}`);
}

const running = new Set<ChildProcess>();

/** Ends every worker still running, each by its own pid (the bench failed or was interrupted). */
export function killWorkers(): void {
  for (const c of running) if (c.pid && c.exitCode === null) process.kill(c.pid, "SIGKILL");
}

/**
 * Runs test/bench/worker.ts in its own process with exactly these settings (no inherited
 * environment beyond PATH and HOME, and BENCH_WORKER_NODE_OPTIONS as its NODE_OPTIONS, e.g.
 * "--cpu-prof --cpu-prof-dir=.local/prof" to profile it); resolves with the JSON of its last line.
 * `onLine` sees each line the worker prints as it prints it.
 */
export function runWorker(
  env: Record<string, string>,
  label: string,
  timeoutMs = 3 * 3600_000,
  onLine?: (line: string) => void,
): { pid: number | undefined; done: Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, [compiledWorker], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...(process.env.BENCH_WORKER_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS }
        : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    const seen = stdout.length;
    stdout += c.toString();
    if (!onLine) return;
    const from = stdout.lastIndexOf("\n", seen - 1) + 1;
    const to = stdout.lastIndexOf("\n");
    if (to >= from) for (const line of stdout.slice(from, to).split("\n")) onLine(line);
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-20_000);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code === 0) {
        try {
          resolve(JSON.parse(last) as Record<string, unknown>);
          return;
        } catch {
          // fall through: report what it printed
        }
      }
      reject(new Error(`${label} worker ended with ${code ?? signal}:\n${stderr}\n${stdout.slice(-4000)}`));
    });
  });
  return { pid: child.pid, done };
}
