import { describe, expect, it } from "vitest";
import { diagnose } from "../../src/diagnosis/diagnose.js";
import { toAzureFailure } from "../../src/domain/azureFailure.js";
import { readReference, readReferenceJson } from "../reference.js";

interface RefError {
  id: string;
  status: number;
  body?: { error: { code: string; message: string; innererror?: { code: string } } };
  body_template?: { error: { code: string; message: string; innererror?: { code: string } } };
}

const kv = readReferenceJson<{ errors: RefError[] }>(
  "keyvault",
  "errors",
  "keyvault-error-bodies.json",
).errors;

/** What a reference body becomes once the adapter has read it. */
const kvFailure = (e: RefError) => {
  const body = (e.body ?? e.body_template) as NonNullable<RefError["body"]>;
  return toAzureFailure(
    { statusCode: e.status, code: body.error.code, message: body.error.message },
    "keyvault",
    body.error.innererror?.code,
  );
};

const expected: Record<string, string> = {
  "401-no-token-current": "KeyVaultAuthentication",
  "401-no-token-2021-02": "KeyVaultAuthentication",
  "403-rbac": "KeyVaultRbac",
  "403-access-policy": "KeyVaultAccessPolicy",
  "403-firewall": "KeyVaultFirewall",
  "403-public-network-disabled": "KeyVaultPublicAccessDisabled",
  "403-key-operation-not-allowed": "KeyVaultAccessPolicy",
  "404-deleted-not-found": "ObjectNotFound",
  "429-throttled": "KeyVaultThrottled",
  "409-restore-name-in-use": "RestoreConflict",
  "409-create-while-soft-deleted": "DeletedButRecoverable",
  "409-create-while-being-deleted": "BeingDeleted",
  "409-set-while-being-recovered": "BeingDeleted",
};

describe("diagnosis of every Key Vault reference body", () => {
  it.each(kv.filter((e) => e.body || e.body_template).map((e) => [e.id, e] as const))("%s", (id, e) => {
    const d = diagnose(kvFailure(e), { vault: "contoso-kv" });
    expect(d.code).toBe(expected[id]);
    expect(d.cause.length).toBeGreaterThan(20);
    expect(d.fix.length).toBeGreaterThan(20);
  });

  it("names the missing RBAC data action and the caller", () => {
    const e = kv.find((x) => x.id === "403-rbac") as RefError;
    const d = diagnose(kvFailure(e), { vault: "contoso-kv" });
    expect(d.cause).toContain("Microsoft.KeyVault/vaults/secrets/getSecret/action");
    expect(d.fix).toContain("Key Vault Backup Operator");
    expect(d.fix).toMatch(/propagat|take up to 10 minutes/);
  });

  it("a certificate's managed key or secret is a skip, not a failure", () => {
    const d = diagnose(
      {
        service: "keyvault",
        status: 403,
        code: "Forbidden",
        innerCode: "SecretManagedByKeyVault",
        message: "x",
      },
      { object: "secret www" },
    );
    expect(d.code).toBe("ManagedByCertificate");
  });

  it("classifies by code, not by message: the same text with another inner code is another diagnosis", () => {
    const firewall = kv.find((x) => x.id === "403-firewall") as RefError;
    const f = kvFailure(firewall);
    expect(diagnose({ ...f, innerCode: "ForbiddenByRbac" }).code).toBe("KeyVaultRbac");
  });
});

describe("restore diagnoses", () => {
  it("a missing restore action names the restore role (with the deployment's suffix), not the backup role", () => {
    const e = kv.find((x) => x.id === "403-rbac") as RefError;
    const f = kvFailure(e);
    const message = f.message.replace(
      /Action: '[^']+'/,
      "Action: 'Microsoft.KeyVault/vaults/secrets/restore/action'",
    );
    const d = diagnose({ ...f, message, operation: "restore" }, { vault: "restore-kv" });
    expect(d.code).toBe("KeyVaultRbac");
    expect(d.fix).toContain('"Key Vault Restore Operator (<deployment>)"');
    expect(diagnose(f, { vault: "contoso-kv" }).fix).toContain("Key Vault Backup Operator (<deployment>)");
  });

  it("a 400 BadParameter on restore says why Key Vault refuses blobs from another security world", () => {
    const d = diagnose(
      {
        service: "keyvault",
        status: 400,
        code: "BadParameter",
        message: "Cannot decrypt backup blob.",
        operation: "restore",
      },
      { vault: "far-kv" },
    );
    expect(d.code).toBe("RestoreRejected");
    expect(d.cause).toContain("same subscription and the same geography");
  });

  it("a 400 outside a restore is a bad request, not a security-world refusal", () => {
    const d = diagnose(
      {
        service: "keyvault",
        status: 400,
        code: "BadParameter",
        message: "Invalid skiptoken",
        operation: "list",
      },
      { vault: "contoso-kv" },
    );
    expect(d.code).toBe("KeyVaultBadRequest");
    expect(d.cause).toContain("Invalid skiptoken");
  });

  it("a 404 on a listing means the URL does not lead to a vault; on an object it is a deletion", () => {
    const base = { service: "keyvault" as const, status: 404, code: "NotFound", message: "Not found" };
    expect(diagnose({ ...base, operation: "list" }, { vault: "contoso-kv" }).code).toBe("KeyVaultNotFound");
    expect(diagnose({ ...base, operation: "backup" }, { vault: "contoso-kv", object: "secret/a" }).code).toBe(
      "ObjectNotFound",
    );
  });

  it("a soft-deleted name says how to recover or purge", () => {
    const e = kv.find((x) => x.id === "409-create-while-soft-deleted") as RefError;
    const d = diagnose(kvFailure(e), { vault: "contoso-kv" });
    expect(d.fix).toContain("recover");
    expect(d.fix).toContain("purge");
  });
});

describe("diagnosis of every storage reference body", () => {
  const storageFailure = (file: string) => {
    const xml = readReference("storage", file).toString("utf8");
    const code = xml.match(/<Code>([^<]+)<\/Code>/)?.[1];
    return toAzureFailure({ statusCode: 403, code, message: xml }, "storage");
  };

  it("firewall: the Function's network path is blocked, and trusted services do not help", () => {
    const d = diagnose(storageFailure("403-AuthorizationFailure-firewall.xml"), {
      container: "keyvault-backups",
    });
    expect(d.code).toBe("StorageFirewall");
    expect(d.cause).toContain("network path");
    expect(d.fix).toContain('"Allow trusted Microsoft services" does NOT help');
    expect(d.fix).toContain("VNet");
  });

  it("RBAC: a role on the container, with the propagation delay", () => {
    const d = diagnose(storageFailure("403-AuthorizationPermissionMismatch-rbac.xml"), {
      container: "keyvault-backups",
    });
    expect(d.code).toBe("StorageRbac");
    expect(d.fix).toContain("Storage Blob Data Contributor");
    expect(d.fix).toContain("containers/keyvault-backups");
  });

  it("shared key disabled: use the identity form", () => {
    const d = diagnose(storageFailure("403-KeyBasedAuthenticationNotPermitted.xml"));
    expect(d.code).toBe("StorageSharedKeyDisabled");
    expect(d.fix).toContain("BACKUP_STORAGE__blobServiceUri");
  });

  it("network errors are unreachable endpoints", () => {
    const d = diagnose(
      toAzureFailure(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "storage"),
    );
    expect(d.code).toBe("StorageUnreachable");
  });
});

describe("storage fixes name the account the settings point at", () => {
  it("from the blob endpoint of an identity setting, or AccountName of a connection string", async () => {
    const { storageContext } = await import("../../src/backup/failures.js");
    const { testConfig } = await import("./fakes/deps.js");
    const firewall = { service: "storage" as const, status: 403, code: "AuthorizationFailure", message: "x" };
    const blobs = { container: "keyvault-backups" } as never;
    const identity = testConfig({
      storage: {
        kind: "identity",
        blobServiceUri: "https://stkvbprod.blob.core.windows.net",
        queueServiceUri: "https://stkvbprod.queue.core.windows.net",
        tableServiceUri: "https://stkvbprod.table.core.windows.net",
      },
    });
    expect(diagnose(firewall, storageContext({ blobs, config: identity })).fix).toContain(
      "--account-name stkvbprod ",
    );
    const keyed = testConfig({
      storage: {
        kind: "connectionString",
        connectionString: "DefaultEndpointsProtocol=https;AccountName=stother;AccountKey=eA==",
      },
    });
    expect(diagnose(firewall, storageContext({ blobs, config: keyed })).fix).toContain(
      "--account-name stother ",
    );
    const local = testConfig({
      storage: {
        kind: "identity",
        blobServiceUri: "https://127.0.0.1:10000/devstoreaccount1",
        queueServiceUri: "https://127.0.0.1:10001/devstoreaccount1",
        tableServiceUri: "https://127.0.0.1:10002/devstoreaccount1",
      },
    });
    expect(diagnose(firewall, storageContext({ blobs, config: local })).fix).toContain(
      "--account-name <account>",
    );
  });
});

describe("Azure Resource Manager (discovery)", () => {
  const sub = "00000000-0000-0000-0000-00000000000b";
  const arm = (status: number | undefined, code?: string, message = "x", networkCode?: string) =>
    diagnose(
      {
        service: "arm",
        ...(status !== undefined ? { status } : {}),
        ...(code ? { code } : {}),
        ...(networkCode ? { networkCode } : {}),
        message,
      },
      { subscription: sub },
    );
  it.each([
    [403, "AuthorizationFailed", "ArmForbidden"],
    [404, "SubscriptionNotFound", "SubscriptionNotFound"],
    [400, "InvalidSubscriptionId", "SubscriptionNotFound"],
    [401, "InvalidAuthenticationTokenAudience", "ArmAuthentication"],
    [429, "TooManyRequests", "ArmUnavailable"],
    [503, "ServiceUnavailable", "ArmUnavailable"],
  ])("%s %s is %s, naming the subscription", (status, code, expected) => {
    const d = arm(status, code);
    expect(d.code).toBe(expected);
    expect(`${d.cause} ${d.fix}`).toContain(
      expected === "ArmAuthentication" ? "BACKUP_ARM_ENDPOINT" : sub.slice(0, 8),
    );
  });
  it("no answer at all is ArmUnavailable with the network path in the fix", () => {
    expect(arm(undefined, undefined, "connect ECONNREFUSED", "ECONNREFUSED")).toMatchObject({
      code: "ArmUnavailable",
      fix: expect.stringContaining("AzureResourceManager"),
    });
  });
});
