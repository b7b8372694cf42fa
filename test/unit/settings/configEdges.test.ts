import { describe, expect, it } from "vitest";
import { ncrontabProblem } from "../../../src/settings/ncrontab.js";
import { base, load, problems } from "./settingsCheck.js";

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
