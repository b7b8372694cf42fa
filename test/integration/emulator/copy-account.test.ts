import { createHash } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import {
  BlobServiceClient,
  type BlockBlobClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { OpenFirewall } from "../../stack/storage/faultProxy.js";
import { copySourceError, md5Mismatch, storageError } from "../../stack/storage/storageErrors.js";
import { appCredential, identityCredential, rawCall, startTestStack } from "../helpers.js";

let stack: Stack;
let primary: ContainerClient;
/** The copy's container as the app sees it (its managed identity, CopyWriterRole). */
let copy: ContainerClient;
/** The same container as the copy's owners see it (the account key). */
let owner: ContainerClient;
/** Made after the stack's settings are in the environment (DefaultAzureCredential reads them when made). */
let credential: TokenCredential;
const storageToken = async (): Promise<string> =>
  (await credential.getToken("https://storage.azure.com/.default"))?.token ?? "";
let n = 0;
const name = (what: string): string => `daily/demo-vault/${what}-${Date.now()}-${n++}.kvbak`;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  credential = appCredential();
  primary = new BlobServiceClient(
    stack.env.BACKUP_STORAGE__blobServiceUri as string,
    credential,
  ).getContainerClient(stack.env.BACKUP_CONTAINER as string);
  await primary.createIfNotExists();
  const { url, container, account, key } = stack.copy;
  copy = new BlobServiceClient(url, credential).getContainerClient(container);
  owner = new BlobServiceClient(url, new StorageSharedKeyCredential(account, key)).getContainerClient(
    container,
  );
});
afterEach(() => {
  stack.copy.reset();
  Object.assign(stack.network.firewall, OpenFirewall);
});
afterAll(async () => {
  await stack?.stop();
});

/** A blob in the primary account, written by the app as a backup run does. */
async function source(bytes: Buffer, what = "source"): Promise<string> {
  return (await sourceBlob(bytes, what)).url;
}

async function sourceBlob(bytes: Buffer, what = "source"): Promise<BlockBlobClient> {
  const blob = primary.getBlockBlobClient(name(what));
  await blob.uploadData(bytes, { blobHTTPHeaders: { blobContentType: "application/x-kvbackup" } });
  return blob;
}

type Refusal = {
  statusCode?: number;
  code?: string;
  response?: { headers: { get(n: string): string | undefined } };
};
/** The error a call ends with; a download's code is in its x-ms-error-code header (no body is parsed). */
async function refusal(call: Promise<unknown>): Promise<Refusal> {
  const e = (await call.then(
    () => ({}),
    (err: unknown) => err,
  )) as Refusal;
  const code = e.code ?? e.response?.headers.get("x-ms-error-code");
  // RestError's response is not enumerable: named, not spread.
  return {
    ...(e.statusCode ? { statusCode: e.statusCode } : {}),
    ...(code ? { code } : {}),
    ...(e.response ? { response: e.response } : {}),
  };
}

describe("the isolated copy's account: Put Blob From URL", () => {
  it("copies a primary blob server-side: bytes identical, Content-MD5 of the bytes, the source's properties", async () => {
    const bytes = Buffer.from(`backup bytes ${Date.now()}`);
    const md5 = createHash("md5").update(bytes).digest();
    const target = copy.getBlockBlobClient(name("copied"));
    const done = await target.syncUploadFromURL(await source(bytes), {
      sourceAuthorization: { scheme: "Bearer", value: await storageToken() },
      conditions: { ifNoneMatch: "*" },
      sourceContentMD5: md5,
    });
    expect(Buffer.from(done.contentMD5 as Uint8Array)).toEqual(md5);
    expect(done.etag).toBeTruthy();
    expect(done.isServerEncrypted).toBe(true);
    expect(await target.downloadToBuffer()).toEqual(bytes);
    const props = await target.getProperties();
    expect(Buffer.from(props.contentMD5 as Uint8Array)).toEqual(md5);
    expect(props.contentType).toBe("application/x-kvbackup");
  });

  it("the app reads and lists there", async () => {
    const path = name("listed");
    await owner.getBlockBlobClient(path).uploadData(Buffer.from("x"));
    const listed: string[] = [];
    for await (const b of copy.listBlobsFlat({ prefix: path })) listed.push(b.name);
    expect(listed).toEqual([path]);
    expect((await copy.getBlockBlobClient(path).downloadToBuffer()).toString()).toBe("x");
  });

  it("x-ms-source-content-md5 other than the source's: 400 Md5Mismatch, nothing written", async () => {
    const target = copy.getBlockBlobClient(name("md5"));
    const e = await refusal(
      target.syncUploadFromURL(await source(Buffer.from("abc")), {
        sourceAuthorization: { scheme: "Bearer", value: await storageToken() },
        sourceContentMD5: createHash("md5").update("other").digest(),
      }),
    );
    expect([e.statusCode, e.code]).toEqual([400, "Md5Mismatch"]);
    expect(await target.exists()).toBe(false);
  });

  it("without a source authorization, with a bad one, or a missing source: CannotVerifyCopySource with the source's status", async () => {
    const url = await source(Buffer.from("private"));
    const cases = [
      { sourceAuthorization: undefined },
      { sourceAuthorization: { scheme: "Bearer", value: "not-a-token" } },
      { sourceAuthorization: { scheme: "Bearer", value: await storageToken() }, missing: true },
    ];
    for (const c of cases) {
      const from = c.missing ? `${url}-missing` : url;
      const target = copy.getBlockBlobClient(name("unverified"));
      const e = await refusal(
        target.syncUploadFromURL(
          from,
          c.sourceAuthorization ? { sourceAuthorization: c.sourceAuthorization } : {},
        ),
      );
      expect(e.code).toBe("CannotVerifyCopySource");
      expect([401, 403, 404]).toContain(e.statusCode);
      expect(e.response?.headers.get("x-ms-copy-source-status-code")).toBe(String(e.statusCode));
      if (c.missing) expect(e.response?.headers.get("x-ms-copy-source-error-code")).toBe("BlobNotFound");
      expect(await target.exists()).toBe(false);
    }
  });
});

describe("the isolated copy's account: append-only for the app", () => {
  it("the app cannot delete (403, immutability on or off); the owners cannot either while it is on (409)", async () => {
    const path = name("kept");
    await owner.getBlockBlobClient(path).uploadData(Buffer.from("kept"));
    const byApp = await refusal(copy.getBlockBlobClient(path).delete());
    expect([byApp.statusCode, byApp.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    const byKey = await refusal(owner.getBlockBlobClient(path).delete());
    expect([byKey.statusCode, byKey.code]).toEqual([409, "BlobImmutableDueToPolicy"]);
    stack.copy.immutable = false;
    // The role model alone refuses the app.
    const roleOnly = await refusal(copy.getBlockBlobClient(path).delete());
    expect([roleOnly.statusCode, roleOnly.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    await owner.getBlockBlobClient(path).delete();
    expect(await owner.getBlockBlobClient(path).exists()).toBe(false);
  });

  it("the app cannot overwrite: plain upload and Put Blob From URL 403, If-None-Match: * 409 BlobAlreadyExists", async () => {
    const path = name("once");
    const bytes = Buffer.from("first");
    await copy.getBlockBlobClient(path).uploadData(bytes, { conditions: { ifNoneMatch: "*" } });
    const token = await storageToken();
    const from = await source(Buffer.from("second"));
    const plain = await refusal(copy.getBlockBlobClient(path).uploadData(Buffer.from("second")));
    expect([plain.statusCode, plain.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    const fromUrl = await refusal(
      copy
        .getBlockBlobClient(path)
        .syncUploadFromURL(from, { sourceAuthorization: { scheme: "Bearer", value: token } }),
    );
    expect([fromUrl.statusCode, fromUrl.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    for (const call of [
      () =>
        copy.getBlockBlobClient(path).uploadData(Buffer.from("second"), { conditions: { ifNoneMatch: "*" } }),
      () =>
        copy.getBlockBlobClient(path).syncUploadFromURL(from, {
          sourceAuthorization: { scheme: "Bearer", value: token },
          conditions: { ifNoneMatch: "*" },
        }),
    ]) {
      const e = await refusal(call());
      expect([e.statusCode, e.code]).toEqual([409, "BlobAlreadyExists"]);
    }
    const byKey = await refusal(owner.getBlockBlobClient(path).uploadData(Buffer.from("second")));
    expect([byKey.statusCode, byKey.code]).toEqual([409, "BlobImmutableDueToPolicy"]);
    expect(await copy.getBlockBlobClient(path).downloadToBuffer()).toEqual(bytes);
  });

  it("the app can neither make nor delete a container, nor change metadata; a principal without a role entry gets nothing", async () => {
    const service = new BlobServiceClient(stack.copy.url, credential);
    const made = await refusal(service.getContainerClient("not-allowed").create());
    expect([made.statusCode, made.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    const deleted = await refusal(copy.delete());
    expect([deleted.statusCode, deleted.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    const path = name("meta");
    await copy.getBlockBlobClient(path).uploadData(Buffer.from("m"));
    const meta = await refusal(copy.getBlockBlobClient(path).setMetadata({ changed: "yes" }));
    expect([meta.statusCode, meta.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    const none = new BlobServiceClient(
      stack.copy.url,
      identityCredential(stack.env.STACK_NO_ROLES_CLIENT_ID as string),
    ).getContainerClient(stack.copy.container);
    const read = await refusal(none.getBlockBlobClient(path).downloadToBuffer());
    expect([read.statusCode, read.code]).toEqual([403, "AuthorizationPermissionMismatch"]);
    // On the primary, which has no role model, the same identity is not refused by one.
    await primary.getBlockBlobClient(name("primary")).uploadData(Buffer.from("p"));
  });

  it("the primary's proxies do not reach the copy's account (another host in Azure)", async () => {
    const res = await rawCall(
      `${stack.env.BACKUP_STORAGE__blobServiceUri?.replace(/\/devstoreaccount1$/, "")}/${stack.copy.account}/${stack.copy.container}?restype=container`,
      { token: await storageToken() },
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("x-ms-error-code")).toBe("ResourceNotFound");
  });
});

describe("the isolated copy's account: firewalls", () => {
  it("a firewalled primary: the app still reads it, Put Blob From URL fails 403 CannotVerifyCopySource, a streamed copy works", async () => {
    const bytes = Buffer.from(`firewalled ${Date.now()}`);
    const blob = await sourceBlob(bytes);
    const from = blob.url;
    Object.assign(stack.network.firewall, { defaultAction: "Deny", functionSubnet: true });
    const read = await blob.downloadToBuffer();
    expect(read).toEqual(bytes);
    const target = copy.getBlockBlobClient(name("streamed"));
    const e = await refusal(
      target.syncUploadFromURL(from, {
        sourceAuthorization: { scheme: "Bearer", value: await storageToken() },
        conditions: { ifNoneMatch: "*" },
      }),
    );
    expect([e.statusCode, e.code]).toEqual([403, "CannotVerifyCopySource"]);
    expect(e.response?.headers.get("x-ms-copy-source-error-code")).toBe("AuthorizationFailure");
    expect(stack.proxies.blob.refusedBy.get("storage-service")).toBeGreaterThan(0);
    await target.uploadData(read, { conditions: { ifNoneMatch: "*" } });
    expect(await target.downloadToBuffer()).toEqual(bytes);
  });

  it("the copy's own firewall: Deny without the app's endpoint refuses it (AuthorizationFailure), set over the admin API", async () => {
    const path = name("fw");
    await owner.getBlockBlobClient(path).uploadData(Buffer.from("f"));
    const put = (body: object) =>
      rawCall(`${stack.admin.url}/storage/copy/firewall`, { method: "PUT", token: stack.admin.token, body });
    expect((await put({ defaultAction: "Deny", functionSubnet: false })).status).toBe(200);
    const e = await refusal(copy.getBlockBlobClient(path).downloadToBuffer());
    expect([e.statusCode, e.code]).toEqual([403, "AuthorizationFailure"]);
    expect(stack.network.firewall.defaultAction).toBe("Allow");
    expect((await put({ defaultAction: "Deny", functionSubnet: true })).status).toBe(200);
    expect((await copy.getBlockBlobClient(path).downloadToBuffer()).toString()).toBe("f");
  });
});

/** Request ids and times differ per response; everything else must be the capture's bytes. */
const mask = (b: Buffer | string): string =>
  b
    .toString()
    .replace(/^\ufeff/, "")
    .replace(/RequestId:[0-9a-f-]+/, "RequestId:X")
    .replace(/Time:[0-9T:.\-Z]+/, "Time:X");

describe("the copy's answers are Azure's bytes (ids aside)", () => {
  it.each([
    [
      // rclone/rclone#8694: Put Blob From URL from a firewalled source (the terminal wrapped one tag; unwrapped here).
      copySourceError({
        status: 403,
        code: "AuthorizationFailure",
        message: "This request is not authorized to perform this operation.",
      }).body,
      '<?xml version="1.0" encoding="utf-8"?><Error><Code>CannotVerifyCopySource</Code><Message>This request is not authorized to perform this operation.\nRequestId:7d3a2316-101e-001f-4d01-f8c25c000000\nTime:2025-07-18T16:30:41.6137224Z</Message><CopySourceStatusCode>403</CopySourceStatusCode><CopySourceErrorCode>AuthorizationFailure</CopySourceErrorCode><CopySourceErrorMessage>This request is not authorized to perform this operation.</CopySourceErrorMessage></Error>',
    ],
    [
      // Azure/azure-sdk-for-js storage-blob recording of syncUploadFromURL with a wrong MD5 (Content-Length 405).
      md5Mismatch("XUFAKrxLKna5cZ2REBfFkg==", "sQqNsWTgdUEFt6mb5y4/5Q==").body,
      '<?xml version="1.0" encoding="utf-8"?><Error><Code>Md5Mismatch</Code><Message>The MD5 value specified in the request did not match with the MD5 value calculated by the server.\nRequestId:fbc81c52-c01e-0085-66a1-c37820000000\nTime:2020-11-26T03:06:26.4825964Z</Message><UserSpecifiedMd5>XUFAKrxLKna5cZ2REBfFkg==</UserSpecifiedMd5><ServerCalculatedMd5>sQqNsWTgdUEFt6mb5y4/5Q==</ServerCalculatedMd5></Error>',
    ],
    [
      // Azure/azure-sdk-for-js storage-blob recording, Put Blob with If-None-Match: * (Content-Length 220).
      storageError("BlobAlreadyExists").body,
      '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobAlreadyExists</Code><Message>The specified blob already exists.\nRequestId:eed206d9-701e-006b-39c3-2c25fb000000\nTime:2020-05-18T03:22:27.3887334Z</Message></Error>',
    ],
  ])("%#: the capture, with a BOM before it", (ours, capture) => {
    expect(ours.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(ours.length).toBe(3 + Buffer.byteLength(capture));
    expect(mask(ours)).toBe(mask(capture));
  });

  it("a source refusing the token: the Content-Length of azcopy's capture (568), and the headers it names", () => {
    const e = copySourceError({
      status: 401,
      code: "InvalidAuthenticationInfo",
      message:
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
    });
    expect(e.body.length).toBe(568);
    expect([e.status, e.headers["x-ms-error-code"]]).toEqual([401, "CannotVerifyCopySource"]);
    expect(e.headers["x-ms-copy-source-status-code"]).toBe("401");
    expect(e.headers["x-ms-copy-source-error-code"]).toBe("InvalidAuthenticationInfo");
    expect(storageError("BlobImmutableDueToPolicy").status).toBe(409);
  });
});
