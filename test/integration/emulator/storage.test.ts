import { createHash } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readReference } from "../../reference.js";
import type { Stack } from "../../stack/stack.js";
import { storageError } from "../../stack/storage/storageErrors.js";
import { appCredential, startTestStack } from "../helpers.js";

let stack: Stack;
let container: ContainerClient;
const blobUri = (): string => stack.env.BACKUP_STORAGE__blobServiceUri as string;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  container = new BlobServiceClient(blobUri(), appCredential()).getContainerClient("keyvault-backups");
  await container.createIfNotExists();
});
afterEach(() => {
  for (const p of Object.values(stack.proxies)) p.clearRules();
});
afterAll(async () => {
  await stack?.stop();
});

/** Request ids and times differ per response; everything else must be the reference's bytes. */
const mask = (b: Buffer): string =>
  b
    .toString("utf8")
    .replace(/RequestId:[0-9a-f-]+/, "RequestId:X")
    .replace(/Time:[0-9T:.\-Z]+/, "Time:X");

describe("Azurite over HTTPS with the managed identity, through the fault proxy", () => {
  it("writes and reads a blob with Content-MD5, once only", async () => {
    const bytes = Buffer.from("backup bytes");
    const md5 = createHash("md5").update(bytes).digest();
    const blob = container.getBlockBlobClient("daily/demo-vault/x.kvbak");
    await blob.uploadData(bytes, {
      blobHTTPHeaders: { blobContentMD5: md5 },
      conditions: { ifNoneMatch: "*" },
    });
    const props = await blob.getProperties();
    expect(Buffer.from(props.contentMD5 as Uint8Array)).toEqual(md5);
    expect(await blob.downloadToBuffer()).toEqual(bytes);
    await expect(blob.uploadData(bytes, { conditions: { ifNoneMatch: "*" } })).rejects.toMatchObject({
      statusCode: 409,
    });
    expect(stack.proxies.blob.forwarded).toBeGreaterThan(0);
  });

  it("a large document (a manifest over 8 MB, made chunk by chunk as text) is written once in blocks, with the MD5 of the whole", async () => {
    const { DocumentStore } = await import("../../../src/storage/documentStore.js");
    const store = new DocumentStore(container);
    const line = (i: number) => `${i > 0 ? "," : ""}{"name":"s${i}","note":"ü ${"x".repeat(180)}"}`;
    const doc = {
      *chunks() {
        yield "[";
        for (let i = 0; i < 45_000; i += 100)
          yield Array.from({ length: 100 }, (_, k) => line(i + k)).join("");
        yield "]\n";
      },
    };
    const whole = Buffer.from([...doc.chunks()].join(""));
    expect(whole.length).toBeGreaterThan(8 * 1024 * 1024);
    const path = "daily/demo-vault/large/manifest.json";
    expect(await store.create(path, doc)).toBe(true);
    const props = await container.getBlobClient(path).getProperties();
    expect(props.contentLength).toBe(whole.length);
    expect(Buffer.from(props.contentMD5 as Uint8Array)).toEqual(createHash("md5").update(whole).digest());
    const back = await store.read(path);
    expect(Buffer.compare(Buffer.from(back?.bytes ?? []), whole)).toBe(0);
    // Once only: a second create of the same path does not replace it.
    expect(await store.create(path, { chunks: () => ["{}"] })).toBe(false);
    expect((await container.getBlobClient(path).getProperties()).contentLength).toBe(whole.length);
  }, 60_000);

  it("queues and tables answer to the same identity", async () => {
    const queues = new QueueServiceClient(
      stack.env.BACKUP_STORAGE__queueServiceUri as string,
      appCredential(),
    );
    const q = queues.getQueueClient("backup-jobs");
    await q.createIfNotExists();
    await q.sendMessage(Buffer.from(JSON.stringify({ vault: "demo-vault" })).toString("base64"));
    const got = await q.receiveMessages();
    expect(got.receivedMessageItems).toHaveLength(1);
    const table = new TableClient(
      stack.env.BACKUP_STORAGE__tableServiceUri as string,
      "backupinventory",
      appCredential(),
    );
    await table.createTable();
    await table.createEntity({ partitionKey: "demo-vault", rowKey: "1", status: "running" });
    expect((await table.getEntity("demo-vault", "1")).status).toBe("running");
  });
});

describe("storage fault rules answer like Azure", () => {
  it.each([
    ["AuthorizationFailure", "403-AuthorizationFailure-firewall.xml"],
    ["AuthorizationPermissionMismatch", "403-AuthorizationPermissionMismatch-rbac.xml"],
    ["KeyBasedAuthenticationNotPermitted", "403-KeyBasedAuthenticationNotPermitted.xml"],
  ] as const)("%s matches the reference body byte for byte (ids aside)", async (fault, file) => {
    const reference = readReference("storage", file);
    const ours = storageError(fault).body;
    expect(ours.length).toBe(reference.length);
    expect(mask(ours)).toBe(mask(reference));
    expect(ours.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it("a firewall rule on one path prefix makes the SDK see 403 AuthorizationFailure there only", async () => {
    stack.proxies.blob.addRule({
      pathPrefix: "/keyvault-backups/daily/",
      operation: "PutBlob",
      fault: "AuthorizationFailure",
    });
    const blocked = container.getBlockBlobClient("daily/demo-vault/blocked.kvbak");
    const err = (await blocked.uploadData(Buffer.from("x")).catch((e: unknown) => e)) as {
      statusCode: number;
      code: string;
      response?: { headers: { get(n: string): string | undefined } };
    };
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("AuthorizationFailure");
    expect(err.response?.headers.get("server")).toBe("Microsoft-HTTPAPI/2.0");
    await container.getBlockBlobClient("manual/demo-vault/ok.kvbak").uploadData(Buffer.from("x"));
  });

  it("RBAC mismatch and shared-key-disabled rules", async () => {
    stack.proxies.blob.addRule({ operation: "GetBlob", fault: "AuthorizationPermissionMismatch", times: 1 });
    const blob = container.getBlockBlobClient("manual/demo-vault/read.kvbak");
    await blob.uploadData(Buffer.from("y"));
    await expect(blob.downloadToBuffer()).rejects.toMatchObject({
      statusCode: 403,
      code: "AuthorizationPermissionMismatch",
    });
    expect(await blob.downloadToBuffer()).toEqual(Buffer.from("y"));

    stack.proxies.blob.addRule({ auth: "sharedKey", fault: "KeyBasedAuthenticationNotPermitted" });
    const keyBased = BlobServiceClient.fromConnectionString(
      stack.env.STACK_STORAGE_CONNECTION_STRING as string,
    );
    await expect(keyBased.getContainerClient("keyvault-backups").getProperties()).rejects.toMatchObject({
      statusCode: 403,
      code: "KeyBasedAuthenticationNotPermitted",
    });
    expect((await container.getProperties()).etag).toBeDefined();
  });

  it("503 ServerBusy is retried by the SDK; latency is added", async () => {
    stack.proxies.blob.addRule({ operation: "PutBlob", fault: "ServerBusy", times: 2 });
    const client = new BlobServiceClient(blobUri(), appCredential(), {
      retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 5 },
    });
    await client
      .getContainerClient("keyvault-backups")
      .getBlockBlobClient("manual/busy.kvbak")
      .uploadData(Buffer.from("z"));
    expect(stack.proxies.blob.listRules()[0]?.hits).toBe(2);
    stack.proxies.blob.clearRules();
    stack.proxies.blob.addRule({ operation: "GetBlobProperties", latencyMs: 80 });
    const t0 = performance.now();
    await container.getBlockBlobClient("manual/busy.kvbak").getProperties();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
  });
});
