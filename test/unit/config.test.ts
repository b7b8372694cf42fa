import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { KvBackupError } from "../../src/errors.js";

const base = {
  BACKUP_VAULTS: "contoso-kv",
  BACKUP_STORAGE__blobServiceUri: "https://backups.blob.core.windows.net",
};

describe("loadConfig", () => {
  it("applies the design's defaults and derives queue/table URIs for Azure hosts", () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      vaults: [{ name: "contoso-kv", url: "https://contoso-kv.vault.azure.net" }],
      restoreTargets: [],
      storage: {
        kind: "identity",
        blobServiceUri: "https://backups.blob.core.windows.net",
        queueServiceUri: "https://backups.queue.core.windows.net",
        tableServiceUri: "https://backups.table.core.windows.net",
      },
      container: "keyvault-backups",
      inventoryTable: "backupinventory",
      schedule: "0 0 2 * * *",
      weeklyDay: "Sunday",
      kinds: ["secrets", "keys", "certificates"],
      ratePer10s: 2000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("accepts the three vault forms", () => {
    const c = loadConfig({
      ...base,
      BACKUP_VAULTS: "a-kv, https://B-Kv.vault.azure.net/, local=https://127.0.0.1:4443",
      RESTORE_TARGET_VAULTS: "restore-vault=https://127.0.0.1:4444",
    });
    expect(c.vaults).toEqual([
      { name: "a-kv", url: "https://a-kv.vault.azure.net" },
      { name: "b-kv", url: "https://B-Kv.vault.azure.net".toLowerCase() },
      { name: "local", url: "https://127.0.0.1:4443" },
    ]);
    expect(c.restoreTargets).toEqual([{ name: "restore-vault", url: "https://127.0.0.1:4444" }]);
  });

  it("names every bad key in one error", () => {
    let err: unknown;
    try {
      loadConfig({
        BACKUP_VAULTS: "x, https://evil.example.com",
        BACKUP_STORAGE__blobServiceUri: "http://insecure",
        BACKUP_KINDS: "secrets,passwords",
        BACKUP_RATE_PER_10S: "9000",
        BACKUP_WEEKLY_DAY: "Caturday",
        BACKUP_SCHEDULE: "every night",
        BACKUP_CONTAINER: "Bad_Name",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KvBackupError);
    const message = (err as KvBackupError).message;
    for (const key of [
      "BACKUP_VAULTS",
      "BACKUP_STORAGE__blobServiceUri",
      "BACKUP_KINDS",
      "BACKUP_RATE_PER_10S",
      "BACKUP_WEEKLY_DAY",
      "BACKUP_SCHEDULE",
      "BACKUP_CONTAINER",
    ]) {
      expect(message).toContain(key);
    }
    expect(message).toContain("'x' is not a vault name");
    expect(message).toContain("not a Key Vault URL");
  });

  it("requires vaults and a storage connection", () => {
    expect(() => loadConfig({})).toThrow(
      /BACKUP_VAULTS: required[\s\S]*BACKUP_STORAGE__blobServiceUri: required/,
    );
  });

  it("needs explicit queue and table URIs for non-Azure hosts, and accepts a connection string", () => {
    expect(() =>
      loadConfig({
        BACKUP_VAULTS: "a-kv",
        BACKUP_STORAGE__blobServiceUri: "https://127.0.0.1:1/devstoreaccount1",
      }),
    ).toThrow(/queueServiceUri[\s\S]*tableServiceUri/);
    const c = loadConfig({ BACKUP_VAULTS: "a-kv", BACKUP_STORAGE: "UseDevelopmentStorage=true" });
    expect(c.storage).toEqual({ kind: "connectionString", connectionString: "UseDevelopmentStorage=true" });
    expect(() => loadConfig({ BACKUP_VAULTS: "a-kv", BACKUP_STORAGE: "hello" })).toThrow(
      /BACKUP_STORAGE: not a storage connection string/,
    );
  });

  it("refuses a vault listed twice", () => {
    expect(() => loadConfig({ ...base, BACKUP_VAULTS: "a-kv,A-KV" })).toThrow(/listed twice/);
  });
});
