import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import { CopyWriterRole } from "../../../src/domain/permissions.js";
import { EntraTenant } from "../../stack/identity/entra.js";
import type { Stack } from "../../stack/stack.js";
import { appFor, cliJob, startTestStack } from "../helpers.js";

/*
 * The isolated copy in another tenant: the app signs in there as a multi-tenant app registration
 * whose federated identity credential trusts the app's managed identity (its token is the client
 * assertion); the copy's role model knows only that registration's service principal. Through the
 * real ClientAssertionCredential (MSAL) against a local Entra tenant, and the real storage SDK.
 */
let stack: Stack;
let entra: EntraTenant;
let env: Record<string, string>;
const savedAuthority = process.env.AZURE_AUTHORITY_HOST;

beforeAll(async () => {
  stack = await startTestStack();
  entra = new EntraTenant({ cert: stack.tls.certPem, key: stack.tls.keyPem }, () => [
    stack.identity.signer.publicKey,
  ]);
  await entra.start();
  // ClientAssertionCredential reads the authority host from the environment (sovereign clouds do the same).
  process.env.AZURE_AUTHORITY_HOST = entra.url;
});

afterAll(async () => {
  if (savedAuthority === undefined) delete process.env.AZURE_AUTHORITY_HOST;
  else process.env.AZURE_AUTHORITY_HOST = savedAuthority;
  await entra?.stop();
  stack.copy.reset();
  await stack?.stop();
});

/** The copy's tenant knows the registration, not the app's managed identity. */
function crossTenant(subject = stack.identities.app.principalId) {
  const registration = entra.addApp({
    issuer: `https://sts.windows.net/${stack.identity.tenantId}/`,
    subject,
  });
  stack.copy.roles.clear();
  stack.copy.roles.set(registration.principalId, [...CopyWriterRole.dataActions]);
  env = {
    ...stack.copy.env,
    BACKUP_COPY_TENANT_ID: entra.tenantId,
    BACKUP_COPY_CLIENT_ID: registration.clientId,
  };
  return registration;
}

describe("the isolated copy in another tenant", () => {
  it("is copied as the app registration the managed identity is federated with, and verified", async () => {
    crossTenant();
    const before = entra.tokensIssued;
    const r = await runBackup(appFor(env), cliJob());
    expect(r.status).toBe("succeeded");
    expect(r.copy?.runs[0]).toMatchObject({ runId: r.runId, status: "copied" });
    expect(entra.tokensIssued).toBeGreaterThan(before);
  });

  it("without the tenant settings the managed identity itself is refused there, and the run says so", async () => {
    crossTenant();
    const { BACKUP_COPY_TENANT_ID: _t, BACKUP_COPY_CLIENT_ID: _c, ...sameTenant } = env;
    const r = await runBackup(appFor(sameTenant), cliJob());
    expect(r.status).toBe("succeeded");
    expect(r.copy?.runs[0]).toMatchObject({ status: "failed", diagnosis: { code: "CopyNotAllowed" } });
  });

  it("a federated credential that trusts another identity: no token, the copy fails naming the sign-in, the run stands", async () => {
    crossTenant(stack.identities.none.principalId);
    const r = await runBackup(appFor(env), cliJob());
    expect(r.status).toBe("succeeded");
    const copy = r.copy?.runs[0];
    expect(copy?.status).toBe("failed");
    expect(copy?.diagnosis?.code).toBe("CopySignInRefused");
    expect(copy?.diagnosis?.cause).toMatch(/app registration .* in the copy's tenant .*AADSTS700213/);
  });

  it("a bad pair of tenant settings is refused at start, naming both", () => {
    expect(() => appFor({ ...stack.copy.env, BACKUP_COPY_TENANT_ID: entra.tenantId })).toThrow(
      /BACKUP_COPY_TENANT_ID, BACKUP_COPY_CLIENT_ID: a copy in another tenant needs both/,
    );
    expect(() => appFor({ BACKUP_COPY_TENANT_ID: "not-a-guid" })).toThrow(/the copy's tenant id \(a GUID\)/);
  });
});
