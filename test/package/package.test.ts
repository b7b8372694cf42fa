import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { functionsCoreStand } from "./functionsCore.js";

/** The package Azure runs (npm run package), unpacked away from the checkout and loaded as the Node worker loads it. */
const root = join(import.meta.dirname, "..", "..");
let loaded: {
  main: string;
  registrations: {
    name: string;
    bindings: Record<string, Record<string, unknown>>;
    retryOptions?: Record<string, unknown>;
  }[];
  hooks: string[];
  programmingModel: { name: string; version: string };
  connections: string[];
  outside: string[];
  unresolved: string[];
};

// globalSetup.ts built the package (npm run package) when it was stale and copied it out of the
// checkout; functionsCoreStand() stands in for the module the worker provides.
const dir = inject("deployedApp");
let stubs: string;
beforeAll(() => {
  stubs = functionsCoreStand(process.env.KVBACKUP_TEST_TLS_DIR ?? root);
  expect(existsSync(join(dir, "node_modules", "@azure", "functions-core"))).toBe(false);
  const env = {
    PATH: process.env.PATH ?? "",
    NODE_PATH: stubs,
    BACKUP_VAULTS: "contoso-kv",
    RESTORE_TARGET_VAULTS: "contoso-restore-kv",
    BACKUP_DRILL_VAULT: "contoso-drill-kv",
    BACKUP_DRILL_SCHEDULE: "0 30 3 * * 6",
    BACKUP_STORAGE__blobServiceUri: "https://kvbackupdata.blob.core.windows.net",
    BACKUP_STORAGE__credential: "managedidentity",
    WEBSITE_AUTH_ENABLED: "True",
  };
  const out = execFileSync(process.execPath, [join(import.meta.dirname, "loadAsWorker.mjs"), dir], {
    env,
    encoding: "utf8",
  });
  loaded = JSON.parse(out);
}, 300_000);
afterAll(() => {
  if (stubs) rmSync(stubs, { recursive: true, force: true });
});

const fn = (name: string) => {
  const f = loaded.registrations.find((r) => r.name === name);
  if (!f) throw new Error(`function ${name} not registered`);
  return f;
};
const trigger = (name: string) =>
  Object.values(fn(name).bindings).find((b) => b.direction === "in") as Record<string, unknown>;

describe("the deployed package, loaded as the Functions Node worker loads it", () => {
  it("holds only what runs: one bundled module (and its licences), host.json, package.json", () => {
    expect(readdirSync(dir).sort()).toEqual(["dist", "host.json", "package.json"]);
    expect(readdirSync(join(dir, "dist")).sort()).toEqual(["THIRD_PARTY_NOTICES.txt", "index.mjs"]);
    expect(loaded.main).toBe("dist/index.mjs");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ type: "module", main: "dist/index.mjs", engines: { node: ">=22" } });
    expect(pkg.dependencies).toBeUndefined();
    // Everything the app imports is inside, but the module the worker provides.
    const bundle = readFileSync(join(dir, "dist", "index.mjs"), "utf8");
    const outside = new Set(
      [...bundle.matchAll(/^import .* from "([^"]+)";$|__require\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2]),
    );
    const builtin = (m: string) => builtinModules.includes(m.replace(/^node:/, ""));
    expect([...outside].filter((m) => !builtin(m as string))).toEqual(["@azure/functions-core"]);
    const notices = readFileSync(join(dir, "dist", "THIRD_PARTY_NOTICES.txt"), "utf8");
    for (const p of ["@azure/functions", "@azure/identity", "@azure/monitor-opentelemetry", "zod"])
      expect(notices).toMatch(new RegExp(`^${p.replace("/", "\\/")} \\d`, "m"));
  });

  it("registers the v4 programming model and exactly the thirteen functions (the drill timer with BACKUP_DRILL_VAULT)", () => {
    expect(loaded.programmingModel.name).toBe("@azure/functions");
    expect(loaded.registrations.map((r) => r.name).sort()).toEqual(
      [
        "getBackup",
        "getHealth",
        "getRestore",
        "listBackups",
        "postBackups",
        "postRestores",
        "restoreWorker",
        "backupWorker",
        "scheduledBackup",
        "scheduledStatus",
        "postDrills",
        "getReport",
        "scheduledDrill",
      ].sort(),
    );
  });

  it("the timer: schedule from the BACKUP_SCHEDULE setting, with retries", () => {
    expect(trigger("scheduledBackup")).toMatchObject({ type: "timerTrigger", schedule: "%BACKUP_SCHEDULE%" });
    expect(fn("scheduledBackup").retryOptions).toMatchObject({
      retryStrategy: "exponentialBackoff",
      maxRetryCount: 4,
    });
  });

  it("the status timer: hourly, at half past (the alerts read its events)", () => {
    expect(trigger("scheduledStatus")).toMatchObject({ type: "timerTrigger", schedule: "0 30 * * * *" });
  });

  it("the drill timer: the validated BACKUP_DRILL_SCHEDULE", () => {
    expect(trigger("scheduledDrill")).toMatchObject({ type: "timerTrigger", schedule: "0 30 3 * * 6" });
  });

  it("the queue workers: their queues, on the BACKUP_STORAGE connection", () => {
    expect(trigger("backupWorker")).toMatchObject({
      type: "queueTrigger",
      queueName: "backup-jobs",
      connection: "BACKUP_STORAGE",
    });
    expect(trigger("restoreWorker")).toMatchObject({
      type: "queueTrigger",
      queueName: "restore-jobs",
      connection: "BACKUP_STORAGE",
    });
  });

  it.each([
    ["postBackups", "backups", ["POST"]],
    ["listBackups", "backups", ["GET"]],
    ["getBackup", "backups/{runId}", ["GET"]],
    ["postRestores", "restores", ["POST"]],
    ["getRestore", "restores/{id}", ["GET"]],
    ["getHealth", "health", ["GET"]],
    ["postDrills", "drills", ["POST"]],
    ["getReport", "report", ["GET"]],
  ])("HTTP %s: route %s, %j, function key", (name, route, methods) => {
    expect(trigger(name)).toMatchObject({ type: "httpTrigger", route, methods, authLevel: "function" });
  });

  it("loading it opens no connection (no DNS lookup, no socket)", () => {
    expect(loaded.connections).toEqual([]);
  });

  it("loading it reaches for no module outside itself, found or not (away from the checkout, as in Azure)", () => {
    expect(loaded.outside).toEqual([]);
    expect(loaded.unresolved).toEqual([]);
  });
});
