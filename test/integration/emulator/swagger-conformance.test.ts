import { CertificateClient, DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { Ajv, type ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReferenceJson } from "../../reference.js";
import { Operations } from "../../stack/keyvault/operations.js";
import type { ResponseEvent } from "../../stack/keyvault/server.js";
import type { Stack } from "../../stack/stack.js";
import { identityCredential, kvOptions, rawCall, startTestStack } from "../helpers.js";

interface Swagger {
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, { schema?: { $ref: string } }> }>
  >;
  definitions: Record<string, Record<string, unknown>>;
}

/**
 * Fields the real service sends that the 2025-07-01 swagger does not declare (seen in the
 * recordings in shared/reference): nextLink is null on the last page, a certificate bundle
 * carries `pending`, and x509_props carries `basic_constraints`.
 */
const RealServiceExtras: Record<string, Record<string, unknown>> = {
  CertificateBundle: {
    pending: { type: "object", properties: { id: { type: "string" } }, additionalProperties: false },
  },
  DeletedCertificateBundle: {
    pending: { type: "object", properties: { id: { type: "string" } }, additionalProperties: false },
  },
  X509CertificateProperties: {
    basic_constraints: {
      type: "object",
      properties: { ca: { type: "boolean" } },
      additionalProperties: false,
    },
  },
};

/** Strict copy of the swagger: no undeclared properties anywhere. */
function strict(doc: Swagger): Swagger {
  const definitions: Swagger["definitions"] = {};
  for (const [name, def] of Object.entries(doc.definitions)) {
    const copy = structuredClone(def) as {
      properties?: Record<string, Record<string, unknown>>;
      additionalProperties?: unknown;
    };
    if (copy.properties) {
      if (copy.properties.nextLink) copy.properties.nextLink = { type: ["string", "null"] };
      Object.assign(copy.properties, RealServiceExtras[name]);
      if (copy.additionalProperties === undefined) copy.additionalProperties = false;
    }
    definitions[name] = copy;
  }
  return { ...doc, definitions };
}

const validators = new Map<string, ValidateFunction>();
let stack: Stack;
const events: ResponseEvent[] = [];

beforeAll(async () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of ["unixtime", "base64url", "int32", "int64", "uri", "date-time", "byte", "uuid"])
    ajv.addFormat(f, true);
  for (const file of ["secrets", "keys", "certificates"]) {
    const doc = strict(readReferenceJson<Swagger>("keyvault", "swagger", "2025-07-01", `${file}.json`));
    ajv.addSchema({ definitions: doc.definitions }, file);
    for (const methods of Object.values(doc.paths)) {
      for (const op of Object.values(methods)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (!res.schema) continue;
          validators.set(`${op.operationId} ${status}`, ajv.compile({ $ref: `${file}${res.schema.$ref}` }));
        }
      }
    }
  }
  stack = await startTestStack();
  stack.emulator.observe((e) => events.push(e));
});
afterAll(async () => {
  await stack?.stop();
});

describe("every emulator answer matches the 2025-07-01 swagger", () => {
  it("runs every operation through the SDKs and validates each JSON body", async () => {
    const cred = identityCredential(stack.identities.admin.clientId);
    const url = stack.vaults.demo.url;
    const s = new SecretClient(url, cred, kvOptions);
    const k = new KeyClient(url, cred, kvOptions);
    const c = new CertificateClient(url, cred, kvOptions);
    const other = stack.vaults.restore.url;

    const sv = await s.setSecret("sw-secret", "v", { contentType: "text/plain", tags: { a: "b" } });
    await s.getSecret("sw-secret");
    await s.updateSecretProperties("sw-secret", sv.properties.version as string, { enabled: false });
    for await (const _ of s.listPropertiesOfSecrets()) void _;
    for await (const _ of s.listPropertiesOfSecretVersions("sw-secret")) void _;
    const sb = (await s.backupSecret("sw-secret")) as Uint8Array;
    await (await s.beginDeleteSecret("sw-secret")).pollUntilDone();
    await s.getDeletedSecret("sw-secret");
    for await (const _ of s.listDeletedSecrets()) void _;
    await (await s.beginRecoverDeletedSecret("sw-secret")).pollUntilDone();
    await (await s.beginDeleteSecret("sw-secret")).pollUntilDone();
    await s.purgeDeletedSecret("sw-secret");
    await s.restoreSecretBackup(sb);
    await s.getSecret("does-not-exist").catch(() => undefined);

    const kv = await k.createRsaKey("sw-key", { tags: { t: "1" } });
    await k.createEcKey("sw-ec", { curve: "P-256" });
    await k.getKey("sw-key");
    await k.updateKeyProperties("sw-key", kv.properties.version as string, {
      enabled: true,
      tags: { t: "2" },
    });
    for await (const _ of k.listPropertiesOfKeys()) void _;
    for await (const _ of k.listPropertiesOfKeyVersions("sw-key")) void _;
    const kb = (await k.backupKey("sw-key")) as Uint8Array;
    await (await k.beginDeleteKey("sw-key")).pollUntilDone();
    await k.getDeletedKey("sw-key");
    for await (const _ of k.listDeletedKeys()) void _;
    await (await k.beginRecoverDeletedKey("sw-key")).pollUntilDone();
    await (await k.beginDeleteKey("sw-key")).pollUntilDone();
    await k.purgeDeletedKey("sw-key");
    await k.restoreKeyBackup(kb);
    await k.backupKey("www-contoso-com").catch(() => undefined);

    await (
      await c.beginCreateCertificate(
        "sw-cert",
        { ...DefaultCertificatePolicy, subject: "CN=sw" },
        { tags: { x: "y" } },
      )
    ).pollUntilDone();
    await c.getCertificate("sw-cert");
    await c.getCertificateVersion(
      "sw-cert",
      (await c.getCertificate("sw-cert")).properties.version as string,
    );
    await c.getCertificatePolicy("sw-cert");
    await c.updateCertificatePolicy("sw-cert", { ...DefaultCertificatePolicy, subject: "CN=sw2" });
    await c.updateCertificateProperties("sw-cert", "", { tags: { x: "z" } });
    await c.getCertificateOperation("sw-cert");
    await c.deleteCertificateOperation("sw-cert");
    for await (const _ of c.listPropertiesOfCertificates({ includePending: true })) void _;
    for await (const _ of c.listPropertiesOfCertificateVersions("sw-cert")) void _;
    const cb = (await c.backupCertificate("sw-cert")) as Uint8Array;
    await (await c.beginDeleteCertificate("sw-cert")).pollUntilDone();
    await c.getDeletedCertificate("sw-cert");
    for await (const _ of c.listDeletedCertificates()) void _;
    await (await c.beginRecoverDeletedCertificate("sw-cert")).pollUntilDone();
    await new CertificateClient(other, cred, kvOptions).restoreCertificateBackup(cb);
    await (await c.beginDeleteCertificate("sw-cert")).pollUntilDone();
    await c.purgeDeletedCertificate("sw-cert");
    const token = stack.identity.mint(stack.identities.admin, "https://vault.azure.net");
    await rawCall(`${url}/certificates/sw-pending/create?api-version=2025-07-01`, {
      method: "POST",
      token,
      body: { policy: { x509_props: { subject: "CN=p" } } },
    });
    await rawCall(`${url}/certificates/sw-pending/pending?api-version=2025-07-01`, {
      method: "PATCH",
      token,
      body: { cancellation_requested: true },
    });

    const failures: string[] = [];
    const validated = new Set<string>();
    for (const e of events) {
      if (e.body === undefined) continue;
      const key = e.status >= 400 ? `${e.operation} default` : `${e.operation} ${e.status}`;
      const validate = validators.get(key);
      if (!validate) {
        failures.push(`no swagger schema for ${key}`);
        continue;
      }
      if (!validate(e.body))
        failures.push(
          `${key}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(e.body).slice(0, 300)}`,
        );
      validated.add(e.operation);
    }
    expect(failures).toEqual([]);
    const withBody = Object.keys(Operations).filter((op) => !op.startsWith("Purge"));
    expect(withBody.filter((op) => !validated.has(op))).toEqual([]);
  });
});
