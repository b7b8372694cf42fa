import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RunCompletedEvent } from "../../src/telemetry/instruments.js";
import { BackupOperatorRole, RestoreOperatorRole } from "../stack/keyvault/roles.js";

/** The ARM JSON the official Bicep compiler makes of infra/ (npm run infra:check), asserted on. */
type Json = Record<string, unknown>;
const root = join(import.meta.dirname, "..", "..");
let main: Json;

const resourcesOf = (template: Json): Json[] => {
  const r = template.resources as Json[] | Record<string, Json>;
  return Array.isArray(r) ? r : Object.values(r);
};
const moduleTemplate = (name: string): Json => {
  const d = resourcesOf(main).find((r) => r.type === "Microsoft.Resources/deployments" && r.name === name);
  if (!d) throw new Error(`no module ${name}`);
  return (d.properties as Json).template as Json;
};
const ofType = (template: Json, type: string): Json[] => resourcesOf(template).filter((r) => r.type === type);
const props = (r: Json | undefined): Json => (r?.properties ?? {}) as Json;
/** Follows "[variables('x')]" to the variable's value. */
const resolve = (template: Json, value: unknown): unknown => {
  const m = typeof value === "string" ? value.match(/^\[variables\('([^']+)'\)\]$/) : null;
  return m ? (template.variables as Json)[m[1] as string] : value;
};
const defaultOf = (template: Json, param: string): unknown =>
  ((template.parameters as Json)[param] as Json).defaultValue;

/** Newest change under infra/, so a stale build is rebuilt. */
const newestInfraChange = (dir = join(root, "infra")): number =>
  Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestInfraChange(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );

beforeAll(() => {
  const built = join(root, ".local", "infra", "main.json");
  if (!existsSync(built) || statSync(built).mtimeMs < newestInfraChange()) {
    execFileSync("bash", [join(root, "infra", "check.sh")], { stdio: "inherit" });
  }
  main = JSON.parse(readFileSync(built, "utf8")) as Json;
}, 300_000);

describe("the compiled infra", () => {
  it("backup storage: deny by default, no bypass, shared key off, TLS 1.2, no public blobs, GZRS", () => {
    const t = moduleTemplate("kvbackup-backup-storage");
    const account = props(ofType(t, "Microsoft.Storage/storageAccounts")[0]);
    expect(account.allowSharedKeyAccess).toBe(false);
    expect(account.allowBlobPublicAccess).toBe(false);
    expect(account.minimumTlsVersion).toBe("TLS1_2");
    const acls = account.networkAcls as Json;
    expect(acls.defaultAction).toBe("Deny");
    expect(acls.bypass).toBe("[parameters('bypass')]");
    expect(defaultOf(main, "storageBypass")).toBe("None");
    expect(defaultOf(main, "storageSku")).toBe("Standard_GZRS");
    expect(JSON.stringify(acls.virtualNetworkRules)).toContain("functionSubnetId");
    const blob = props(ofType(t, "Microsoft.Storage/storageAccounts/blobServices")[0]);
    expect(blob.isVersioningEnabled).toBe(true);
    expect((blob.deleteRetentionPolicy as Json).enabled).toBe(true);
    expect((blob.containerDeleteRetentionPolicy as Json).enabled).toBe(true);
  });

  it("the custom backup role has exactly list + backup, and nothing in the infra grants getSecret", () => {
    const t = moduleTemplate("kvbackup-roles");
    const defs = ofType(t, "Microsoft.Authorization/roleDefinitions");
    const backup = defs.find((d) => props(d).roleName === "Key Vault Backup Operator");
    const permissions = (props(backup).permissions as Json[])[0] as Json;
    expect(resolve(t, permissions.dataActions)).toEqual([
      "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
      "Microsoft.KeyVault/vaults/secrets/backup/action",
      "Microsoft.KeyVault/vaults/keys/read",
      "Microsoft.KeyVault/vaults/keys/backup/action",
      "Microsoft.KeyVault/vaults/certificates/read",
      "Microsoft.KeyVault/vaults/certificates/backup/action",
    ]);
    expect(permissions.actions).toEqual([]);
    // The very roles the emulator grants the app identity in every integration test.
    expect([...BackupOperatorRole.dataActions]).toEqual(resolve(t, permissions.dataActions));
    const restore = defs.find((d) => props(d).roleName === "Key Vault Restore Operator");
    expect([...RestoreOperatorRole.dataActions]).toEqual(
      resolve(t, ((props(restore).permissions as Json[])[0] as Json).dataActions),
    );
    expect(
      JSON.stringify(resolve(t, ((props(restore).permissions as Json[])[0] as Json).dataActions)),
    ).not.toContain("getSecret");
    expect(JSON.stringify(main)).not.toMatch(/getSecret|\/secrets\/\*/);
  });

  it("storage data roles are scoped to the container, the queues and the table, never the account", () => {
    const t = moduleTemplate("kvbackup-backup-storage");
    const assignments = ofType(t, "Microsoft.Authorization/roleAssignments");
    expect(((t.variables as Json).roles as Json).blobDataContributor).toBe(
      "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    );
    const blobRole = assignments.find((a) => JSON.stringify(a).includes("blobDataContributor"));
    expect(String(blobRole?.scope)).toContain("blobServices/containers");
    for (const a of assignments) expect(String(a.scope)).toMatch(/containers|queues|tables/);
  });

  it("lifecycle deletes daily/ after 30 days, weekly/ and manual/ after 90, previous versions after their own age", () => {
    expect(defaultOf(main, "dailyRetentionDays")).toBe(30);
    expect(defaultOf(main, "weeklyRetentionDays")).toBe(90);
    expect(defaultOf(main, "manualRetentionDays")).toBe(90);
    expect(defaultOf(main, "previousVersionRetentionDays")).toBe(30);
    const t = moduleTemplate("kvbackup-backup-storage");
    const policy = JSON.stringify(ofType(t, "Microsoft.Storage/storageAccounts/managementPolicies")[0]);
    for (const tier of ["daily", "weekly", "manual"]) expect(policy).toContain(`'${tier}'`);
    expect(policy).toContain("daysAfterModificationGreaterThan");
    expect(policy).toContain("daysAfterCreationGreaterThan");
    expect(((t.parameters as Json).immutabilityDays as Json).maxValue).toBe(29);
  });

  it("the alerts query the event the code emits: failed/partial runs and no success in 26 h", () => {
    expect((main.variables as Json).runCompletedEvent).toBe(RunCompletedEvent);
    expect(defaultOf(main, "deadManHours")).toBe(26);
    const t = moduleTemplate("kvbackup-monitoring");
    const rules = ofType(t, "Microsoft.Insights/scheduledQueryRules");
    expect(rules).toHaveLength(2);
    const queries = JSON.stringify((t.variables as Json) ?? {});
    expect(queries).toContain("customEvents | where name == ");
    expect(queries).toContain("runCompletedEvent");
    expect(queries).toMatch(/status in \(\\"failed\\", \\"partial\\"\)/);
    expect(props(ofType(t, "Microsoft.Insights/components")[0]).DisableLocalAuth).toBe(true);
  });

  it("the Function App: Flex Consumption, VNet integration on a delegated subnet, all traffic through it, identity-based host storage", () => {
    const net = moduleTemplate("kvbackup-network");
    expect(JSON.stringify(net)).toContain("Microsoft.App/environments");
    const t = moduleTemplate("kvbackup-app");
    expect(props(ofType(t, "Microsoft.Web/serverfarms")[0]).reserved).toBe(true);
    expect(JSON.stringify(ofType(t, "Microsoft.Web/serverfarms")[0])).toContain("FC1");
    const site = props(ofType(t, "Microsoft.Web/sites")[0]);
    expect(site.vnetRouteAllEnabled).toBe(true);
    expect(String(site.virtualNetworkSubnetId)).toContain("functionSubnetId");
    expect(((site.functionAppConfig as Json).runtime as Json).name).toBe("node");
    expect(JSON.stringify(t)).toContain("AzureWebJobsStorage__accountName");
    expect(JSON.stringify(t)).toContain("3913510d-42f4-4e42-8a64-420c390055eb");
    const appModule = resourcesOf(main).find((r) => r.name === "kvbackup-app");
    const settings = JSON.stringify(((props(appModule).parameters as Json).settings as Json).value);
    for (const key of [
      "BACKUP_VAULTS",
      "BACKUP_STORAGE__blobServiceUri",
      "BACKUP_STORAGE__queueServiceUri",
      "BACKUP_STORAGE__tableServiceUri",
      "BACKUP_CONTAINER",
      "BACKUP_INVENTORY_TABLE",
      "BACKUP_SCHEDULE",
      "BACKUP_RATE_PER_10S",
      "RESTORE_REQUIRE_ROLE",
    ]) {
      expect(settings).toContain(key);
    }
  });
});
