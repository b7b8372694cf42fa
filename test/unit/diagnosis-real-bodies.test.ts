import { describe, expect, it } from "vitest";
import { diagnose } from "../../src/diagnosis/diagnose.js";
import { toAzureFailure } from "../../src/domain/azureFailure.js";
import {
  expectedCode,
  keyVaultBodies,
  storageAuthOf,
  storageBodies,
  storageCode,
  storageDetail,
} from "../fixtures/errors/expected.js";

describe("every real Key Vault error body is named, with its fix", () => {
  it.each(keyVaultBodies().map((b) => [b.id, b] as const))("%s", (_id, b) => {
    const { error } = b.body as NonNullable<typeof b.body>;
    const d = diagnose(
      toAzureFailure(
        { statusCode: b.status, code: error.code, message: error.message },
        "keyvault",
        error.innererror?.code,
      ),
      {
        vault: "contoso-kv",
      },
    );
    expect(d.code).toBe(expectedCode(b));
    expect(d.fix.length).toBeGreaterThan(30);
  });

  it.each(
    keyVaultBodies()
      .filter((b) => b.status === 403 && b.body?.error.innererror && b.family !== "kv-403-object-state")
      .map((b) => [b.id, b] as const),
  )(
    "%s without its inner code (an SDK that drops it) is named the same from the documented message",
    (_id, b) => {
      const { error } = b.body as NonNullable<typeof b.body>;
      const d = diagnose(
        toAzureFailure({ statusCode: 403, code: error.code, message: error.message }, "keyvault"),
        { vault: "contoso-kv" },
      );
      expect(d.code).toBe(expectedCode(b));
    },
  );
});

describe("every real Storage error body is named, with its fix", () => {
  it.each(storageBodies().map((b) => [b.id, b] as const))("%s", (_id, b) => {
    const failure = toAzureFailure({ statusCode: b.status, code: storageCode(b), message: "x" }, "storage");
    const detail = storageDetail(b);
    if (detail) failure.detail = detail;
    const d = diagnose(failure, { container: "keyvault-backups", storageAuth: storageAuthOf(b) });
    expect(d.code).toBe(expectedCode(b));
    expect(d.fix.length).toBeGreaterThan(30);
  });

  it("the documented SAS codes with no real capture: source IP and protocol", () => {
    const f = (code: string) =>
      diagnose({ service: "storage", status: 403, code, message: "x" }, { storageAuth: "sas" }).code;
    expect(f("AuthorizationSourceIPMismatch")).toBe("StorageSasSourceIp");
    expect(f("AuthorizationProtocolMismatch")).toBe("StorageSasPermission");
  });
});
