import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CopyNeverGranted, CopyWriterRole } from "../../src/domain/permissions.js";
import { CopyCompletedEvent } from "../../src/telemetry/instruments.js";
import {
  appSettings,
  assignments,
  at,
  built,
  type Json,
  loadSnapshots,
  ofType,
  props,
} from "./eventsSnapshot.js";

// The isolated copy's infra (issue 24). infra/copy/main.bicep, which the copy's owners deploy in their
// own subscription, on the snapshots of test/infra/params/copy-endpoint.bicepparam (same tenant,
// Private Link), copy-subnet.bicepparam (another tenant, a virtual network rule) and the example
// infra/copy/main.bicepparam (.local/infra/copy.snapshot.json); the app's side on copy-on.bicepparam
// (service endpoints), copy-on-private.bicepparam (a private endpoint to the copy) and the existing
// sets, which must not change.
const copySets = ["copy-endpoint", "copy-subnet", "copy"];
const appSets = ["copy-on", "copy-on-private", "system", "user", "hsm", "norestore", "events", "main"];
beforeAll(
  () =>
    loadSnapshots(
      [...copySets, ...appSets],
      [
        ...[...copySets, ...appSets].map((s) => `${s}.snapshot.json`),
        "copy-short-retention.error.txt",
        "copy-endpoint-without-account.error.txt",
        "copy-tenant-half.error.txt",
      ],
    ),
  600_000,
);

const copyRg = "/subscriptions/00000000-0000-0000-0000-00000000000c/resourceGroups/rg-kvbackup-copy";
const one = (set: string, type: string): Json => {
  const rs = ofType(set, type);
  expect(rs, `${set}: one ${type}`).toHaveLength(1);
  return rs[0] as Json;
};
const account = (set: string) => one(set, "Microsoft.Storage/storageAccounts");
const outputs = (set: string) =>
  (JSON.parse(readFileSync(join(built, `${set}.snapshot.json`), "utf8")) as Json).outputs as Json;
const failure = (name: string) => readFileSync(join(built, `${name}.error.txt`), "utf8");
const rules = (set: string) => ofType(set, "Microsoft.Insights/scheduledQueryRules");
const query = (rule: Json | undefined) => String(at(rule, "properties", "criteria", "allOf", "0", "query"));
const ruleNamed = (set: string, end: string) => rules(set).find((r) => String(r.name).endsWith(end));

describe("infra/copy/main.bicep: the copy account its owners deploy", () => {
  it("no shared key, no public blobs, TLS 1.2, deny by default with no trusted-services bypass", () => {
    for (const set of copySets) {
      const p = props(account(set));
      expect(p.allowSharedKeyAccess, set).toBe(false);
      expect(p.allowBlobPublicAccess, set).toBe(false);
      expect(p.allowCrossTenantReplication, set).toBe(false);
      expect(p.minimumTlsVersion, set).toBe("TLS1_2");
      expect(p.supportsHttpsTrafficOnly, set).toBe(true);
      expect(at(p, "networkAcls", "defaultAction"), set).toBe("Deny");
      expect(at(p, "networkAcls", "bypass"), set).toBe("None");
      expect(at(p, "networkAcls", "ipRules"), set).toEqual([]);
      expect(account(set).kind).toBe("StorageV2");
    }
  });

  it("both network modes: Private Link disables public access; a virtual network rule admits only the app's Function subnet", () => {
    const endpoint = props(account("copy-endpoint"));
    expect(endpoint.publicNetworkAccess).toBe("Disabled");
    expect(at(endpoint, "networkAcls", "virtualNetworkRules")).toEqual([]);
    const subnet = props(account("copy-subnet"));
    expect(subnet.publicNetworkAccess).toBe("Enabled");
    expect(at(subnet, "networkAcls", "virtualNetworkRules")).toEqual([
      {
        id: "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-kvb-sys/providers/Microsoft.Network/virtualNetworks/vnet-kvb-sys/subnets/function",
        action: "Allow",
      },
    ]);
    // The owners approve the app's endpoint in Private Link mode only.
    expect((outputs("copy-endpoint").APPROVE_ENDPOINT_COMMANDS as string[]).join("\n")).toContain(
      "az network private-endpoint-connection approve",
    );
    expect(outputs("copy-subnet").APPROVE_ENDPOINT_COMMANDS).toEqual([]);
  });

  it("copy sources restricted to the tenant (AAD) only when the app is in it: another tenant's source would be refused", () => {
    expect(props(account("copy-endpoint")).allowedCopyScope).toBe("AAD");
    expect(props(account("copy-subnet")).allowedCopyScope).toBeNull();
  });

  it("versioning, blob and container soft delete, change feed by parameter", () => {
    const blob = props(one("copy-endpoint", "Microsoft.Storage/storageAccounts/blobServices"));
    expect(blob.isVersioningEnabled).toBe(true);
    expect(blob.deleteRetentionPolicy).toEqual({ enabled: true, days: 14 });
    expect(blob.containerDeleteRetentionPolicy).toEqual({ enabled: true, days: 14 });
    expect(blob.changeFeed).toEqual({ enabled: false });
    const other = props(one("copy-subnet", "Microsoft.Storage/storageAccounts/blobServices"));
    expect(other.changeFeed).toEqual({ enabled: true });
    expect(other.deleteRetentionPolicy).toEqual({ enabled: true, days: 30 });
  });

  it("the container: version-level immutability, a default time-based policy left Unlocked, no protected append writes", () => {
    const container = one("copy-endpoint", "Microsoft.Storage/storageAccounts/blobServices/containers");
    expect(String(container.name).split("/").pop()).toBe("keyvault-backups");
    expect(props(container)).toEqual({
      publicAccess: "None",
      immutableStorageWithVersioning: { enabled: true },
    });
    const policy = one(
      "copy-endpoint",
      "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
    );
    expect(String(policy.id)).toBe(`${container.id}/immutabilityPolicies/default`);
    // No state: ARM creates it Unlocked; only the lock call (with its etag) locks it.
    expect(props(policy)).toEqual({
      immutabilityPeriodSinceCreationInDays: 30,
      allowProtectedAppendWrites: false,
    });
    expect(
      props(
        one("copy-subnet", "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies"),
      ).immutabilityPeriodSinceCreationInDays,
    ).toBe(60);
    expect(outputs("copy-endpoint").LOCK_IMMUTABILITY_COMMAND).toBe(
      'az storage container immutability-policy lock --resource-group rg-kvbackup-copy --account-name stkvbcopyendpoint --container-name keyvault-backups --if-match "$(az storage container immutability-policy show --resource-group rg-kvbackup-copy --account-name stkvbcopyendpoint --container-name keyvault-backups --query etag --output tsv)"',
    );
  });

  it("lifecycle deletes blobs and versions after the retention, never before the immutability period ends", () => {
    for (const [set, days] of [
      ["copy-endpoint", 90],
      ["copy-subnet", 120],
    ] as const) {
      const [rule] = at(
        one(set, "Microsoft.Storage/storageAccounts/managementPolicies"),
        "properties",
        "policy",
        "rules",
      ) as Json[];
      expect(at(rule, "definition", "filters", "prefixMatch")).toEqual(["keyvault-backups/"]);
      expect(at(rule, "definition", "actions")).toEqual({
        baseBlob: { delete: { daysAfterModificationGreaterThan: days } },
        version: { delete: { daysAfterCreationGreaterThan: days } },
      });
    }
    expect(failure("copy-short-retention")).toContain(
      "retentionDays (20) is shorter than immutabilityDays (30)",
    );
  });

  it("the custom role has exactly CopyWriterRole's data actions, none of CopyNeverGranted, and nothing on the control plane", () => {
    for (const set of copySets) {
      const definition = one(set, "Microsoft.Authorization/roleDefinitions");
      const p = props(definition);
      expect(String(p.roleName)).toMatch(new RegExp(`^${CopyWriterRole.name} \\(.+\\)$`));
      expect(p.assignableScopes).toEqual([copyRg]);
      const [perms] = p.permissions as Json[];
      expect(perms?.dataActions).toEqual([...CopyWriterRole.dataActions]);
      expect(perms?.actions).toEqual([]);
      for (const never of CopyNeverGranted)
        expect(JSON.stringify(ofType(set, "Microsoft.Authorization/roleDefinitions"))).not.toContain(never);
      expect(JSON.stringify(perms)).not.toContain("*");
    }
    expect(props(one("copy-subnet", "Microsoft.Authorization/roleDefinitions")).roleName).toBe(
      `${CopyWriterRole.name} (contoso-copy)`,
    );
  });

  it("one assignment: that role, to the app's principal, on the container only", () => {
    for (const [set, principal] of [
      ["copy-endpoint", "7a7a7a7a-0000-4000-8000-0000000000a1"],
      ["copy-subnet", "7b7b7b7b-0000-4000-8000-0000000000b2"],
    ] as const) {
      const definition = one(set, "Microsoft.Authorization/roleDefinitions");
      const container = one(set, "Microsoft.Storage/storageAccounts/blobServices/containers");
      expect(assignments(set)).toEqual([
        {
          scope: String(container.id),
          who: principal,
          role: String(definition.name),
          condition: undefined,
          conditionVersion: undefined,
        },
      ]);
      const [assignment] = ofType(set, "Microsoft.Authorization/roleAssignments");
      expect(props(assignment).principalType).toBe("ServicePrincipal");
      // The definition's subscription-level id (a role definition is not a resource group's).
      expect(props(assignment).roleDefinitionId).toBe(
        `/subscriptions/00000000-0000-0000-0000-00000000000c/providers/Microsoft.Authorization/roleDefinitions/${definition.name}`,
      );
    }
  });

  it("a CanNotDelete lock on the account", () => {
    for (const set of copySets) {
      const lock = one(set, "Microsoft.Authorization/locks");
      expect(props(lock).level).toBe("CanNotDelete");
      expect(String(lock.id)).toBe(`${account(set).id}/providers/Microsoft.Authorization/locks/${lock.name}`);
    }
  });

  it("the example parameter file deploys as it stands, and the outputs hand the app's side what it needs", () => {
    expect(props(account("copy")).publicNetworkAccess).toBe("Enabled");
    expect(Object.keys(outputs("copy-endpoint")).sort()).toEqual([
      "APPROVE_ENDPOINT_COMMANDS",
      "COPY_ACCOUNT_ID",
      "COPY_BLOB_URI",
      "COPY_CONTAINER",
      "COPY_WRITER_ROLE_NAME",
      "LOCK_IMMUTABILITY_COMMAND",
    ]);
    expect(outputs("copy-endpoint").COPY_ACCOUNT_ID).toBe(String(account("copy-endpoint").id));
  });
});

describe("infra/main.bicep with the isolated copy", () => {
  it("the copy's settings only when copyBlobUri is set; the container defaults to the backup container", () => {
    expect(appSettings("copy-on")).toMatchObject({
      BACKUP_COPY_BLOB_URI: "https://stkvbcopysubnet.blob.core.windows.net",
      BACKUP_COPY_CONTAINER: "kv-copy",
      BACKUP_COPY_MAX_LAG_HOURS: "30",
    });
    expect(appSettings("copy-on-private")).toMatchObject({
      BACKUP_COPY_BLOB_URI: "https://stkvbcopyendpoint.blob.core.windows.net",
      BACKUP_COPY_CONTAINER: "keyvault-backups",
      BACKUP_COPY_MAX_LAG_HOURS: "26",
      BACKUP_COPY_TENANT_ID: "00000000-0000-0000-0000-0000000000cc",
      BACKUP_COPY_CLIENT_ID: "00000000-0000-0000-0000-0000000000c1",
    });
    expect(appSettings("copy-on")).not.toHaveProperty("BACKUP_COPY_TENANT_ID");
    for (const set of ["system", "user", "hsm", "norestore", "events", "main"])
      expect(
        Object.keys(appSettings(set)).filter((k) => k.startsWith("BACKUP_COPY_")),
        set,
      ).toEqual([]);
  });

  it("the copy's owners get the app's principal and tenant as outputs", () => {
    expect(outputs("copy-on").FUNCTION_TENANT_ID).toBe("00000000-0000-0000-0000-0000000000ff");
    expect(String(outputs("copy-on").FUNCTION_PRINCIPAL_ID)).toContain("identity.principalId");
  });

  it("Private Link: a private endpoint to the copy's blob service in the app's VNet, a request its owners approve, in the app's privatelink.blob zone", () => {
    const endpoint = ofType("copy-on-private", "Microsoft.Network/privateEndpoints").find((e) =>
      String(e.name).includes("stkvbcopyendpoint"),
    );
    expect(String(endpoint?.id)).toMatch(
      /^\/subscriptions\/00000000-0000-0000-0000-00000000000a\/resourceGroups\/rg-kvb-copy-pe\//,
    );
    expect(String(at(endpoint, "properties", "subnet", "id"))).toContain("subnets[1].id");
    expect(props(endpoint).privateLinkServiceConnections).toEqual([]);
    const [connection] = props(endpoint).manualPrivateLinkServiceConnections as Json[];
    expect(at(connection, "properties", "privateLinkServiceId")).toBe(
      `${copyRg}/providers/Microsoft.Storage/storageAccounts/stkvbcopyendpoint`,
    );
    expect(at(connection, "properties", "groupIds")).toEqual(["blob"]);
    const zoneGroup = ofType(
      "copy-on-private",
      "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    ).find((g) => String(g.name).startsWith(`${endpoint?.name}/`));
    expect(JSON.stringify(props(zoneGroup))).toContain("privatelink.{0}.{1}', 'blob'");
    expect(outputs("copy-on-private").COPY_PRIVATE_ENDPOINT_ID).toBe(endpoint?.id);
    // Service endpoints: nothing to make here (the copy's virtual network rule admits the subnet).
    expect(ofType("copy-on", "Microsoft.Network/privateEndpoints")).toEqual([]);
    expect(outputs("copy-on").COPY_PRIVATE_ENDPOINT_ID).toBe("");
    expect(failure("copy-endpoint-without-account")).toContain(
      "copyBlobUri with networkMode privateEndpoint needs copyAccountId",
    );
    expect(failure("copy-tenant-half")).toContain("copyTenantId and copyClientId go together");
  });

  it("two alerts with the copy, in the house style: a failed copy in the last hour, and a copy lagging its runs", () => {
    for (const set of ["copy-on", "copy-on-private"]) {
      const failed = ruleNamed(set, "-copy-failed");
      const lagging = ruleNamed(set, "-copy-lagging");
      for (const r of [failed, lagging]) {
        expect(props(r)).toMatchObject({ severity: 2, enabled: true, evaluationFrequency: "PT1H" });
        expect(at(r, "properties", "criteria", "allOf", "0")).toMatchObject({
          timeAggregation: "Count",
          operator: "GreaterThan",
          threshold: 0,
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
        });
        expect(JSON.stringify(at(r, "properties", "actions"))).toContain("actionGroups");
        expect(String((props(r).scopes as string[])[0])).toContain("Microsoft.Insights/components");
      }
      expect(props(failed).windowSize).toBe("PT1H");
      expect(query(failed)).toContain(`customEvents | where name == "${CopyCompletedEvent}"`);
      expect(query(failed)).toContain('where status == "failed"');
      expect(query(failed)).toContain("tolower(tostring(customDimensions.vault))");
    }
    const hours = { "copy-on": 30, "copy-on-private": 26 };
    for (const [set, h] of Object.entries(hours)) {
      const lagging = ruleNamed(set, "-copy-lagging");
      // Log search alerts take only some window sizes (5 min to 6 h, 1 day, 2 days): two days, read for h hours.
      expect(props(lagging).windowSize).toBe("P2D");
      const q = query(lagging);
      expect(q).toContain(`lagSeconds > ${h * 3600}`);
      expect(q).toContain(`timestamp > ago(${h}h)`);
      expect(q).toContain('status in ("copied", "skipped")');
      expect(q).toContain(`where name == "${CopyCompletedEvent}"`);
      expect(q).toContain("status = tostring(customDimensions.status)");
      // A vault with a successful run (the app's run event) and no copied or skipped event in the window.
      expect(q).toContain('where name == "KeyVaultBackupRunCompleted"');
      expect(q).toContain('tostring(customDimensions.status) == "succeeded"');
      expect(q).toContain("join kind=leftanti (accounted) on vault");
    }
    // The dimensions the alerts read are the event's: {runId, vault, status, blobs, bytes, durationMs, lagSeconds, method, code}.
    const fields = new Set([
      "runId",
      "vault",
      "status",
      "blobs",
      "bytes",
      "durationMs",
      "lagSeconds",
      "method",
      "code",
    ]);
    for (const r of [ruleNamed("copy-on", "-copy-failed"), ruleNamed("copy-on", "-copy-lagging")])
      for (const m of query(r).matchAll(/customDimensions\.([A-Za-z]+)/g)) expect(fields).toContain(m[1]);
    // No copy, no copy alert; the other alerts are the same with or without the copy.
    for (const set of ["system", "user", "hsm", "norestore", "events", "main"])
      expect(
        rules(set).filter((r) => String(r.name).includes("-copy-")),
        set,
      ).toEqual([]);
  });
});
