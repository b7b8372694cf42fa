import { type BackupJob, DefaultTuning, type EngineDeps, type RestoreJob } from "../../../src/backup/deps.js";
import type { Config } from "../../../src/domain/config.js";
import { fakeClock } from "./fakeClock.js";
import { MemoryDirectory } from "./memoryDirectory.js";
import { MemoryHsm, MemoryHsmFolders } from "./memoryHsm.js";
import { MemoryStorage } from "./memoryStorage.js";
import { MemoryTelemetry } from "./memoryTelemetry.js";
import { MemoryVault } from "./memoryVault.js";

export const testConfig = (over: Partial<Config> = {}): Config => ({
  vaults: [{ name: "demo-vault", url: "https://demo-vault.vault.azure.net" }],
  restoreTargets: [{ name: "restore-vault", url: "https://restore-vault.vault.azure.net" }],
  hsms: [],
  drillSchedule: "0 0 4 * * 0",
  storage: { kind: "connectionString", connectionString: "UseDevelopmentStorage=true" },
  container: "keyvault-backups",
  inventoryTable: "backupinventory",
  schedule: "0 0 2 * * *",
  weeklyDay: "Sunday",
  kinds: ["secrets", "keys", "certificates"],
  ratePer10s: 4000,
  subscriptionRatePer10s: 20000,
  incremental: true,
  subscriptions: [],
  armEndpoint: "https://management.azure.com",
  restoreRequireRole: false,
  appServiceAuth: false,
  caller: "function",
  ...over,
});

export interface World {
  deps: EngineDeps;
  storage: MemoryStorage;
  telemetry: MemoryTelemetry;
  vaults: Map<string, MemoryVault>;
  vault(name?: string): MemoryVault;
  /** Azure Resource Manager, when the config has subscriptions. */
  directory: MemoryDirectory;
  hsmFolders: MemoryHsmFolders;
  hsm(name?: string): MemoryHsm;
}

/** The engine wired to in-memory ports: a demo vault, an empty restore target, a calendar that moves and a clock that waits without waiting. */
export function world(config: Partial<Config> = {}, tuning: Partial<EngineDeps["tuning"]> = {}): World {
  const storage = new MemoryStorage();
  const telemetry = new MemoryTelemetry();
  const vaults = new Map<string, MemoryVault>();
  const directory = new MemoryDirectory();
  const hsmFolders = new MemoryHsmFolders();
  const hsms = new Map<string, MemoryHsm>();
  const hsmOf = (name: string): MemoryHsm => {
    if (!hsms.has(name)) hsms.set(name, new MemoryHsm(name, hsmFolders));
    return hsms.get(name) as MemoryHsm;
  };
  const cfg = testConfig(config);
  for (const v of [...cfg.vaults, ...cfg.restoreTargets]) vaults.set(v.name, new MemoryVault());
  let t = Date.parse("2026-11-26T02:00:00Z");
  const deps: EngineDeps = {
    config: cfg,
    vaults: (vault, budget) => {
      // A discovered vault gets its memory vault on first use.
      if (!vaults.has(vault.name)) vaults.set(vault.name, new MemoryVault());
      return (vaults.get(vault.name) as MemoryVault).port(budget);
    },
    ...(cfg.subscriptions.length ? { directory } : {}),
    blobs: storage.blobStore,
    inspect: (vault, budget) => {
      if (!vaults.has(vault.name)) vaults.set(vault.name, new MemoryVault());
      return (vaults.get(vault.name) as MemoryVault).inspector(budget);
    },
    drills: storage.drills,
    hsms: (hsm) => hsmOf(hsm.name).port(),
    hsmFolders,
    documents: storage.documentStore,
    leases: storage.leases,
    budgetSlots: storage.budgetSlots,
    inventory: storage.inventory,
    backupJobs: storage.queue<BackupJob>("backup"),
    restoreJobs: storage.queue<RestoreJob>("restore"),
    ...(cfg.eventsQueue ? { events: storage.eventQueue } : {}),
    ...(cfg.eventsDeadLetters ? { deadLetters: storage.deadLetterStore } : {}),
    telemetry,
    now: () => {
      t += 1000;
      return new Date(t);
    },
    // Waits (budget slots, drill lease, HSM polls, conflicts, the vaults' pace) take no wall time.
    clock: fakeClock(),
    tuning: { ...DefaultTuning, conflictRetryMs: 0, ...tuning },
  };
  return {
    deps,
    storage,
    telemetry,
    vaults,
    vault: (name = "demo-vault") => {
      if (!vaults.has(name)) vaults.set(name, new MemoryVault());
      return vaults.get(name) as MemoryVault;
    },
    directory,
    hsmFolders,
    hsm: (name = "demo-hsm") => hsmOf(name),
  };
}

/** demo-vault with a few of each kind, a disabled one, tags, and a certificate's managed key and secret. */
export function seed(v: MemoryVault): MemoryVault {
  for (const n of ["alpha", "bravo", "charlie", "delta", "echo"])
    v.put("secrets", n, { contentType: "text/plain" });
  v.put("secrets", "retired", { enabled: false, tags: { status: "retired" } });
  v.put("keys", "signing", {}, 3).put("keys", "dek");
  return v.certificate("www");
}
