import { describe, expect, it } from "vitest";
import { base, load, problems } from "./settingsCheck.js";

describe("the isolated copy's settings", () => {
  it("refuse the backup account itself under any spelling Storage resolves to it", () => {
    for (const copy of [
      "https://backups.blob.core.windows.net",
      "https://BACKUPS.blob.core.windows.net/",
      "https://backups.blob.core.windows.net:443",
      "https://backups.blob.core.windows.net.",
      "https://backups.privatelink.blob.core.windows.net",
    ])
      expect(problems({ ...base, BACKUP_COPY_BLOB_URI: copy }), copy).toMatch(
        /account 'backups' is the backup account itself/,
      );
    const cs =
      "DefaultEndpointsProtocol=https;AccountName=backups;AccountKey=a2V5;EndpointSuffix=core.windows.net";
    expect(
      problems({
        BACKUP_VAULTS: "contoso-kv",
        BACKUP_STORAGE: cs,
        BACKUP_COPY_BLOB_URI: "https://backups.blob.core.windows.net",
      }),
    ).toMatch(/is the backup account itself/);
    const stack = {
      ...base,
      BACKUP_STORAGE__blobServiceUri: "https://127.0.0.1:4443/devstoreaccount1",
      BACKUP_STORAGE__queueServiceUri: "https://127.0.0.1:4444/devstoreaccount1",
      BACKUP_STORAGE__tableServiceUri: "https://127.0.0.1:4445/devstoreaccount1",
    };
    expect(problems({ ...stack, BACKUP_COPY_BLOB_URI: "https://localhost:4443/devstoreaccount1" })).toMatch(
      /is the backup account itself/,
    );
    expect(
      load({ ...stack, BACKUP_COPY_BLOB_URI: "https://127.0.0.1:4443/kvbackupcopy" }).copy,
    ).toMatchObject({
      blobServiceUri: "https://127.0.0.1:4443/kvbackupcopy",
      container: "keyvault-backups",
      maxLagHours: 26,
    });
  });

  it("take the account's endpoint only: no query, no path; the rest named", () => {
    expect(problems({ ...base, BACKUP_COPY_BLOB_URI: "https://copy.blob.core.windows.net/?" })).toMatch(
      /query/,
    );
    expect(
      problems({ ...base, BACKUP_COPY_BLOB_URI: "https://copy.blob.core.windows.net/c?sv=x&sig=y" }),
    ).toMatch(/query/);
    expect(
      problems({ ...base, BACKUP_COPY_BLOB_URI: "https://copy.blob.core.windows.net/keyvault-backups" }),
    ).toMatch(/not a path/);
    expect(problems({ ...base, BACKUP_COPY_CONTAINER: "x-copy" })).toMatch(
      /BACKUP_COPY_CONTAINER: set BACKUP_COPY_BLOB_URI too/,
    );
    expect(
      problems({
        ...base,
        BACKUP_COPY_BLOB_URI: "https://copy.blob.core.windows.net",
        BACKUP_COPY_MAX_LAG_HOURS: "49",
      }),
    ).toMatch(/BACKUP_COPY_MAX_LAG_HOURS/);
    expect(
      load({ ...base, BACKUP_COPY_BLOB_URI: "https://copy.blob.core.windows.net/" }).copy?.blobServiceUri,
    ).toBe("https://copy.blob.core.windows.net");
  });
});

describe("the isolated copy's settings, adversary recheck", () => {
  it("refuse the account's secondary endpoint, an empty fragment, and a path-style URI with a container", () => {
    expect(
      problems({ ...base, BACKUP_COPY_BLOB_URI: "https://backups-secondary.blob.core.windows.net" }),
    ).toMatch(/is the backup account itself/);
    expect(problems({ ...base, BACKUP_COPY_BLOB_URI: "https://copy.blob.core.windows.net#" })).toMatch(
      /query/,
    );
    expect(
      problems({
        ...base,
        BACKUP_STORAGE__blobServiceUri: "https://127.0.0.1:4443/devstoreaccount1",
        BACKUP_STORAGE__queueServiceUri: "https://127.0.0.1:4444/devstoreaccount1",
        BACKUP_STORAGE__tableServiceUri: "https://127.0.0.1:4445/devstoreaccount1",
        BACKUP_COPY_BLOB_URI: "https://127.0.0.1:4443/kvbackupcopy/keyvault-backups",
      }),
    ).toMatch(/not a path/);
  });
});
