import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BackupOperatorRole,
  DiscoveryReaderRole,
  DrillOperatorRole,
  RestoreOperatorRole,
  StorageRoles,
  VaultGrants,
} from "../../src/domain/permissions.js";
import { VaultStatusFields } from "../../src/domain/vaultStatus.js";
import { RunCompletedEvent, StatusEvent } from "../../src/telemetry/instruments.js";

/**
 * The ARM JSON the official Bicep compiler makes of infra/ (npm run infra:check), asserted on:
 * main.json as compiled, and "snapshots" of it: `bicep snapshot` evaluates the compiled template
 * with a parameter set (test/infra/params/*.bicepparam, fake tenant and subscriptions) the way ARM
 * would, nested deployments expanded, so every resource a deployment would create can be checked
 * with those parameters applied. Values only known at deploy time stay ARM expressions there
 * (e.g. "[reference('.../sites/func-…', '2025-03-01', 'full').identity.principalId]").
 */
type Json = Record<string, unknown>;
const root = join(import.meta.dirname, "..", "..");
const built = join(root, ".local", "infra");
const paramSets = join(root, "test", "infra", "params");
let main: Json;

const resourcesOf = (template: Json): Json[] => {
  const r = template.resources as Json[] | Record<string, Json>;
  return Array.isArray(r) ? r : Object.values(r);
};
/** A module's deployment in main.json: by its name, or by the literal start of a computed name. */
const moduleTemplate = (name: string): Json => {
  const d = resourcesOf(main).find(
    (r) =>
      r.type === "Microsoft.Resources/deployments" &&
      (r.name === name || String(r.name).startsWith(`[format('${name}-`)),
  );
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

/** Newest change under infra/ and the test parameter sets, so a stale build is rebuilt. */
const newestChange = (dir: string): number =>
  Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestChange(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
const paramSetNames = () => readdirSync(paramSets).filter((f) => f.endsWith(".bicepparam"));
const artifacts = () => [
  "main.json",
  "main.snapshot.json",
  ...paramSetNames().map((f) =>
    f.endsWith(".fails.bicepparam")
      ? f.replace(".fails.bicepparam", ".error.txt")
      : f.replace(".bicepparam", ".snapshot.json"),
  ),
];

beforeAll(() => {
  const newest = Math.max(newestChange(join(root, "infra")), newestChange(paramSets));
  const stale = artifacts().some(
    (a) => !existsSync(join(built, a)) || statSync(join(built, a)).mtimeMs < newest,
  );
  if (stale) execFileSync("bash", [join(root, "infra", "check.sh")], { stdio: "inherit" });
  main = JSON.parse(readFileSync(join(built, "main.json"), "utf8")) as Json;
}, 300_000);

// ---- snapshots -------------------------------------------------------------------------------

interface Snapshot {
  predictedResources: Json[];
  outputs: Json;
}
const snapshots = new Map<string, Snapshot>();
const snapshot = (name: string): Snapshot => {
  let s = snapshots.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(join(built, `${name}.snapshot.json`), "utf8")) as Snapshot;
    snapshots.set(name, s);
  }
  return s;
};
const failure = (name: string) => readFileSync(join(built, `${name}.error.txt`), "utf8");
const predicted = (name: string, type: string) =>
  snapshot(name).predictedResources.filter((r) => r.type === type);
const one = (name: string, type: string): Json => {
  const rs = predicted(name, type);
  expect(rs, `${name}: one ${type}`).toHaveLength(1);
  return rs[0] as Json;
};
const site = (name: string) => one(name, "Microsoft.Web/sites");
const appSettings = (name: string): Record<string, string> =>
  Object.fromEntries(
    ((props(site(name)).siteConfig as Json).appSettings as { name: string; value: string }[]).map((s) => [
      s.name,
      s.value,
    ]),
  );
const backupAccount = (name: string) =>
  predicted(name, "Microsoft.Storage/storageAccounts").find((a) =>
    String(a.name).startsWith("stkvb"),
  ) as Json;

// The deployment's (fake) subscription and the others the parameter sets use.
const sub = (c: string) => `00000000-0000-0000-0000-00000000000${c}`;

/** Who a role assignment is for: the site's system-assigned identity, the user-assigned one, or a literal id. */
const principalOf = (principalId: string): string => {
  if (/Microsoft\.Web\/sites\/[^']+', '[^']+', 'full'\)\.identity\.principalId/.test(principalId))
    return "system";
  if (/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^']+', '[^']+'\)\.principalId/.test(principalId))
    return "user";
  return principalId;
};
/** The scope a role assignment applies to, from its id (a path, or an ARM expression when the name is not known yet). */
const scopeOf = (id: string): string => {
  const ext = id.match(/^\[extensionResourceId\('([^']+)', 'Microsoft\.Authorization\/roleAssignments'/);
  if (ext) return ext[1] as string;
  const subscriptionScope = id.match(
    /^\[subscriptionResourceId\('([^']+)', 'Microsoft\.Authorization\/roleAssignments'/,
  );
  if (subscriptionScope) return `/subscriptions/${subscriptionScope[1]}`;
  const at = id.indexOf("/providers/Microsoft.Authorization/roleAssignments/");
  if (at < 0) throw new Error(`not a role assignment id: ${id}`);
  return id.slice(0, at);
};
interface Assignment {
  scope: string;
  principal: string;
  principalType: string;
  /** The role definition GUID. */
  role: string;
  /** The subscription the roleDefinitionId names. */
  roleSubscription: string | undefined;
}
const assignments = (name: string): Assignment[] =>
  predicted(name, "Microsoft.Authorization/roleAssignments").map((a) => {
    const p = props(a);
    const roleId = String(p.roleDefinitionId);
    return {
      scope: scopeOf(String(a.id)),
      principal: principalOf(String(p.principalId)),
      principalType: String(p.principalType),
      role: roleId.split("/").pop() as string,
      roleSubscription: roleId.match(/^\/subscriptions\/([^/]+)\//)?.[1],
    };
  });
const roleDefinitions = (name: string) =>
  predicted(name, "Microsoft.Authorization/roleDefinitions").map((d) => {
    const p = props(d);
    const perms = (p.permissions as Json[])[0] as Json;
    return {
      guid: String(d.name),
      roleName: String(p.roleName),
      assignableScopes: p.assignableScopes as string[],
      actions: perms.actions as string[],
      dataActions: perms.dataActions as string[],
    };
  });
const roleGuid = (name: string, roleName: string): string => {
  const d = roleDefinitions(name).find((r) => r.roleName.startsWith(`${roleName} (`));
  if (!d) throw new Error(`${name}: no role ${roleName}`);
  return d.guid;
};
const vaultScope = (subscription: string, rg: string, vault: string) =>
  `/subscriptions/${subscription}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${vault}`;
const builtIn = {
  blobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  blobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  queueDataContributor: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  tableDataContributor: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  metricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
};
const operator = "99999999-8888-7777-6666-555555555555";

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
    const named = (role: string) =>
      defs.find((d) => JSON.stringify(props(d).roleName).includes(`names').${role}`));
    expect((t.variables as Json).names).toMatchObject({
      backup: `[format('${BackupOperatorRole.name} ({0})', parameters('roleNameSuffix'))]`,
      restore: `[format('${RestoreOperatorRole.name} ({0})', parameters('roleNameSuffix'))]`,
    });
    const backup = named("backup");
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
    const restore = named("restore");
    expect([...RestoreOperatorRole.dataActions]).toEqual(
      resolve(t, ((props(restore).permissions as Json[])[0] as Json).dataActions),
    );
    expect(
      JSON.stringify(resolve(t, ((props(restore).permissions as Json[])[0] as Json).dataActions)),
    ).not.toContain("getSecret");
    // The drill role the stack's scratch vaults grant is the infra's.
    expect([...DrillOperatorRole.dataActions]).toEqual(
      resolve(t, ((props(named("drill")).permissions as Json[])[0] as Json).dataActions),
    );
    expect(JSON.stringify(main)).not.toMatch(/getSecret|\/secrets\/\*/);
    for (const name of ["system", "user", "norestore", "main"]) {
      for (const d of roleDefinitions(name)) {
        expect(d.dataActions.join(" ")).not.toMatch(/getSecret|\*/);
        expect(d.actions.join(" ")).not.toContain("*");
      }
    }
  });

  it("storage data roles are scoped to the container, the queues and the table, never the account", () => {
    const t = moduleTemplate("kvbackup-backup-storage");
    const assignments = ofType(t, "Microsoft.Authorization/roleAssignments");
    expect(((t.variables as Json).roles as Json).blobDataContributor).toBe(builtIn.blobDataContributor);
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
    const tiers = (t.variables as Json).tiers as Json[];
    expect(tiers.map((x) => x.name)).toEqual(["daily", "weekly", "manual"]);
    expect(policy).toContain("variables('tiers')");
    expect(policy).toContain("daysAfterModificationGreaterThan");
    expect(policy).toContain("daysAfterCreationGreaterThan");
    expect(((t.parameters as Json).immutabilityDays as Json).maxValue).toBe(29);
  });

  it("the alerts query the events the code emits: failed/partial/abandoned runs; the hourly status for no success in 26 h and silence", () => {
    expect((main.variables as Json).runCompletedEvent).toBe(RunCompletedEvent);
    expect((main.variables as Json).statusEvent).toBe(StatusEvent);
    expect(defaultOf(main, "deadManHours")).toBe(26);
    const t = moduleTemplate("kvbackup-monitoring");
    const rules = ofType(t, "Microsoft.Insights/scheduledQueryRules");
    // the fifth: continuous protection's events alert (test/infra/events.test.ts); the sixth and
    // seventh: the isolated copy's (test/infra/copy.test.ts)
    expect(rules).toHaveLength(7);
    const queries = JSON.stringify((t.variables as Json) ?? {});
    expect(queries).toContain("customEvents | where name == ");
    expect(queries).toContain("runCompletedEvent");
    expect(queries).toMatch(/status in \(\\"failed\\", \\"partial\\", \\"abandoned\\"\)/);
    expect(props(ofType(t, "Microsoft.Insights/components")[0]).DisableLocalAuth).toBe(true);
  });

  it("no alert asks Azure Monitor for more than a log search alert allows (2 days), and none holds a vault list", () => {
    // Log search alert rules: windowSize up to two days, and the query time range (windowSize x
    // evaluation periods, or overrideQueryTimeRange) within it too.
    const days = (iso: unknown): number => {
      const m = String(iso).match(/^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/);
      if (!m) throw new Error(`not an ISO 8601 duration: ${iso}`);
      return Number(m[1] ?? 0) + Number(m[2] ?? 0) / 24 + Number(m[3] ?? 0) / 1440;
    };
    for (const set of ["system", "user", "hsm", "norestore"]) {
      const rules = predicted(set, "Microsoft.Insights/scheduledQueryRules");
      expect(rules.length, set).toBeGreaterThanOrEqual(3);
      const names = [
        ...new Set(Object.values(appSettings(set)).flatMap((v) => String(v).split(/[,=]/))),
      ].filter(
        (v) =>
          /^[a-z][a-z0-9-]{2,23}$/.test(v) &&
          !["true", "false", "managedidentity", "secrets", "keys", "certificates", "sunday"].includes(v),
      );
      for (const r of rules) {
        const p = props(r);
        const condition = ((p.criteria as Json).allOf as Json[])[0] ?? {};
        const periods = Number(
          (condition.failingPeriods as Json | undefined)?.numberOfEvaluationPeriods ?? 1,
        );
        expect(days(p.windowSize), `${set} ${r.name} windowSize`).toBeLessThanOrEqual(2);
        expect(days(p.windowSize) * periods, `${set} ${r.name} query range`).toBeLessThanOrEqual(2);
        if (p.overrideQueryTimeRange !== undefined)
          expect(days(p.overrideQueryTimeRange), `${set} ${r.name} override`).toBeLessThanOrEqual(2);
        expect(days(p.evaluationFrequency)).toBeLessThanOrEqual(days(p.windowSize));
        const query = String(((p.criteria as Json).allOf as Json[])[0]?.query);
        expect(query, `${set} ${r.name}`).not.toMatch(/dynamic\(\[/);
        for (const n of names) expect(query, `${set} ${r.name} holds '${n}'`).not.toContain(`"${n}"`);
      }
    }
  });

  it("the status alerts read the dimensions the status event carries, compare vault names in lower case, and see discovered vaults (no list)", () => {
    const rules = predicted("system", "Microsoft.Insights/scheduledQueryRules");
    const status = rules.filter((r) =>
      String(((props(r).criteria as Json).allOf as Json[])[0]?.query).includes(StatusEvent),
    );
    expect(status).toHaveLength(3);
    for (const end of ["no-proven-restore", "no-success", "silent"])
      expect(
        status.filter((r) => String(r.name).endsWith(`-${end}`)),
        end,
      ).toHaveLength(1);
    for (const r of status) {
      const query = String(((props(r).criteria as Json).allOf as Json[])[0]?.query);
      const read = [...query.matchAll(/customDimensions\.([A-Za-z]+)/g)].map((m) => m[1]);
      for (const field of read)
        expect(VaultStatusFields as readonly string[], `${r.name} reads ${field}`).toContain(field);
      if (read.includes("vault")) expect(query).toContain("tolower(tostring(customDimensions.vault))");
    }
    const deadMan = status.find((r) => String(r.name).endsWith("no-success")) as Json;
    expect(String(((props(deadMan).criteria as Json).allOf as Json[])[0]?.query)).toContain("ago(26h)");
    const silent = status.find((r) => String(r.name).endsWith("silent")) as Json;
    expect(((props(silent).criteria as Json).allOf as Json[])[0]).toMatchObject({
      operator: "LessThan",
      threshold: 1,
    });
  });

  it("the Function App: Flex Consumption, VNet integration on a delegated subnet, all traffic through it, identity-based host storage", () => {
    const net = moduleTemplate("kvbackup-network");
    expect(JSON.stringify(net)).toContain("Microsoft.App/environments");
    const t = moduleTemplate("kvbackup-app");
    expect(props(ofType(t, "Microsoft.Web/serverfarms")[0]).reserved).toBe(true);
    expect(JSON.stringify(ofType(t, "Microsoft.Web/serverfarms")[0])).toContain("FC1");
    const site = props(ofType(t, "Microsoft.Web/sites")[0]);
    // outboundVnetRouting.applicationTraffic: what API versions before 2024-11-01 called vnetRouteAllEnabled.
    expect(site.outboundVnetRouting).toEqual({ applicationTraffic: true });
    expect(String(site.virtualNetworkSubnetId)).toContain("functionSubnetId");
    expect(((site.functionAppConfig as Json).runtime as Json).name).toBe("node");
    expect(JSON.stringify(t)).toContain("AzureWebJobsStorage__accountName");
    expect(JSON.stringify(t)).toContain(builtIn.metricsPublisher);
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
    for (const key of ["BACKUP_VAULTS", "BACKUP_CONTAINER", "RESTORE_REQUIRE_ROLE"]) {
      expect(appSettings("main")).toHaveProperty(key);
    }
  });

  it("infra/main.bicepparam evaluates to a whole deployment (azd's inputs pinned)", () => {
    const rg = one("main", "Microsoft.Resources/resourceGroups");
    expect(rg.name).toBe("rg-kvbackup");
    expect(predicted("main", "Microsoft.Web/sites/config")).toHaveLength(1);
    expect(snapshot("main").outputs.BACKUP_ROLE_NAME).toBe("Key Vault Backup Operator (kvbackup)");
  });
});

describe("1. runtime", () => {
  it("Flex Consumption runs Node 22", () => {
    const t = moduleTemplate("kvbackup-app");
    const runtime = (props(ofType(t, "Microsoft.Web/sites")[0]).functionAppConfig as Json).runtime;
    expect(runtime).toEqual({ name: "node", version: "22" });
    for (const name of ["main", "system", "user"]) {
      expect((props(site(name)).functionAppConfig as Json).runtime).toEqual({ name: "node", version: "22" });
    }
  });
});

describe("2. identity modes: one identity, every role to it", () => {
  const appRoles = (name: string) => assignments(name).filter((a) => a.principalType === "ServicePrincipal");

  it("system-assigned: the site has only its system identity, and every role goes to it", () => {
    expect(site("system").identity).toEqual({ type: "SystemAssigned" });
    expect(predicted("system", "Microsoft.ManagedIdentity/userAssignedIdentities")).toHaveLength(0);
    const settings = appSettings("system");
    for (const key of ["AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID", "BACKUP_STORAGE__clientId"]) {
      expect(settings).not.toHaveProperty(key);
    }
    expect(settings.AzureWebJobsStorage__credential).toBe("managedidentity");
    const deployment = ((props(site("system")).functionAppConfig as Json).deployment as Json).storage as Json;
    expect(deployment.authentication).toEqual({ type: "SystemAssignedIdentity" });
    const roles = appRoles("system");
    expect(new Set(roles.map((a) => a.principal))).toEqual(new Set(["system"]));
    expect(JSON.stringify(snapshot("system"))).not.toContain("userAssignedIdentities");
    // Host storage (the deployment container included: Blob Data Owner on the account), backup
    // storage, Metrics Publisher and the vaults: all there.
    const host = roles.filter((a) => /storageAccounts\/sthost[^/]*$/.test(a.scope)).map((a) => a.role);
    expect(host.sort()).toEqual(
      [builtIn.blobDataOwner, builtIn.queueDataContributor, builtIn.tableDataContributor].sort(),
    );
    expect(roles.filter((a) => a.scope.includes("/storageAccounts/stkvb"))).toHaveLength(6);
    expect(roles.filter((a) => a.role === builtIn.metricsPublisher)).toHaveLength(1);
    expect(roles.filter((a) => a.scope.includes("Microsoft.KeyVault/vaults/")).length).toBeGreaterThan(0);
  });

  it("user-assigned: the site has only the user-assigned identity (type UserAssigned), and every role goes to it", () => {
    const identity = site("user").identity as Json;
    expect(identity.type).toBe("UserAssigned");
    const ids = Object.keys(identity.userAssignedIdentities as Json);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/id-kvb-ua$/);
    const settings = appSettings("user");
    for (const key of ["AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID", "BACKUP_STORAGE__clientId"]) {
      expect(settings[key]).toMatch(/userAssignedIdentities\/id-kvb-ua', '[^']+'\)\.clientId/);
    }
    expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toContain("ClientId=");
    const deployment = ((props(site("user")).functionAppConfig as Json).deployment as Json).storage as Json;
    expect(deployment.authentication).toEqual({
      type: "UserAssignedIdentity",
      userAssignedIdentityResourceId: ids[0],
    });
    const roles = appRoles("user");
    expect(new Set(roles.map((a) => a.principal))).toEqual(new Set(["user"]));
    // Nothing anywhere refers to a system-assigned principal.
    expect(JSON.stringify(snapshot("user"))).not.toMatch(/'full'\)\.identity\.principalId/);
    const host = roles.filter((a) => /storageAccounts\/sthost[^/]*$/.test(a.scope)).map((a) => a.role);
    expect(host.sort()).toEqual(
      [builtIn.blobDataOwner, builtIn.queueDataContributor, builtIn.tableDataContributor].sort(),
    );
    expect(roles.filter((a) => a.scope.includes("/storageAccounts/stkvb"))).toHaveLength(6);
    expect(roles.filter((a) => a.role === builtIn.metricsPublisher)).toHaveLength(1);
    // backup + restore on two vaults, restore on the target, drill on the drill vault
    expect(roles.filter((a) => a.scope.includes("Microsoft.KeyVault/vaults/"))).toHaveLength(6);
    expect(roles.find((a) => a.scope.endsWith("/kv-drill"))?.role).toBe(
      roleGuid("user", "Key Vault Restore Drill Operator"),
    );
  });
});

describe("3. restore role vs authentication", () => {
  it("restoreApi: appServiceAuth (default) or off", () => {
    const p = (main.parameters as Json).restoreApi as Json;
    expect(p.allowedValues).toEqual(["appServiceAuth", "off"]);
    expect(p.defaultValue).toBe("appServiceAuth");
    expect(String((main.variables as Json).authClientId)).toMatch(
      /fail\('restoreApi is appServiceAuth but restoreAppClientId is empty/,
    );
  });

  it("appServiceAuth without restoreAppClientId fails the deployment, with the fix in the message", () => {
    expect(failure("missing-client-id")).toContain(
      "restoreApi is appServiceAuth but restoreAppClientId is empty: set restoreAppClientId",
    );
  });

  it("appServiceAuth with a client id: App Service authentication validates tokens for it", () => {
    const auth = props(one("system", "Microsoft.Web/sites/config"));
    const aad = (auth.identityProviders as Json).azureActiveDirectory as Json;
    expect((aad.registration as Json).clientId).toBe("11111111-2222-3333-4444-555555555555");
    expect((aad.validation as Json).allowedAudiences).toContain("api://11111111-2222-3333-4444-555555555555");
    expect(appSettings("system").RESTORE_REQUIRE_ROLE).toBe("true");
  });

  it("off: no authentication, role still required, so the app refuses HTTP restores (AuthenticationNotEnabled)", () => {
    expect(predicted("user", "Microsoft.Web/sites/config")).toHaveLength(0);
    expect(appSettings("user").RESTORE_REQUIRE_ROLE).toBe("true");
    // The restore role itself is still there for the CLI and the workers.
    expect(roleDefinitions("user").map((d) => d.roleName)).toContain("Key Vault Restore Operator (kvb-ua)");
  });

  it("the restore role is only assigned when restore is enabled", () => {
    // norestore: restore disabled (no client id needed then), a restore target listed.
    expect(predicted("norestore", "Microsoft.Web/sites/config")).toHaveLength(0);
    expect(roleDefinitions("norestore").map((d) => d.roleName)).toEqual([
      "Key Vault Backup Operator (kvb-nores)",
    ]);
    const vaultRoles = assignments("norestore").filter((a) => a.scope.includes("Microsoft.KeyVault/vaults/"));
    expect(vaultRoles).toEqual([
      expect.objectContaining({
        scope: vaultScope(sub("a"), "rg-secrets", "kv-app-a"),
        role: roleGuid("norestore", "Key Vault Backup Operator"),
      }),
    ]);
    expect(snapshot("norestore").outputs.RESTORE_ROLE_NAME).toBe("");
    // Enabled: backup vaults get backup + restore, restore targets restore only.
    const restore = roleGuid("system", "Key Vault Restore Operator");
    const withRestore = assignments("system").filter((a) => a.principal === "system" && a.role === restore);
    expect(withRestore.map((a) => a.scope).sort()).toEqual(
      [
        vaultScope(sub("a"), "rg-secrets", "kv-app-a"),
        vaultScope(sub("a"), "rg-other-secrets", "kv-app-b"),
        vaultScope(sub("b"), "rg-remote", "kv-remote"),
        vaultScope(sub("c"), "rg-target", "kv-target"),
      ].sort(),
    );
  });
});

describe("4. custom roles per deployment, vaults in other resource groups and subscriptions", () => {
  it("role names and GUIDs carry the deployment, and are outputs", () => {
    const sys = roleDefinitions("system");
    expect(sys.map((d) => d.roleName).sort()).toEqual([
      "Key Vault Backup Operator (kvb-sys)",
      "Key Vault Discovery Reader (kvb-sys)",
      "Key Vault Restore Drill Operator (kvb-sys)",
      "Key Vault Restore Operator (kvb-sys)",
    ]);
    const ua = roleDefinitions("user");
    expect(ua.map((d) => d.roleName).sort()).toEqual([
      "Key Vault Backup Operator (kvb-ua)",
      "Key Vault Restore Drill Operator (kvb-ua)",
      "Key Vault Restore Operator (kvb-ua)",
    ]);
    // Two deployments in one subscription (the snapshots share it): no GUID in common.
    expect(sys.map((d) => d.guid).filter((g) => ua.some((u) => u.guid === g))).toEqual([]);
    expect(snapshot("system").outputs).toMatchObject({
      BACKUP_ROLE_NAME: "Key Vault Backup Operator (kvb-sys)",
      RESTORE_ROLE_NAME: "Key Vault Restore Operator (kvb-sys)",
      DRILL_ROLE_NAME: "Key Vault Restore Drill Operator (kvb-sys)",
      DISCOVERY_ROLE_NAME: "Key Vault Discovery Reader (kvb-sys)",
    });
    expect(defaultOf(main, "roleNameSuffix")).toBe("[parameters('environmentName')]");
  });

  it("assignable scopes: every subscription that holds a vault, restore target, drill vault or is discovered", () => {
    const scopes = ["a", "b", "c", "d", "e"].map((c) => `/subscriptions/${sub(c)}`);
    for (const d of roleDefinitions("system")) expect(d.assignableScopes.sort()).toEqual(scopes);
    for (const d of roleDefinitions("user"))
      expect(d.assignableScopes.sort()).toEqual([scopes[0], scopes[1]]);
  });

  it("each vault's assignments are made in its own subscription and resource group, naming the role there", () => {
    const backup = roleGuid("system", "Key Vault Backup Operator");
    // Per vault (the subscription-wide grants for discovered vaults are section 11's).
    const app = assignments("system").filter(
      (a) => a.principal === "system" && a.role === backup && a.scope.includes("/vaults/"),
    );
    expect(app.map((a) => a.scope).sort()).toEqual(
      [
        vaultScope(sub("a"), "rg-secrets", "kv-app-a"),
        vaultScope(sub("a"), "rg-other-secrets", "kv-app-b"),
        vaultScope(sub("b"), "rg-remote", "kv-remote"),
      ].sort(),
    );
    for (const a of assignments("system").filter((x) => x.scope.includes("Microsoft.KeyVault/vaults/"))) {
      expect(a.roleSubscription).toBe(a.scope.split("/")[2]);
    }
    const deployments = (main.resources as Json).vaultAccess as Json;
    expect(deployments.subscriptionId).toBe("[variables('vaultGrants')[copyIndex()].subscriptionId]");
    expect(deployments.resourceGroup).toBe("[variables('vaultGrants')[copyIndex()].resourceGroup]");
  });
});

describe("5. bring-your-own private DNS zones", () => {
  const zoneIds = (name: string) =>
    predicted(name, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups").map(
      (g) =>
        (((props(g).privateDnsZoneConfigs as Json[])[0] as Json).properties as Json)
          .privateDnsZoneId as string,
    );

  it("given: the private endpoints use them, and the template creates no zone and no link", () => {
    expect(predicted("user", "Microsoft.Network/privateDnsZones")).toHaveLength(0);
    expect(predicted("user", "Microsoft.Network/privateDnsZones/virtualNetworkLinks")).toHaveLength(0);
    const hub = `/subscriptions/${"00000000-0000-0000-0000-0000000000f0"}/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/`;
    expect(zoneIds("user").sort()).toEqual(
      [
        // the backup account's endpoints and the Functions host storage's, one per service each
        `${hub}privatelink.blob.core.windows.net`,
        `${hub}privatelink.queue.core.windows.net`,
        `${hub}privatelink.table.core.windows.net`,
        `${hub}privatelink.blob.core.windows.net`,
        `${hub}privatelink.queue.core.windows.net`,
        `${hub}privatelink.table.core.windows.net`,
        // one per vault private endpoint
        `${hub}privatelink.vaultcore.azure.net`,
        `${hub}privatelink.vaultcore.azure.net`,
        `${hub}privatelink.vaultcore.azure.net`,
        `${hub}privatelink.vaultcore.azure.net`,
      ].sort(),
    );
    const vaultEndpoints = predicted("user", "Microsoft.Network/privateEndpoints").filter((e) =>
      String(e.name).endsWith("-vault"),
    );
    // user: the vaults' owners approve (manual); accesspolicy: the deployment does (auto), below.
    for (const e of vaultEndpoints) expect(props(e).privateLinkServiceConnections).toEqual([]);
    expect(vaultEndpoints.map((e) => JSON.stringify(props(e).manualPrivateLinkServiceConnections))).toEqual([
      expect.stringContaining(vaultScope(sub("a"), "rg-secrets", "kv-app-a")),
      expect.stringContaining(vaultScope(sub("b"), "rg-remote", "kv-remote")),
      expect.stringContaining(vaultScope(sub("a"), "rg-target", "kv-target")),
      expect.stringContaining(vaultScope(sub("a"), "rg-drill", "kv-drill")),
    ]);
    // Hub DNS: the VNet asks the hub's resolver.
    expect((props(one("user", "Microsoft.Network/virtualNetworks")).dhcpOptions as Json).dnsServers).toEqual([
      "10.0.0.4",
    ]);
  });

  it("not given (privateEndpoint mode): zones created and linked to the VNet, as before", () => {
    const zones = predicted("norestore", "Microsoft.Network/privateDnsZones").map((z) => String(z.name));
    expect(zones).toHaveLength(3);
    for (const s of ["blob", "queue", "table"]) expect(zones.some((z) => z.includes(`'${s}'`))).toBe(true);
    expect(predicted("norestore", "Microsoft.Network/privateDnsZones/virtualNetworkLinks")).toHaveLength(3);
    for (const id of zoneIds("norestore")) {
      expect(id).toMatch(
        /^\[resourceId\('00000000-0000-0000-0000-00000000000a', 'rg-kvb-nores', 'Microsoft\.Network\/privateDnsZones'/,
      );
    }
    // null: the property is left out (Azure-provided DNS).
    expect(props(one("norestore", "Microsoft.Network/virtualNetworks")).dhcpOptions).toBeNull();
    // serviceEndpoint mode: no private endpoints at all.
    expect(predicted("system", "Microsoft.Network/privateEndpoints")).toHaveLength(0);
  });
});

describe("6. delete lock on the backup storage account", () => {
  it("CanNotDelete on the backup account by default; a parameter turns it off", () => {
    expect(defaultOf(main, "backupStorageDeleteLock")).toBe(true);
    for (const name of ["main", "system"]) {
      const lock = one(name, "Microsoft.Authorization/locks");
      expect(props(lock).level).toBe("CanNotDelete");
      expect(String(lock.id)).toBe(
        `${backupAccount(name).id}/providers/Microsoft.Authorization/locks/${lock.name}`,
      );
    }
    expect(predicted("user", "Microsoft.Authorization/locks")).toHaveLength(0);
  });
});

describe("7. lockable version-level immutability", () => {
  it("account-level policy: Unlocked or Locked by parameter, off by default", () => {
    expect(defaultOf(main, "immutabilityLocked")).toBe(false);
    expect(props(backupAccount("system")).immutableStorageWithVersioning).toEqual({
      enabled: true,
      immutabilityPolicy: {
        immutabilityPeriodSinceCreationInDays: 14,
        state: "Locked",
        allowProtectedAppendWrites: false,
      },
    });
    // null: the property is left out (no version-level immutability on the account).
    expect(props(backupAccount("main")).immutableStorageWithVersioning).toBeNull();
    // No container-level policy: only the account-level one has a state a template can set.
    for (const name of ["main", "system", "user"]) {
      expect(
        predicted(name, "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies"),
      ).toHaveLength(0);
    }
  });

  it("locking without a policy fails the deployment", () => {
    expect(failure("lock-without-policy")).toContain("immutabilityLocked needs a policy to lock");
  });
});

describe("7b. Managed HSM full backups (the HSM writes: a resource instance rule per HSM, not the bypass)", () => {
  const hsmContainers = [
    "keyvault-backups-hsm-daily",
    "keyvault-backups-hsm-weekly",
    "keyvault-backups-hsm-manual",
  ];

  it("one resource instance rule per HSM, no blanket bypass, the HSM containers per tier aged with their tier", () => {
    const acls = props(backupAccount("hsm")).networkAcls as Json;
    expect(acls.bypass).toBe("None");
    expect(acls.resourceAccessRules).toEqual([
      {
        tenantId: expect.any(String),
        resourceId: `/subscriptions/${sub("a")}/resourceGroups/rg-hsm/providers/Microsoft.KeyVault/managedHSMs/prod-hsm`,
      },
      {
        tenantId: expect.any(String),
        resourceId: `/subscriptions/${sub("b")}/resourceGroups/rg-dr/providers/Microsoft.KeyVault/managedHSMs/dr-hsm`,
      },
    ]);
    const containers = predicted("hsm", "Microsoft.Storage/storageAccounts/blobServices/containers")
      .map((c) => String(c.name).split("/").pop() as string)
      .filter((c) => c.startsWith("keyvault-backups"));
    expect(containers.sort()).toEqual(["keyvault-backups", ...hsmContainers].sort());
    const policies = predicted("hsm", "Microsoft.Storage/storageAccounts/managementPolicies").filter((p) =>
      String(p.name).includes("stkvb"),
    );
    const rules = ((props(policies[0]).policy as Json).rules as Json[]).map(
      (r) => ((r.definition as Json).filters as Json).prefixMatch,
    );
    expect(rules).toEqual([
      ["keyvault-backups/daily/", "keyvault-backups-hsm-daily/"],
      ["keyvault-backups/weekly/", "keyvault-backups-hsm-weekly/"],
      ["keyvault-backups/manual/", "keyvault-backups-hsm-manual/"],
    ]);
    // Without HSMs: no HSM containers, no rules.
    expect(props(backupAccount("system")).networkAcls).toMatchObject({ resourceAccessRules: [] });
    expect(
      predicted("system", "Microsoft.Storage/storageAccounts/blobServices/containers").map((c) =>
        String(c.name),
      ),
    ).not.toContainEqual(expect.stringContaining("-hsm-"));
  });

  it("each HSM's identity, the app and the operator get Storage Blob Data Contributor on each HSM container, nothing wider", () => {
    // A role assignment's scope is in its id: <scope>/providers/Microsoft.Authorization/roleAssignments/<guid>,
    // or extensionResourceId('<scope>', ...) while its name waits for the app's principal id.
    const on = (c: string) =>
      predicted("hsm", "Microsoft.Authorization/roleAssignments").filter(
        (r) =>
          String(r.id).includes(`/containers/${c}/providers/Microsoft.Authorization/roleAssignments/`) ||
          String(r.id).includes(`/containers/${c}', 'Microsoft.Authorization/roleAssignments'`),
      );
    for (const c of hsmContainers) {
      const grants = on(c);
      const principals = grants.map((r) => String(props(r).principalId));
      expect(principals).toHaveLength(4);
      expect(principals).toContain("12121212-3434-5656-7878-909090909090");
      expect(principals).toContain("21212121-4343-6565-8787-090909090909");
      expect(principals).toContain("99999999-8888-7777-6666-555555555555");
      for (const r of grants)
        expect(String(props(r).roleDefinitionId)).toContain("ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    }
  });

  it("BACKUP_MANAGED_HSMS names each HSM at the cloud's HSM host; the local RBAC role is an output command", () => {
    // The cloud's suffix stays an ARM expression in the snapshot: .vault. becomes .managedhsm.
    const setting = appSettings("hsm").BACKUP_MANAGED_HSMS as string;
    expect(setting).toContain("format('{0}={1}', 'prod-hsm', format('https://{0}{1}', 'prod-hsm'");
    expect(setting).toContain("format('{0}={1}', 'dr-hsm'");
    expect(setting).toContain("replace(environment().suffixes.keyvaultDns, '.vault.', '.managedhsm.')");
    expect(appSettings("system").BACKUP_MANAGED_HSMS).toBeUndefined();
    const commands = JSON.stringify(snapshot("hsm").outputs.HSM_ROLE_COMMANDS);
    expect(commands).toContain("az keyvault role assignment create --hsm-name {0} --role");
    expect(commands).toContain("Managed HSM Backup");
    expect(commands).toContain("--scope /");
    expect(commands).toContain("'prod-hsm'");
    expect(commands).toContain("'dr-hsm'");
  });

  it("HSM backups into an immutable account fail the deployment (the service does not support it)", () => {
    expect(failure("hsm-immutable")).toContain("Managed HSM full backup does not support immutable storage");
  });
});

describe("7c. Restore drills", () => {
  it("with a drill vault: the no-proven-restore alert over the drill event, BACKUP_DRILL_SCHEDULE set; without: neither", () => {
    const alerts = predicted("system", "Microsoft.Insights/scheduledQueryRules");
    const drill = alerts.find((r) => String(r.name).includes("no-proven-restore"));
    expect(drill).toBeDefined();
    const query = JSON.stringify(props(drill).criteria);
    expect(query).toContain(StatusEvent);
    expect(query).toContain('drilled) == \\"true\\"');
    expect(query).toContain("ago(8d)");
    expect(props(drill).overrideQueryTimeRange).toBeUndefined();
    expect(appSettings("system").BACKUP_DRILL_SCHEDULE).toBe("0 0 4 * * 0");
    expect(
      predicted("hsm", "Microsoft.Insights/scheduledQueryRules").map((r) => String(r.name)),
    ).not.toContainEqual(expect.stringContaining("no-proven-restore"));
    expect(appSettings("hsm").BACKUP_DRILL_SCHEDULE).toBeUndefined();
  });
});

describe("8. API versions", () => {
  it("use-recent-api-versions is on (a warning, which infra:check treats as an error)", () => {
    const config = JSON.parse(readFileSync(join(root, "infra", "bicepconfig.json"), "utf8")) as Json;
    const rules = ((config.analyzers as Json).core as Json).rules as Json;
    expect((rules["use-recent-api-versions"] as Json).level).toBe("warning");
    expect(readFileSync(join(root, "infra", "check.sh"), "utf8")).toContain("treated as errors");
  });

  it("the versions the template uses", () => {
    const versions: Record<string, Set<string>> = {};
    const walk = (t: Json) => {
      for (const r of resourcesOf(t)) {
        const type = String(r.type);
        versions[type] = (versions[type] ?? new Set()).add(String(r.apiVersion));
        if (r.type === "Microsoft.Resources/deployments") walk((r.properties as Json).template as Json);
      }
    };
    walk(main);
    const flat = Object.fromEntries(Object.entries(versions).map(([k, v]) => [k, [...v].join(",")]));
    expect(flat).toEqual({
      "Microsoft.Authorization/locks": "2020-05-01",
      "Microsoft.Authorization/policyAssignments": "2026-07-01",
      "Microsoft.Authorization/policyDefinitions": "2026-07-01",
      "Microsoft.Authorization/roleAssignments": "2022-04-01",
      "Microsoft.Authorization/roleDefinitions": "2022-04-01",
      "Microsoft.EventGrid/systemTopics": "2025-02-15",
      "Microsoft.EventGrid/systemTopics/eventSubscriptions": "2025-02-15",
      "Microsoft.Insights/actionGroups": "2023-01-01",
      "Microsoft.Insights/components": "2020-02-02",
      // the newest there is; silenced for that one line (see backupStorage.bicep)
      "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",
      "Microsoft.Insights/scheduledQueryRules": "2026-03-01",
      "Microsoft.KeyVault/vaults": "2025-05-01",
      "Microsoft.KeyVault/vaults/accessPolicies": "2025-05-01",
      "Microsoft.ManagedIdentity/userAssignedIdentities": "2024-11-30",
      "Microsoft.Network/privateDnsZones": "2024-06-01",
      "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "2024-06-01",
      "Microsoft.Network/privateEndpoints": "2025-05-01",
      "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "2025-05-01",
      "Microsoft.Network/virtualNetworks": "2025-05-01",
      "Microsoft.OperationalInsights/workspaces": "2025-07-01",
      "Microsoft.PolicyInsights/remediations": "2024-10-01",
      "Microsoft.Resources/deployments": "2025-04-01",
      "Microsoft.Resources/resourceGroups": "2025-04-01",
      "Microsoft.Storage/storageAccounts": "2025-06-01",
      "Microsoft.Storage/storageAccounts/blobServices": "2025-06-01",
      "Microsoft.Storage/storageAccounts/blobServices/containers": "2025-06-01",
      "Microsoft.Storage/storageAccounts/managementPolicies": "2025-06-01",
      "Microsoft.Storage/storageAccounts/queueServices": "2025-06-01",
      "Microsoft.Storage/storageAccounts/queueServices/queues": "2025-06-01",
      "Microsoft.Storage/storageAccounts/tableServices": "2025-06-01",
      "Microsoft.Storage/storageAccounts/tableServices/tables": "2025-06-01",
      "Microsoft.Web/serverfarms": "2025-03-01",
      "Microsoft.Web/sites": "2025-03-01",
      "Microsoft.Web/sites/config": "2025-03-01",
    });
  });
});

describe("9. roles for discovery and the restore drill", () => {
  it("discovery: a custom role with only Microsoft.KeyVault/vaults/read, on each discovery subscription", () => {
    const role = roleDefinitions("system").find((d) => d.roleName.startsWith("Key Vault Discovery Reader"));
    expect(role?.actions).toEqual(["Microsoft.KeyVault/vaults/read"]);
    expect(role?.dataActions).toEqual([]);
    const onSubscriptions = assignments("system").filter((a) => a.role === role?.guid);
    expect(onSubscriptions.map((a) => [a.scope, a.principal]).sort()).toEqual(
      [
        [`/subscriptions/${sub("b")}`, "system"],
        [`/subscriptions/${sub("e")}`, "system"],
        // The operators' kvbackup discover reads the same subscriptions.
        [`/subscriptions/${sub("b")}`, operator],
        [`/subscriptions/${sub("e")}`, operator],
      ].sort(),
    );
    expect(appSettings("system").BACKUP_SUBSCRIPTIONS).toBe(`${sub("b")},${sub("e")}`);
    expect(appSettings("user")).not.toHaveProperty("BACKUP_SUBSCRIPTIONS");
    expect(roleDefinitions("user").some((d) => d.roleName.includes("Discovery"))).toBe(false);
  });

  it("drill: restore, list, delete, purge and public key material on the drill vault only; never getSecret", () => {
    const role = roleDefinitions("system").find((d) =>
      d.roleName.startsWith("Key Vault Restore Drill Operator"),
    );
    expect(role?.actions).toEqual([]);
    expect(role?.dataActions).toEqual([
      "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
      "Microsoft.KeyVault/vaults/secrets/restore/action",
      "Microsoft.KeyVault/vaults/secrets/delete",
      "Microsoft.KeyVault/vaults/secrets/purge/action",
      "Microsoft.KeyVault/vaults/keys/read",
      "Microsoft.KeyVault/vaults/keys/restore/action",
      "Microsoft.KeyVault/vaults/keys/delete",
      "Microsoft.KeyVault/vaults/keys/purge/action",
      "Microsoft.KeyVault/vaults/certificates/read",
      "Microsoft.KeyVault/vaults/certificates/restore/action",
      "Microsoft.KeyVault/vaults/certificates/delete",
      "Microsoft.KeyVault/vaults/certificates/purge/action",
    ]);
    // The app, and the operators (kvbackup drill runs as them), on the drill vault only.
    expect(assignments("system").filter((a) => a.role === role?.guid)).toEqual([
      expect.objectContaining({ scope: vaultScope(sub("d"), "rg-drill", "kv-drill"), principal: "system" }),
      expect.objectContaining({ scope: vaultScope(sub("d"), "rg-drill", "kv-drill"), principal: operator }),
    ]);
    // The drill vault gets nothing else.
    expect(assignments("system").filter((a) => a.scope.endsWith("/kv-drill"))).toHaveLength(2);
    expect(appSettings("system").BACKUP_DRILL_VAULT).toContain("'kv-drill'");
    expect(appSettings("norestore")).not.toHaveProperty("BACKUP_DRILL_VAULT");
    expect(roleDefinitions("norestore").some((d) => d.roleName.includes("Drill"))).toBe(false);
  });
});

describe("10. the operator principal", () => {
  it("the least roles the kvbackup CLI needs, to the operator group", () => {
    const ops = assignments("system").filter((a) => a.principal === operator);
    for (const a of ops) expect(a.principalType).toBe("Group");
    const storage = ops.filter((a) => a.scope.includes("/storageAccounts/"));
    expect(storage.map((a) => [a.scope.replace(/^.*\/storageAccounts\/[^/]+/, ""), a.role]).sort()).toEqual(
      [
        ["/blobServices/default/containers/keyvault-backups", builtIn.blobDataContributor],
        ["/queueServices/default/queues/backup-jobs", builtIn.queueDataContributor],
        ["/queueServices/default/queues/restore-jobs", builtIn.queueDataContributor],
        ["/tableServices/default/tables/backupinventory", builtIn.tableDataContributor],
      ].sort(),
    );
    const backup = roleGuid("system", "Key Vault Backup Operator");
    const restore = roleGuid("system", "Key Vault Restore Operator");
    const vaults = ops.filter((a) => a.scope.includes("Microsoft.KeyVault/vaults/"));
    expect(vaults.map((a) => [a.scope, a.role]).sort()).toEqual(
      [
        [vaultScope(sub("a"), "rg-secrets", "kv-app-a"), backup],
        [vaultScope(sub("a"), "rg-secrets", "kv-app-a"), restore],
        [vaultScope(sub("a"), "rg-other-secrets", "kv-app-b"), backup],
        [vaultScope(sub("a"), "rg-other-secrets", "kv-app-b"), restore],
        [vaultScope(sub("b"), "rg-remote", "kv-remote"), backup],
        [vaultScope(sub("b"), "rg-remote", "kv-remote"), restore],
        [vaultScope(sub("c"), "rg-target", "kv-target"), restore],
        // kvbackup drill, from an operator's machine, in the scratch vault
        [
          vaultScope(sub("d"), "rg-drill", "kv-drill"),
          roleGuid("system", "Key Vault Restore Drill Operator"),
        ],
      ].sort(),
    );
    // kvbackup discover (and a backup of a discovered vault) from an operator's machine.
    const onSubscriptions = ops.filter((a) => /^\/subscriptions\/[^/]+$/.test(a.scope));
    expect(onSubscriptions.map((a) => [a.scope, a.role]).sort()).toEqual(
      [
        [`/subscriptions/${sub("b")}`, roleGuid("system", "Key Vault Discovery Reader")],
        [`/subscriptions/${sub("b")}`, backup],
        [`/subscriptions/${sub("e")}`, roleGuid("system", "Key Vault Discovery Reader")],
        [`/subscriptions/${sub("e")}`, backup],
      ].sort(),
    );
    expect(ops).toHaveLength(storage.length + vaults.length + onSubscriptions.length);
    // Without an operator, nobody but the app's identity gets anything.
    expect(assignments("user").filter((a) => a.principalType !== "ServicePrincipal")).toEqual([]);
    expect(((main.parameters as Json).operatorPrincipalType as Json).allowedValues).toEqual([
      "Group",
      "User",
    ]);
  });
});

describe("11. docs and the subnet's service endpoints", () => {
  it("serviceEndpoint mode: the Function subnet has both Microsoft.Storage and Microsoft.KeyVault", () => {
    const subnets = props(one("system", "Microsoft.Network/virtualNetworks")).subnets as Json[];
    const fn = props(subnets.find((s) => s.name === "function"));
    expect(fn.serviceEndpoints).toEqual([
      { service: "Microsoft.Storage" },
      { service: "Microsoft.KeyVault" },
    ]);
  });

  it("docs/deploy.md: every --service-endpoints keeps both (the flag replaces the whole list), and the operator's network path commands", () => {
    const doc = readFileSync(join(root, "docs", "deploy.md"), "utf8");
    // Each use with values (the prose mentions the bare flag).
    const uses = [...doc.matchAll(/--service-endpoints +([^\n`]*)/g)].map((m) => m[1] as string);
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) {
      expect(u).toContain("Microsoft.Storage");
      expect(u).toContain("Microsoft.KeyVault");
    }
    for (const command of [
      "az storage account network-rule add",
      "az storage account network-rule remove",
      "az keyvault network-rule add",
      "az keyvault network-rule remove",
    ]) {
      expect(doc).toContain(command);
    }
  });
});

describe("11. fleet settings", () => {
  it("discovered vaults get the backup role on each discovery subscription; the app knows its cloud's ARM, the budget and incremental", () => {
    const backup = roleDefinitions("system").find((d) => d.roleName.startsWith("Key Vault Backup Operator"));
    const onSubscriptions = assignments("system").filter(
      (a) => a.role === backup?.guid && /^\/subscriptions\/[^/]+$/.test(a.scope) && a.principal === "system",
    );
    expect(onSubscriptions.map((a) => a.scope).sort()).toEqual([
      `/subscriptions/${sub("b")}`,
      `/subscriptions/${sub("e")}`,
    ]);
    const settings = appSettings("system");
    // The snapshot keeps ARM's environment() unevaluated: the setting is that cloud's endpoint.
    expect(String(settings.BACKUP_ARM_ENDPOINT)).toContain("environment().resourceManager");
    expect(String(settings.BACKUP_SUBSCRIPTION_RATE_PER_10S)).toBe("10000");
    expect(settings.BACKUP_INCREMENTAL).toBe("true");
  });
});

describe("12. deploy day (issue 21)", () => {
  const policyOf = (set: string, vault: string) =>
    predicted(set, "Microsoft.KeyVault/vaults/accessPolicies").find((r) =>
      String(r.id).includes(`/vaults/${vault}/`),
    );
  const entries = (r: Json | undefined) => (props(r).accessPolicies ?? []) as Json[];

  it("an access-policy vault gets an access policy with exactly the rights of the model's roles (never get), and no role assignment", () => {
    const both = [
      ...new Set([...BackupOperatorRole.accessPolicy.secrets, ...RestoreOperatorRole.accessPolicy.secrets]),
    ];
    const policies = entries(policyOf("accesspolicy", "kv-policies"));
    expect(policies.map((p) => principalOf(String(p.objectId)))).toEqual(["system", operator]);
    for (const p of policies)
      expect(p.permissions).toEqual({ secrets: both, keys: both, certificates: both });
    expect(JSON.stringify(policies)).not.toMatch(/"get"/);
    // A restore target on access policies: list + restore.
    const target = entries(policyOf("accesspolicy", "kv-policies-dr"))[0] as Json;
    expect(target.permissions).toEqual({
      secrets: [...RestoreOperatorRole.accessPolicy.secrets],
      keys: [...RestoreOperatorRole.accessPolicy.keys],
      certificates: [...RestoreOperatorRole.accessPolicy.certificates],
    });
    // The "add" operation merges: the vault's other entries stay.
    expect(String(policyOf("accesspolicy", "kv-policies")?.name)).toMatch(/\/add'?\)?\]?$|\/add$/);
    const onPolicyVaults = assignments("accesspolicy").filter((a) =>
      /\/vaults\/kv-policies(-dr)?$/.test(a.scope),
    );
    expect(onPolicyVaults).toEqual([]);
    // The RBAC vault beside them still gets roles, and no policy.
    expect(assignments("accesspolicy").filter((a) => a.scope.endsWith("/kv-rbac")).length).toBeGreaterThan(0);
    expect(policyOf("accesspolicy", "kv-rbac")).toBeUndefined();
    expect(predicted("system", "Microsoft.KeyVault/vaults/accessPolicies")).toEqual([]);
  });

  it("a drill scratch vault on access policies fails the deployment, with why", () => {
    expect(failure("drill-accesspolicy")).toContain("the restore drill's scratch vault must use RBAC");
  });

  it("vault private endpoints: approved by the deployment (auto), or requests the vault's owner approves (manual)", () => {
    const auto = predicted("accesspolicy", "Microsoft.Network/privateEndpoints").filter((e) =>
      String(e.name).endsWith("-vault"),
    );
    expect(auto.length).toBe(3);
    for (const e of auto) {
      expect((props(e).privateLinkServiceConnections as Json[]).length).toBe(1);
      expect(props(e).manualPrivateLinkServiceConnections).toEqual([]);
    }
    expect(defaultOf(main, "vaultPrivateEndpointApproval")).toBe("auto");
  });

  it("Flex Consumption: host storage and its deployment container before the app, the app's roles on it after", () => {
    // main.json names its resources symbolically (languageVersion 2.0): dependsOn lists those names.
    const dependsOn = (symbol: string) =>
      ((main.resources as Record<string, Json>)[symbol]?.dependsOn ?? []) as string[];
    expect(dependsOn("app")).toContain("hostStorage");
    expect(dependsOn("hostStorage")).not.toContain("app");
    expect(dependsOn("hostStorageAccess")).toContain("app");
    const site = props(one("system", "Microsoft.Web/sites"));
    // The deployment container's URL is the host account's own endpoint (a reference: it exists first).
    expect(JSON.stringify((site.functionAppConfig as Json).deployment)).toMatch(
      /reference\('[^']*\/storageAccounts\/sthost[^']*'.*primaryEndpoints\.blob, 'app-package'/,
    );
    // The host storage module makes no role assignment (its principal does not exist yet).
    expect(
      ofType(moduleTemplate("kvbackup-host-storage"), "Microsoft.Authorization/roleAssignments"),
    ).toEqual([]);
  });

  it("privateEndpoint mode: the Functions host storage is private too, through its own private endpoints", () => {
    for (const set of ["user", "norestore"]) {
      const host = predicted(set, "Microsoft.Storage/storageAccounts").find((a) =>
        String(a.name).includes("sthost"),
      );
      expect(props(host).publicNetworkAccess, set).toBe("Disabled");
      expect((props(host).networkAcls as Json).defaultAction).toBe("Deny");
      const endpoints = predicted(set, "Microsoft.Network/privateEndpoints").filter((e) =>
        String(e.name).includes("sthost"),
      );
      expect(
        endpoints.map(
          (e) =>
            ((props(e).privateLinkServiceConnections as Json[])[0]?.properties as Json | undefined)?.groupIds,
        ),
      ).toEqual([["blob"], ["queue"], ["table"]]);
    }
    const publicHost = predicted("system", "Microsoft.Storage/storageAccounts").find((a) =>
      String(a.name).includes("sthost"),
    );
    expect(props(publicHost).publicNetworkAccess).toBe("Enabled");
    expect(props(publicHost).allowSharedKeyAccess).toBe(false);
  });

  it("the grants follow the permissions model per vault use: listed, restore target, drill, discovered", () => {
    const role = (r: { name: string }) => roleGuid("system", r.name);
    const onVault = (v: string) =>
      assignments("system")
        .filter((a) => a.principal === "system" && a.scope.endsWith(`/${v}`))
        .map((a) => a.role)
        .sort();
    expect(onVault("kv-app-b")).toEqual(VaultGrants.listed.required.map(role).sort());
    expect(onVault("kv-target")).toEqual(VaultGrants.restoreTarget.required.map(role).sort());
    expect(onVault("kv-drill")).toEqual(VaultGrants.drill.required.map(role).sort());
    // Discovered vaults: the required roles on each discovery subscription; the optional ones not at all.
    const onSubscription = assignments("system")
      .filter((a) => a.principal === "system" && a.scope === `/subscriptions/${sub("e")}`)
      .map((a) => a.role);
    for (const r of VaultGrants.discovered.required) expect(onSubscription).toContain(role(r));
    for (const r of VaultGrants.discovered.optional) expect(onSubscription).not.toContain(role(r));
  });
});

describe("13. docs/deploy.md against the template and the permissions model (issue 21)", () => {
  const doc = readFileSync(join(root, "docs", "deploy.md"), "utf8");
  const section = (title: string) => {
    const start = doc.indexOf(`## ${title}`);
    return doc.slice(start, doc.indexOf("\n## ", start + 4));
  };

  it("every parameter of main.bicep is in the parameter table", () => {
    const table = section("Parameters (`infra/main.bicep`)");
    const missing = Object.keys(main.parameters as Json).filter((p) => !table.includes(`\`${p}\``));
    expect(missing).toEqual([]);
  });

  it("the operators' table names every role the infra gives the operators, scoped as the infra scopes it", () => {
    const table = section("Operators");
    for (const role of [BackupOperatorRole, RestoreOperatorRole, DrillOperatorRole, DiscoveryReaderRole])
      expect(table, role.name).toContain(`${role.name} (&lt;env&gt;)`);
    for (const role of Object.values(StorageRoles)) expect(table, role).toContain(role);
    expect(table).toMatch(/Restore Drill Operator \(&lt;env&gt;\) \| the drill vault/);
    expect(table).toMatch(/Discovery Reader \(&lt;env&gt;\) \| each discovery subscription/);
  });

  it("the least-privilege table lists each role's data actions as the model has them", () => {
    const table = section("Least privilege");
    for (const action of BackupOperatorRole.dataActions)
      expect(table).toContain(
        `\`${action.replace("Microsoft.KeyVault/vaults/", "").replace(/\/action$/, "")}\``,
      );
    expect(table).toContain(DiscoveryReaderRole.actions[0]);
  });
});
