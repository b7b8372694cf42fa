import { describe, expect, it } from "vitest";
import { diagnose } from "../../src/diagnosis/diagnose.js";
import { toAzureFailure } from "../../src/domain/azureFailure.js";
import { readReference, readReferenceJson } from "../reference.js";

/** Issue 20: a diagnosis names the vault that failed and the role its use needs. */

interface RefError {
  id: string;
  status: number;
  body_template?: { error: { code: string; message: string; innererror?: { code: string } } };
}
const rbacBody = readReferenceJson<{ errors: RefError[] }>(
  "keyvault",
  "errors",
  "keyvault-error-bodies.json",
).errors.find((e) => e.id === "403-rbac")?.body_template as NonNullable<RefError["body_template"]>;
/** The real ForbiddenByRbac body, with the action a listing of secrets needs. */
const listRefused = {
  ...toAzureFailure(
    { statusCode: 403, code: rbacBody.error.code, message: rbacBody.error.message },
    "keyvault",
    rbacBody.error.innererror?.code,
  ),
  message: rbacBody.error.message.replace(
    /Action: '[^']+'/,
    "Action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'",
  ),
  operation: "list" as const,
  resource: "restore-kv",
};

describe("who a diagnosis is about", () => {
  it("the vault that did not answer is the one the adapter called, whatever vault the caller had in mind (a drill's source)", () => {
    const down = {
      service: "keyvault" as const,
      message: "connect ECONNREFUSED",
      networkCode: "ECONNREFUSED",
      resource: "demo-vault",
    };
    const d = diagnose(down, { vault: "drill-vault" });
    expect(d.code).toBe("KeyVaultUnreachable");
    expect(d.cause).toContain("'demo-vault'");
    expect(d.cause).not.toContain("drill-vault");
  });

  it("a listing refused on a restore target names the restore role; on a backup vault the backup role; on the scratch vault the drill role", () => {
    expect(diagnose(listRefused, { vault: "restore-kv", purpose: "restore" }).fix).toContain(
      '"Key Vault Restore Operator (<deployment>)"',
    );
    expect(diagnose(listRefused, { vault: "restore-kv", purpose: "backup" }).fix).toContain(
      '"Key Vault Backup Operator (<deployment>)"',
    );
    expect(diagnose(listRefused, { vault: "restore-kv", purpose: "drill" }).fix).toContain(
      '"Key Vault Restore Drill Operator (<deployment>)"',
    );
  });

  it("a storage RBAC refusal names the data role of what was refused: container, queue or table, scoped to it", () => {
    const xml = readReference("storage", "403-AuthorizationPermissionMismatch-rbac.xml").toString("utf8");
    const code = /<Code>([^<]+)<\/Code>/.exec(xml)?.[1] as string;
    const refused = (kind: "container" | "queue" | "table", name: string) =>
      diagnose(
        {
          service: "storage",
          status: 403,
          code,
          message: "refused",
          store: { kind, name },
          resource: `${kind} '${name}'`,
        },
        { container: "keyvault-backups", storageAuth: "identity" },
      );
    const table = refused("table", "backupinventory");
    expect(table.code).toBe("StorageRbac");
    expect(table.fix).toMatch(/^Assign "Storage Table Data Contributor"/);
    expect(table.fix).toContain("--scope <account-id>/tableServices/default/tables/backupinventory");
    expect(table.fix).not.toMatch(/--role "Storage Blob Data Contributor"/);
    const queue = refused("queue", "backup-jobs");
    expect(queue.fix).toMatch(/^Assign "Storage Queue Data Contributor"/);
    expect(queue.fix).toContain("queueServices/default/queues/backup-jobs");
    const container = refused("container", "keyvault-backups");
    expect(container.fix).toMatch(/^Assign "Storage Blob Data Contributor"/);
    expect(container.fix).toContain("blobServices/default/containers/keyvault-backups");
  });
});
