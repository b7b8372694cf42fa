import { describe, expect, it } from "vitest";
import { base, load, problems } from "./settingsCheck.js";

describe("loadConfig", () => {
  it("applies the design's defaults and derives queue/table URIs for Azure hosts", () => {
    const c = load(base);
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
      restoreRequireRole: true,
      appServiceAuth: false,
      caller: "function",
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("accepts the three vault forms; names are lower-cased (they are DNS names)", () => {
    const c = load({
      ...base,
      BACKUP_VAULTS: "a-kv, https://B-Kv.vault.azure.net/, Local=https://127.0.0.1:4443",
      RESTORE_TARGET_VAULTS: "restore-vault=https://127.0.0.1:4444",
      WEBSITE_AUTH_ENABLED: "True",
    });
    expect(c.vaults).toEqual([
      { name: "a-kv", url: "https://a-kv.vault.azure.net" },
      { name: "b-kv", url: "https://b-kv.vault.azure.net" },
      { name: "local", url: "https://127.0.0.1:4443" },
    ]);
    expect(c.restoreTargets).toEqual([{ name: "restore-vault", url: "https://127.0.0.1:4444" }]);
    expect(c.appServiceAuth).toBe(true);
  });

  it("names every bad key in one error", () => {
    const message = problems({
      BACKUP_VAULTS: "x, https://evil.example.com",
      BACKUP_STORAGE__blobServiceUri: "http://insecure",
      BACKUP_KINDS: "secrets,passwords",
      BACKUP_RATE_PER_10S: "9000",
      BACKUP_WEEKLY_DAY: "Caturday",
      BACKUP_SCHEDULE: "every night",
      BACKUP_CONTAINER: "Bad_Name",
    });
    for (const key of [
      "BACKUP_VAULTS",
      "BACKUP_STORAGE__blobServiceUri",
      "BACKUP_KINDS",
      "BACKUP_RATE_PER_10S",
      "BACKUP_WEEKLY_DAY",
      "BACKUP_SCHEDULE",
      "BACKUP_CONTAINER",
    ])
      expect(message).toContain(key);
    expect(message).toContain("'x' is not a vault name");
    expect(message).toContain("not a Key Vault URL");
  });

  it("requires vaults and a storage connection", () => {
    const p = problems({});
    expect(p).toMatch(
      /BACKUP_VAULTS: required: vaults to back up .*or BACKUP_SUBSCRIPTIONS to discover them/,
    );
    expect(p).toMatch(/BACKUP_STORAGE__blobServiceUri: required/);
  });

  it("needs explicit queue and table URIs for non-Azure hosts, and accepts a connection string", () => {
    expect(
      problems({
        BACKUP_VAULTS: "a-kv",
        BACKUP_STORAGE__blobServiceUri: "https://127.0.0.1:1/devstoreaccount1",
      }),
    ).toMatch(/queueServiceUri[\s\S]*tableServiceUri/);
    const c = load({ BACKUP_VAULTS: "a-kv", BACKUP_STORAGE: "UseDevelopmentStorage=true" });
    expect(c.storage).toEqual({ kind: "connectionString", connectionString: "UseDevelopmentStorage=true" });
    expect(problems({ BACKUP_VAULTS: "a-kv", BACKUP_STORAGE: "hello" })).toMatch(
      /BACKUP_STORAGE: not a storage connection string/,
    );
  });
});

describe("a vault can never go unbacked behind a green check", () => {
  it.each([
    [
      "the same name twice, in another case",
      "demo-vault=https://127.0.0.1:1,Demo-Vault=https://127.0.0.1:2",
      /listed twice/,
    ],
    [
      "the same URL under two names",
      "a-kv=https://127.0.0.1:1,b-kv=https://127.0.0.1:1/",
      /listed under two names/,
    ],
    ["a bare name and its URL", "a-kv,https://A-KV.vault.azure.net", /listed twice/],
    [
      "a URL and the same with a trailing dot, under another name",
      "https://contoso-kv.vault.azure.net,x-kv=https://CONTOSO-KV.vault.azure.net.",
      /that URL is the vault 'contoso-kv', not 'x-kv'/,
    ],
    [
      "a name on another vault's URL",
      "contoso-kv=https://other-kv.vault.azure.net",
      /that URL is the vault 'other-kv', not 'contoso-kv'/,
    ],
    [
      "a vault and its private endpoint name",
      "contoso-kv,pe-kv=https://contoso-kv.privatelink.vaultcore.azure.net",
      /that URL is the vault 'contoso-kv', not 'pe-kv'/,
    ],
    [
      "the same vault by its name and its private endpoint name",
      "contoso-kv,contoso-kv=https://contoso-kv.privatelink.vaultcore.azure.net",
      /listed twice/,
    ],
    [
      "one loopback host written two ways",
      "a-kv=https://127.0.0.1:4443,b-kv=https://localhost:4443",
      /listed under two names/,
    ],
  ])("BACKUP_VAULTS with %s is refused", (_l, vaults, message) => {
    expect(problems({ ...base, BACKUP_VAULTS: vaults })).toMatch(message);
  });

  it("RESTORE_TARGET_VAULTS clashes: a case twin, a backup vault under another URL or name", () => {
    expect(
      problems({ ...base, RESTORE_TARGET_VAULTS: "r-kv=https://127.0.0.1:1,R-KV=https://127.0.0.1:2" }),
    ).toMatch(/listed twice/);
    expect(problems({ ...base, RESTORE_TARGET_VAULTS: "Contoso-KV=https://127.0.0.1:9" })).toMatch(
      /also in BACKUP_VAULTS with another URL/,
    );
    expect(problems({ ...base, RESTORE_TARGET_VAULTS: "other=https://contoso-kv.vault.azure.net" })).toMatch(
      /that URL is the vault 'contoso-kv', not 'other'/,
    );
    expect(
      problems({ ...base, RESTORE_TARGET_VAULTS: "https://contoso-kv.privatelink.vaultcore.azure.net" }),
    ).toMatch(/Key Vault URL|BACKUP_VAULTS/);
    expect(problems({ ...base, RESTORE_TARGET_VAULTS: "CONTOSO-KV" })).toMatch(/already in BACKUP_VAULTS/);
  });
});
