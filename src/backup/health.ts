import type { App } from "../app.js";
import { type Kind, Kinds } from "../config.js";
import { type Diagnosis, diagnose } from "../diagnosis.js";
import { KeyVaultCallError } from "../keyvault/vaultAdapter.js";
import { StorageCallError } from "../storage/storageError.js";
import type { SignalLike } from "./delay.js";
import { VaultLimiter } from "./limiter.js";

export interface Check {
  ok: boolean;
  diagnosis?: Diagnosis;
}

export interface HealthReport {
  ok: boolean;
  storage: Check & { container: string };
  vaults: { name: string; url: string; ok: boolean; kinds: Partial<Record<Kind, Check>> }[];
}

/**
 * The preflight of everything a run needs: storage (write + delete a probe blob, the inventory
 * table, the job queue), then for each vault and kind the right to list and to back up.
 */
export async function checkHealth(app: App, signal?: SignalLike): Promise<HealthReport> {
  const { config, store, inventory } = app;
  let storage: HealthReport["storage"] = { ok: true, container: config.container };
  try {
    await store.preflight(signal);
    await inventory.ensure();
  } catch (e) {
    if (!(e instanceof StorageCallError)) throw e;
    storage = {
      ok: false,
      container: config.container,
      diagnosis: diagnose(e.failure, { container: config.container }),
    };
  }
  const vaults = await Promise.all(
    config.vaults.map(async (vault) => {
      const adapter = app.engine.adapter(
        vault,
        new VaultLimiter({ ratePer10s: Math.min(config.ratePer10s, 100) }),
        {},
      );
      const kinds: Partial<Record<Kind, Check>> = {};
      for (const kind of Kinds.filter((k) => config.kinds.includes(k))) {
        try {
          await adapter.probe(kind, signal);
          kinds[kind] = { ok: true };
        } catch (e) {
          if (!(e instanceof KeyVaultCallError)) throw e;
          kinds[kind] = { ok: false, diagnosis: diagnose(e.failure, { vault: vault.name }) };
        }
      }
      return { name: vault.name, url: vault.url, ok: Object.values(kinds).every((c) => c?.ok), kinds };
    }),
  );
  return { ok: storage.ok && vaults.every((v) => v.ok), storage, vaults };
}
