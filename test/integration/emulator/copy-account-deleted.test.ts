import { join } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackBase, startBase } from "../../stack/stack.js";
import { DevAccount } from "../../stack/storage/azurite.js";
import { testTls } from "../helpers.js";

// Deleting the primary account cannot be undone, so this file has a base of its own (not the worker's).
let base: StackBase;
/** The app's system-assigned identity on this base (the worker's IDENTITY_ENDPOINT is another base's). */
let app: TokenCredential;
/** No retries: a refused connection is the answer under test, not a hiccup to wait out. */
const once = { retryOptions: { maxTries: 1 } };

beforeAll(async () => {
  base = await startBase({
    dir: join(process.env.KVBACKUP_TEST_TLS_DIR as string, `stack-deleted-${process.pid}`),
    tls: testTls(),
  });
  app = {
    getToken: async () => ({
      token: base.identity.mint(base.identities.app, "https://storage.azure.com"),
      expiresOnTimestamp: Date.now() + 3_600_000,
    }),
  };
});
afterAll(async () => {
  await base?.stop();
});

describe("the primary account deleted", () => {
  it("the primary answers nothing (connection refused); the isolated copy is still read by the app", async () => {
    const primary = new BlobServiceClient(`${base.proxies.blob.url}/${DevAccount.name}`, app, once);
    const backups = primary.getContainerClient("keyvault-backups");
    await backups.createIfNotExists();
    const bytes = Buffer.from(`the only backup ${Date.now()}`);
    const source = backups.getBlockBlobClient("daily/demo-vault/run/secret.kvbak");
    await source.uploadData(bytes);
    const copy = new BlobServiceClient(base.copy.url, app, once).getContainerClient(base.copy.container);
    const copied = copy.getBlockBlobClient("daily/demo-vault/run/secret.kvbak");
    const { token } = (await app.getToken("https://storage.azure.com/.default")) ?? { token: "" };
    await copied.syncUploadFromURL(source.url, {
      sourceAuthorization: { scheme: "Bearer", value: token },
      conditions: { ifNoneMatch: "*" },
    });

    await base.deletePrimaryAccount();

    for (const url of [base.proxies.blob.url, base.proxies.queue.url, base.proxies.table.url]) {
      const cause = await fetch(`${url}/${DevAccount.name}?comp=list`).then(
        () => undefined,
        (e: { cause?: { code?: string } }) => e.cause?.code,
      );
      expect(cause).toBe("ECONNREFUSED");
    }
    const gone = await source.downloadToBuffer().then(
      () => undefined,
      (e: { code?: string }) => e.code,
    );
    expect(gone).toBe("ECONNREFUSED");
    // The data is gone too, not only the endpoints: Azurite itself no longer holds the container.
    const direct = new BlobServiceClient(`${base.azurite.blob}/${DevAccount.name}`, app, once);
    expect(await direct.getContainerClient("keyvault-backups").exists()).toBe(false);

    expect(await copied.downloadToBuffer()).toEqual(bytes);
    const listed: string[] = [];
    for await (const b of copy.listBlobsFlat({ prefix: "daily/demo-vault/" })) listed.push(b.name);
    expect(listed).toEqual(["daily/demo-vault/run/secret.kvbak"]);
  });
});
