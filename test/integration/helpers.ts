import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { type App, type AppOverrides, createApp } from "../../src/app.js";
import type { BackupJob } from "../../src/backup/deps.js";
import { main } from "../../src/cli/main.js";
import { newRunId } from "../../src/domain/runId.js";
import type { Kind } from "../../src/domain/vocabulary.js";
import { loadConfig } from "../../src/loadConfig.js";
import { addDemoVaults, type Stack, type StackBase, stackEnv, startBase } from "../stack/stack.js";
import { OpenFirewall } from "../stack/storage/faultProxy.js";
import type { StackTls } from "../stack/tls.js";
import { captureIo } from "../unit/fakes/io.js";

/** TLS made by vitest.config.ts for this run (its CA is in NODE_EXTRA_CA_CERTS). */
export function testTls(): StackTls {
  const dir = process.env.KVBACKUP_TEST_TLS_DIR;
  if (!dir) throw new Error("KVBACKUP_TEST_TLS_DIR is not set: run the tests through vitest.config.ts");
  return {
    caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    certPem: readFileSync(join(dir, "cert.pem"), "utf8"),
    keyPem: readFileSync(join(dir, "key.pem"), "utf8"),
  };
}

/** One base stack per vitest worker: its files run one after another and share it (vitest's isolate is off). */
const Shared = Symbol.for("kvbackup.test.stack");
type Holder = { [Shared]?: Promise<StackBase> };

/** The worker's shared base (its identity endpoint is the one this process's credentials use). */
export function sharedBase(): Promise<StackBase> {
  const holder = globalThis as Holder;
  holder[Shared] ??= startBase({
    dir: join(process.env.KVBACKUP_TEST_TLS_DIR as string, `stack-${process.pid}`),
    tls: testTls(),
  });
  return holder[Shared];
}

const token = (): string => Math.random().toString(36).slice(2, 8).padEnd(6, "0");

/**
 * The local stack for one test file: the worker's shared base with this file's own demo-vault and
 * restore-vault (made fresh; the last file's vaults are gone), its own container and inventory
 * table, and this process's environment pointed at them as sourcing stack.env would
 * (IDENTITY_ENDPOINT + IDENTITY_HEADER make DefaultAzureCredential use the local managed identity
 * and never probe IMDS). stop() clears what the file changed on the shared parts.
 */
export async function startTestStack(options: { seed?: boolean } = {}): Promise<Stack> {
  const base = await sharedBase();
  await base.emulator.removeAll();
  base.arm.reset();
  for (const p of Object.values(base.proxies)) p.clearRules();
  Object.assign(base.network.firewall, OpenFirewall);
  base.copy.reset();
  const added = await addDemoVaults(base, options.seed !== false, true);
  const id = token();
  const env = stackEnv(base, added.vaults, { container: `kvb-${id}`, table: `inventory${id}` });
  for (const [k, v] of Object.entries(env)) if (k !== "NODE_EXTRA_CA_CERTS") process.env[k] = v;
  return {
    ...base,
    ...added,
    env,
    stop: async () => {
      for (const p of Object.values(base.proxies)) p.clearRules();
      Object.assign(base.network.firewall, OpenFirewall);
      base.copy.reset();
      await base.emulator.removeAll();
    },
  };
}

/** The production credential, unchanged. */
export const appCredential = (): TokenCredential => new DefaultAzureCredential();
/** A user-assigned identity of the stack (e.g. the admin, or one without roles). */
export const identityCredential = (clientId: string): TokenCredential =>
  new ManagedIdentityCredential({ clientId });

/** Loopback vault hosts are not *.vault.azure.net, so the challenge's resource check is off (as the app does for loopback only). */
export const kvOptions = {
  disableChallengeResourceVerification: true,
  serviceVersion: "2025-07-01",
} as const;

/** A raw HTTPS call, for asserting exact statuses, headers and bodies. */
export async function rawCall(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: unknown; text: string }> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/**
 * The environment of a child process a test starts: only what it needs (PATH, HOME, the test CA)
 * and the settings given, never the test process's own (which holds another stack's ports).
 */
export const childEnv = (settings: Record<string, string>): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "",
  ...settings,
});

/** The app as the Function runs it, from this process's environment (the stack's settings) plus overrides. */
export const appFor = (env: Record<string, string> = {}, overrides: AppOverrides = {}): App =>
  createApp(loadConfig({ ...process.env, ...env }, "function"), overrides);

/**
 * Restore tuning for tests: a drill paces the scratch vault at Key Vault's create class (300 per
 * 10 s), some 7 s of waiting per drill of demo-vault that no test looks at (the pace has its own
 * tests and the benchmark). The stack's vaults take 2,000 per 10 s.
 */
export const QuickRestores: AppOverrides = { tuning: { restoreRatePer10s: 2000 } };

/** The operator's app (the CLI's) with QuickRestores. */
export const quickOperatorApp = (env: Record<string, string | undefined>): App =>
  createApp(loadConfig(env, "operator"), QuickRestores);

/** A manual run of demo-vault (or another vault), as the CLI would start it. */
export const cliJob = (vault = "demo-vault", kinds?: Kind[]): BackupJob => ({
  runId: newRunId(),
  vault,
  tier: "manual",
  trigger: "cli",
  ...(kinds ? { kinds } : {}),
});

/**
 * The kvbackup CLI in this process, with these settings and nothing else (optionally the app made
 * with test tuning): its exit code, both streams, and with --json the document it printed.
 */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  makeApp?: Parameters<typeof main>[3],
): Promise<{ code: number; stdout: string; stderr: string; json: ReturnType<typeof JSON.parse> }> {
  const { io, stdout, stderr } = captureIo();
  const code = await main(args, env, io, ...(makeApp ? [makeApp] : []));
  const out = stdout();
  let json: ReturnType<typeof JSON.parse>;
  try {
    json = args.includes("--json") ? JSON.parse(out) : undefined;
  } catch {
    json = undefined;
  }
  return { code, stdout: out, stderr: stderr(), json };
}

/** kvbackup doctor --json (and GET /api/health): these keys, sorted, whatever passes or fails. */
export const DoctorKeys = [
  "caller",
  "copy",
  "deadLetters",
  "discovery",
  "drillVault",
  "hsms",
  "identity",
  "ok",
  "restoreTargets",
  "storage",
  "vaults",
];
