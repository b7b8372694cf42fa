import { describe, expect, it } from "vitest";
import { KvBackupError } from "../../../src/domain/errors.js";
import { loadConfig } from "../../../src/loadConfig.js";
import { ncrontabProblem } from "../../../src/settings/ncrontab.js";

const base = {
  BACKUP_VAULTS: "contoso-kv",
  BACKUP_STORAGE__blobServiceUri: "https://backups.blob.core.windows.net",
};
const load = (env: Record<string, string | undefined>) => loadConfig(env, "function");
const problems = (env: Record<string, string | undefined>): string => {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(KvBackupError);
    expect((e as KvBackupError).code).toBe("BadSettings");
    return (e as KvBackupError).message;
  }
  throw new Error("settings were accepted");
};

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

describe("storage and identity settings that would mislead", () => {
  const storage = {
    BACKUP_VAULTS: "contoso-kv",
    BACKUP_STORAGE__blobServiceUri: undefined as string | undefined,
  };
  it.each([
    ["DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==", /must be https/],
    [
      "BlobEndpoint=http://x.example.com;AccountName=x;AccountKey=eA==",
      /endpoint http:\/\/x.example.com must be https/,
    ],
    ["AccountName=x", /AccountKey= or SharedAccessSignature=/],
    ["garbage", /not a storage connection string/],
  ])("BACKUP_STORAGE=%s is refused", (conn, message) => {
    expect(problems({ ...storage, BACKUP_STORAGE: conn })).toMatch(message);
  });

  it("a loopback emulator over http, and the development shortcut, are accepted", () => {
    expect(() => load({ ...storage, BACKUP_STORAGE: "UseDevelopmentStorage=true" })).not.toThrow();
    expect(() =>
      load({
        ...storage,
        BACKUP_STORAGE:
          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=eA==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1",
      }),
    ).not.toThrow();
  });

  it("both storage forms at once, a reserved table name, and client ids that are not GUIDs are refused", () => {
    expect(
      problems({
        ...storage,
        BACKUP_STORAGE: "UseDevelopmentStorage=true",
        BACKUP_STORAGE__blobServiceUri: "https://x.blob.core.windows.net",
      }),
    ).toMatch(/not both/);
    expect(
      problems({
        ...storage,
        BACKUP_STORAGE: "UseDevelopmentStorage=true",
        BACKUP_INVENTORY_TABLE: "Tables",
      }),
    ).toMatch(/reserved/);
    expect(
      problems({ ...storage, BACKUP_STORAGE: "UseDevelopmentStorage=true", AZURE_CLIENT_ID: "my-identity" }),
    ).toMatch(/AZURE_CLIENT_ID: a client id \(GUID\)/);
  });
});

describe("values that look almost right", () => {
  it.each([
    ["BACKUP_RATE_PER_10S", "1e3"],
    ["BACKUP_RATE_PER_10S", "0x64"],
    ["BACKUP_RATE_PER_10S", "12.0"],
    ["BACKUP_RATE_PER_10S", "lots"],
    ["BACKUP_VAULTS", "a-kv=https://user:pw@127.0.0.1:1"],
    ["BACKUP_VAULTS", "a-kv=https://127.0.0.1:1/some/path"],
    ["BACKUP_VAULTS", "a-kv=https://127.0.0.1:1/?sig=x"],
    ["BACKUP_VAULTS", "a--kv"],
    ["BACKUP_STORAGE__blobServiceUri", "https://me:secret@backups.blob.core.windows.net"],
    ["BACKUP_SCHEDULE", "garbage garbage garbage garbage garbage garbage"],
    ["BACKUP_SCHEDULE", "0 0 25 * * *"],
    ["BACKUP_SCHEDULE", "0 0 2 * *"],
    ["BACKUP_SCHEDULE", "0 0 2 30 2 *"],
    [
      "APPLICATIONINSIGHTS_CONNECTION_STRING",
      "InstrumentationKey=nope;InstrumentationKey=00000000-0000-0000-0000-000000000000",
    ],
    ["APPLICATIONINSIGHTS_CONNECTION_STRING", "garbage"],
    ["APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=not-a-guid"],
    ["APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000-0000-0000-0000-000000000000;junk"],
    ["RESTORE_REQUIRE_ROLE", "yes"],
  ])("%s=%s is refused with its name", (key, value) => {
    expect(problems({ ...base, [key]: value })).toContain(key);
  });

  it("accepts a real Application Insights connection string and a plain number", () => {
    const c = load({
      ...base,
      BACKUP_RATE_PER_10S: "400",
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/",
    });
    expect(c.ratePer10s).toBe(400);
    expect(c.appInsightsConnectionString).toContain("InstrumentationKey");
  });

  it("hands the exporter a connection string it reads: spaces around keys and values go (it trims nothing, and stopped the app at load; adversary on issue 21)", () => {
    const c = load({
      ...base,
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        " InstrumentationKey = 00000000-0000-0000-0000-000000000000 ;IngestionEndpoint=https://127.0.0.1:9/; ",
    });
    expect(c.appInsightsConnectionString).toBe(
      "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/",
    );
  });
});

describe("NCRONTAB", () => {
  it.each([
    "0 0 2 * * *",
    "0 */5 * * * *",
    "0 30 9 * * 1-5",
    "0 0 4 * * SUN",
    "0 0 0 1 JAN *",
    "15,45 0 2 * * *",
  ])("%s is valid", (e) => {
    expect(ncrontabProblem(e)).toBeUndefined();
  });
  it.each([
    "",
    "* * * * *",
    "60 * * * * *",
    "0 0 2 32 * *",
    "0 0 2 * 13 *",
    "0 0 2 * * 8",
    "0 0 5-2 * * *",
    "0 0 2 * * FUN",
    "0 0 */0 * * *",
  ])("'%s' is refused", (e) => {
    expect(ncrontabProblem(e)).toBeTypeOf("string");
  });
});

describe("BACKUP_MANAGED_HSMS", () => {
  it("takes names, HSM URLs and NAME=URL; none by default", () => {
    expect(load(base).hsms).toEqual([]);
    expect(
      load({
        ...base,
        BACKUP_MANAGED_HSMS:
          "Prod-HSM, https://dr-hsm.managedhsm.azure.net, local-hsm=https://127.0.0.1:8443",
      }).hsms,
    ).toEqual([
      { name: "prod-hsm", url: "https://prod-hsm.managedhsm.azure.net" },
      { name: "dr-hsm", url: "https://dr-hsm.managedhsm.azure.net" },
      { name: "local-hsm", url: "https://127.0.0.1:8443" },
    ]);
  });

  it("refuses an HSM twice, a vault URL, a name that is also a vault, another HSM's URL under a name, and a container too long for its HSM containers", () => {
    const p = problems({
      ...base,
      BACKUP_MANAGED_HSMS: "a-hsm,A-HSM,https://x.vault.azure.net,b-hsm=https://c-hsm.managedhsm.azure.net",
      BACKUP_CONTAINER: "c".repeat(53),
    });
    expect(p).toContain("Managed HSM 'a-hsm' is listed twice");
    expect(p).toContain("is a Key Vault URL, not a Managed HSM URL");
    expect(p).toContain("that URL is the Managed HSM 'c-hsm', not 'b-hsm'");
    // A Key Vault given as an HSM, an HSM given as a vault, a vault's own endpoint under an HSM name (adversary round 4).
    expect(problems({ ...base, BACKUP_MANAGED_HSMS: "h-hsm=https://kv1.vault.azure.net" })).toContain(
      "that URL is a Key Vault",
    );
    expect(problems({ ...base, BACKUP_VAULTS: "https://h1.managedhsm.azure.net" })).toContain(
      "is a Managed HSM URL",
    );
    expect(
      problems({
        ...base,
        BACKUP_VAULTS: "kv1=https://127.0.0.1:8443",
        BACKUP_MANAGED_HSMS: "hsm1=https://127.0.0.1:8443",
      }),
    ).toContain("is the endpoint of a vault in BACKUP_VAULTS");
    expect(
      problems({
        ...base,
        BACKUP_MANAGED_HSMS: "hsm1=https://127.0.0.1:9443",
        BACKUP_DRILL_VAULT: "drill-kv=https://127.0.0.1:9443",
      }),
    ).toContain("BACKUP_DRILL_VAULT: 'drill-kv' is the endpoint of a Managed HSM");
    const q = problems({ ...base, BACKUP_MANAGED_HSMS: "contoso-kv", BACKUP_CONTAINER: "c".repeat(53) });
    expect(q).toContain("'contoso-kv' is also a vault in BACKUP_VAULTS");
    expect(q).toContain("BACKUP_CONTAINER: at most 52 characters");
  });
});
