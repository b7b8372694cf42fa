import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import { main } from "../../../src/cli/main.js";
import { loadConfig } from "../../../src/loadConfig.js";
import {
  expectedCode,
  keyVaultBodies,
  type RealBody,
  storageBodies,
  storageCode,
} from "../../fixtures/errors/expected.js";
import type { Stack } from "../../stack/stack.js";
import { DevAccount } from "../../stack/storage/azurite.js";
import { captureIo } from "../../unit/fakes/io.js";
import { startTestStack } from "../helpers.js";

let stack: Stack;

/** kvbackup doctor --json in this process, one kind and no extra target to keep it short, AKV10046 retried quickly. */
async function doctor(env: Record<string, string> = {}) {
  const { io, stdout } = captureIo();
  const code = await main(
    ["doctor", "--json"],
    { ...stack.env, BACKUP_KINDS: "secrets", RESTORE_TARGET_VAULTS: "", ...env },
    io,
    (e) => createApp(loadConfig(e, "operator"), { signingKeyRetryMs: [10, 10] }),
  );
  return { code, report: JSON.parse(stdout()) };
}

const withoutLength = (headers: Record<string, string> = {}): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k !== "content-length"));

/** A SAS connection string for the stack's account: the credential a SAS body was answered to. */
function sasConnectionString(): string {
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3_600_000),
      permissions: AccountSASPermissions.parse("rwdlacup"),
      resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
      services: AccountSASServices.parse("bqt").toString(),
    },
    new StorageSharedKeyCredential(DevAccount.name, DevAccount.key),
  ).toString();
  const e = stack.env;
  return `BlobEndpoint=${e.BACKUP_STORAGE__blobServiceUri};QueueEndpoint=${e.BACKUP_STORAGE__queueServiceUri};TableEndpoint=${e.BACKUP_STORAGE__tableServiceUri};SharedAccessSignature=${sas}`;
}

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
});
afterEach(() => {
  stack.emulator.respondWith("demo-vault", undefined);
  stack.proxies.blob.clearRules();
});
afterAll(async () => {
  await stack?.stop();
});

describe("real error bodies served by the local Azure: doctor names each, with its fix, and exits 1", () => {
  it("the stack itself passes first", async () => {
    expect((await doctor()).code).toBe(0);
  });

  it.each(keyVaultBodies().map((b) => [b.id, b] as const))("Key Vault: %s", async (_id, b: RealBody) => {
    stack.emulator.respondWith("demo-vault", {
      status: b.status,
      headers: withoutLength(b.headers),
      body: b.body,
    });
    const { code, report } = await doctor();
    expect(code).toBe(1);
    const d = report.vaults[0].kinds.secrets.diagnosis;
    expect(d.code).toBe(expectedCode(b));
    expect(d.fix).toBeTruthy();
  });

  it.each(storageBodies().map((b) => [b.id, b] as const))("Storage: %s", async (_id, b: RealBody) => {
    stack.proxies.blob.addRule({
      response: {
        status: b.status,
        headers: { "content-type": "application/xml", ...withoutLength(b.headers) },
        body: b.bodyXml as string,
      },
    });
    const sas = b.family === "st-403-sas-permission";
    // A SAS connection string replaces the identity form (both at once is a bad setting).
    const sasSettings = {
      BACKUP_STORAGE: sasConnectionString(),
      BACKUP_STORAGE__blobServiceUri: "",
      BACKUP_STORAGE__queueServiceUri: "",
      BACKUP_STORAGE__tableServiceUri: "",
    };
    const { code, report } = await doctor(sas ? sasSettings : {});
    expect(code).toBe(1);
    const d = report.storage.checks.blob.diagnosis;
    expect(d.code).toBe(expectedCode(b));
    expect(storageCode(b)).toBeTruthy();
  });
});
