import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EventGridDeliveryRoles, StorageRoles } from "../../src/domain/permissions.js";
import {
  appSettings,
  assignments,
  at,
  built,
  type Json,
  loadSnapshots,
  ofType,
  props,
  resources,
} from "./eventsSnapshot.js";

// Continuous protection's infra (issue 23) on the snapshots of test/infra/params/events.bicepparam
// (listed vaults in two subscriptions, one with a topic of its own; a tagged discovery subscription),
// events-off.bicepparam (the same, switched off) and system.bicepparam.
beforeAll(
  () =>
    loadSnapshots(
      ["events", "events-off", "system"],
      ["events.snapshot.json", "events-off.snapshot.json", "events-without-vaults.error.txt"],
    ),
  300_000,
);

const sub = (c: string) => `00000000-0000-0000-0000-00000000000${c}`;
const queue = "keyvault-events";
const deadLetter = "keyvault-events-deadletter";
const eventTypes = [
  "Microsoft.KeyVault.SecretNewVersionCreated",
  "Microsoft.KeyVault.KeyNewVersionCreated",
  "Microsoft.KeyVault.CertificateNewVersionCreated",
];
// Built-in role GUIDs, by the names src/domain/permissions.ts and Event Grid's docs use.
const role: Record<string, string> = {
  [StorageRoles.container]: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  [StorageRoles.queue]: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  "Storage Queue Data Message Sender": "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
};
const blobContributor = role[StorageRoles.container] as string;
// Event Grid's delivery roles, as the permissions model names them (a rename there fails here).
const sender = role[EventGridDeliveryRoles.queue] as string;
const deadLetterRole = role[EventGridDeliveryRoles.deadLetter] as string;
const rbacAdmin = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"; // Role Based Access Control Administrator
const eventGridContributor = "1e241071-0855-49ea-94dc-649edcd759de";

const account = (set: string) =>
  ofType(set, "Microsoft.Storage/storageAccounts").find((a) => String(a.name).startsWith("stkvb")) as Json;
const accountId = (set: string) => String(account(set).id);
const policyRule = () =>
  props(ofType("events", "Microsoft.Authorization/policyDefinitions")[0]).policyRule as Json;
const policyTemplate = () =>
  at(policyRule(), "then", "details", "deployment", "properties", "template") as Json;

describe("continuous protection (issue 23): events in, through the firewall", () => {
  it("the firewall lets trusted Azure services in (Event Grid's delivery) and keeps the bypass that was set", () => {
    const acls = props(account("events")).networkAcls as Json;
    expect(acls.defaultAction).toBe("Deny");
    expect(String(acls.bypass).split(/,\s*/).sort()).toEqual(["AzureServices", "Logging"]);
    expect((props(account("events-off")).networkAcls as Json).bypass).toBe("Logging");
    expect((props(account("system")).networkAcls as Json).bypass).toBe("None");
  });

  it("each listed vault's system topic: system-assigned identity only, on that vault, in its own subscription, resource group and location", () => {
    const topics = ofType("events", "Microsoft.EventGrid/systemTopics");
    expect(topics.map((t) => String(t.id)).sort()).toEqual([
      `/subscriptions/${sub("a")}/resourceGroups/rg-secrets/providers/Microsoft.EventGrid/systemTopics/kvbackup-kv-app-a`,
      `/subscriptions/${sub("b")}/resourceGroups/rg-remote/providers/Microsoft.EventGrid/systemTopics/kvbackup-kv-remote`,
    ]);
    for (const t of topics) {
      expect(t.identity).toEqual({ type: "SystemAssigned" });
      const source = String(props(t).source);
      expect(String(t.id).startsWith(source.slice(0, source.indexOf("/providers/")))).toBe(true);
      expect(props(t).topicType).toBe("Microsoft.KeyVault.vaults");
      expect(String(t.location)).toContain(`reference('${source}'`);
    }
    expect(JSON.stringify(topics)).not.toMatch(/UserAssigned|userAssignedIdentities/);
    // The vault that has a system topic already: the subscription goes on it, no second topic.
    expect(JSON.stringify(topics)).not.toContain("kv-topic");
  });

  it("every subscription — the listed vaults' and the policy's — delivers the three new-version events with the topic's system identity, and dead-letters", () => {
    const listed = ofType("events", "Microsoft.EventGrid/systemTopics/eventSubscriptions");
    expect(listed.map((s) => String(s.name)).sort()).toEqual([
      "kv-topic-events/kvbackup-backup-events",
      "kvbackup-kv-app-a/kvbackup-backup-events",
      "kvbackup-kv-remote/kvbackup-backup-events",
    ]);
    const fromPolicy = (policyTemplate().resources as Json[]).find(
      (r) => r.type === "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    );
    for (const p of [...listed.map(props), props(fromPolicy)]) {
      expect(at(p, "deliveryWithResourceIdentity", "identity")).toEqual({ type: "SystemAssigned" });
      expect(at(p, "deliveryWithResourceIdentity", "destination")).toEqual({
        endpointType: "StorageQueue",
        properties: {
          resourceId: accountId("events"),
          queueName: queue,
          queueMessageTimeToLiveInSeconds: -1,
        },
      });
      expect(at(p, "filter", "includedEventTypes")).toEqual(eventTypes);
      expect(p.eventDeliverySchema).toBe("EventGridSchema");
      expect(p.retryPolicy).toEqual({ maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 });
      expect(at(p, "deadLetterWithResourceIdentity", "identity")).toEqual({ type: "SystemAssigned" });
      expect(at(p, "deadLetterWithResourceIdentity", "deadLetterDestination", "properties")).toEqual({
        resourceId: accountId("events"),
        blobContainerName: deadLetter,
      });
      // No key- or SAS-based delivery beside it.
      expect(p.destination).toBeUndefined();
      expect(p.deadLetterDestination).toBeUndefined();
    }
    const topic = (policyTemplate().resources as Json[]).find(
      (r) => r.type === "Microsoft.EventGrid/systemTopics",
    );
    expect(topic?.identity).toEqual({ type: "SystemAssigned" });
  });

  it("each topic's identity gets Message Sender on the events queue and Blob Data Contributor on the dead-letter container, never the account", () => {
    const byTopics = assignments("events").filter((a) => a.who.startsWith("topic:"));
    const q = `${accountId("events")}/queueServices/default/queues/${queue}`;
    const c = `${accountId("events")}/blobServices/default/containers/${deadLetter}`;
    expect(byTopics.map((a) => [a.who, a.scope, a.role]).sort()).toEqual(
      ["kv-topic-events", "kvbackup-kv-app-a", "kvbackup-kv-remote"]
        .flatMap((t) => [
          [`topic:${t}`, q, sender],
          [`topic:${t}`, c, deadLetterRole],
        ])
        .sort(),
    );
    // The Sender role is nowhere wider than the queue.
    for (const a of assignments("events").filter((x) => x.role === sender)) expect(a.scope).toBe(q);
    // The policy's topics: the same two, on the same two scopes.
    const access = (policyTemplate().resources as Json[]).find(
      (r) => r.type === "Microsoft.Resources/deployments",
    );
    const inner = at(access, "properties", "template", "resources") as Json[];
    const relative = (scope: string) =>
      scope.replace(`${accountId("events").split("/providers/")[0]}/providers/`, "");
    expect(
      inner.map((r) => [r.scope, String(at(r, "properties", "roleDefinitionId")).slice(-39, -3)]),
    ).toEqual([
      [relative(q), sender],
      [relative(c), deadLetterRole],
    ]);
  });

  it("the policy's identity may assign only those two roles, to service principals, on the queue and the container; EventGrid Contributor on its subscription", () => {
    const policy = assignments("events").filter((a) => a.who === "policy");
    const delegations = policy.filter((a) => a.role === rbacAdmin);
    expect(delegations.map((a) => a.scope.replace(accountId("events"), "")).sort()).toEqual([
      `/blobServices/default/containers/${deadLetter}`,
      `/queueServices/default/queues/${queue}`,
    ]);
    // The documented "constrain roles and principal types" condition: a write checked on the
    // request's role and principal type, a delete on the existing assignment's; one role each.
    const only = (g: string) =>
      [
        ["write", "Request"],
        ["delete", "Resource"],
      ]
        .map(
          ([action, source]) =>
            `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/${action}'})) OR (@${source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${g}} AND @${source}[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'ServicePrincipal'}))`,
        )
        .join(" AND ");
    for (const d of delegations) {
      expect(d.condition).toBe(only(d.scope.includes("/queues/") ? sender : deadLetterRole));
      expect(d.conditionVersion).toBe("2.0");
    }
    const deployer = ofType("events", "Microsoft.Authorization/roleDefinitions").find((d) =>
      String(props(d).roleName).startsWith("Key Vault Events Deployer ("),
    );
    const perms = (props(deployer).permissions as Json[])[0] as Json;
    for (const action of perms.actions as string[])
      expect(action).toMatch(/^Microsoft\.Resources\/(deployments|subscriptions\/resourceGroups\/read)/);
    expect(perms.dataActions).toEqual([]);
    expect(policy.map((a) => [a.scope, a.role]).sort()).toEqual(
      [
        [`/subscriptions/${sub("e")}`, eventGridContributor],
        [`/subscriptions/${sub("a")}/resourceGroups/rg-kvb-ev`, String(deployer?.name)],
        ...delegations.map((d) => [d.scope, rbacAdmin]),
      ].sort(),
    );
  });

  it("the policy: every vault with the tag in the discovery subscription, compliant with its own topic on it, existing vaults remediated", () => {
    expect(at(policyRule(), "if", "allOf")).toEqual([
      { field: "type", equals: "Microsoft.KeyVault/vaults" },
      { field: "tags['backup']", equals: "true" },
    ]);
    expect(at(policyRule(), "then", "effect")).toBe("deployIfNotExists");
    expect(at(policyRule(), "then", "details", "type")).toBe("Microsoft.EventGrid/systemTopics");
    expect(at(policyRule(), "then", "details", "existenceCondition", "allOf")).toContainEqual({
      field: "Microsoft.EventGrid/systemTopics/source",
      equals: "[field('id')]",
    });
    const [assignment] = ofType("events", "Microsoft.Authorization/policyAssignments");
    expect(String(assignment?.id)).toMatch(new RegExp(`^/subscriptions/${sub("e")}/`));
    expect(assignment?.identity).toEqual({ type: "SystemAssigned" });
    const [remediation] = ofType("events", "Microsoft.PolicyInsights/remediations");
    expect(props(remediation)).toEqual({
      policyAssignmentId: assignment?.id,
      resourceDiscoveryMode: "ReEvaluateCompliance",
    });
  });

  it("the app reads the queue and the dead letters the infra makes; the app and the operators have their roles there, scoped", () => {
    const settings = appSettings("events");
    expect(settings.BACKUP_EVENTS_QUEUE).toBe(queue);
    expect(settings.BACKUP_EVENTS_DEADLETTER_CONTAINER).toBe(deadLetter);
    const names = (type: string) => ofType("events", type).map((r) => String(r.name).split("/").pop());
    expect(names("Microsoft.Storage/storageAccounts/queueServices/queues")).toEqual(
      expect.arrayContaining([queue, `${queue}-poison`]),
    );
    expect(names("Microsoft.Storage/storageAccounts/blobServices/containers")).toContain(deadLetter);
    // The app on the poison queue too (the Functions host moves failing messages there); not the operators.
    const on = (who: string) =>
      assignments("events")
        .filter((a) => a.who === who && /keyvault-events/.test(a.scope))
        .map((a) => `${a.scope.split("/").pop()} ${a.role}`)
        .sort();
    const [q, c] = [`${queue} ${role[StorageRoles.queue]}`, `${deadLetter} ${blobContributor}`];
    expect(on("app")).toEqual([q, `${queue}-poison ${role[StorageRoles.queue]}`, c].sort());
    expect(on("99999999-8888-7777-6666-555555555555")).toEqual([q, c].sort());
  });

  it("lifecycle: events/ and the dead letters age out with the daily tier", () => {
    const [policy] = ofType("events", "Microsoft.Storage/storageAccounts/managementPolicies");
    const rules = (at(policy, "properties", "policy", "rules") as Json[]).map((r) => [
      r.name,
      at(r, "definition", "filters", "prefixMatch"),
      at(r, "definition", "actions", "baseBlob", "delete", "daysAfterModificationGreaterThan"),
    ]);
    expect(rules).toContainEqual(["delete-events", ["keyvault-backups/events/"], 30]);
    expect(rules).toContainEqual(["delete-dead-letters", [`${deadLetter}/`], 30]);
  });

  it("one alert for events not delivered — failed, refused by the account, dead-lettered — that holds no vault list, within log search limits", () => {
    const alert = ofType("events", "Microsoft.Insights/scheduledQueryRules").find((r) =>
      String(r.name).endsWith("-events-not-delivered"),
    );
    const p = props(alert);
    const query = String(at((at(p, "criteria", "allOf") as Json[])[0], "query"));
    for (const source of ["AegDeliveryFailureLogs", "StorageQueueLogs", "StorageBlobLogs", `"/${queue}/"`])
      expect(query).toContain(source);
    expect(query).toContain(`"/${deadLetter}/"`);
    for (const vault of ["kv-app-a", "kv-remote", "kv-topic"]) expect(query).not.toContain(vault);
    expect(p).toMatchObject({ windowSize: "PT15M", evaluationFrequency: "PT15M", skipQueryValidation: true });
    expect(String((p.scopes as string[])[0])).toContain("Microsoft.OperationalInsights/workspaces");
    // Every listed topic sends its delivery failures there; the queue's requests go there too.
    const settings = ofType("events", "Microsoft.Insights/diagnosticSettings");
    const onTopics = settings.filter((s) => String(s.id).includes("/systemTopics/"));
    expect(onTopics).toHaveLength(3);
    for (const s of onTopics)
      expect(props(s)).toMatchObject({
        logAnalyticsDestinationType: "Dedicated",
        logs: [{ category: "DeliveryFailures", enabled: true }],
      });
    expect(settings.some((s) => String(s.id).includes("/queueServices/default/"))).toBe(true);
  });

  it("continuousProtection off changes nothing: the same parameters without it deploy exactly the rest", () => {
    const off = new Map(resources("events-off").map((r) => [String(r.id), r]));
    const on = new Map(resources("events").map((r) => [String(r.id), r]));
    for (const id of off.keys()) expect(on.has(id), id).toBe(true);
    const changed = [...off]
      .filter(([id, r]) => JSON.stringify(on.get(id)) !== JSON.stringify(r))
      .map(([id]) => id);
    // Only the firewall's bypass, the two app settings and the two lifecycle rules differ.
    expect(changed.map((id) => id.split("/").slice(-2).join("/")).sort()).toEqual(
      [
        `storageAccounts/${account("events").name}`,
        "managementPolicies/default",
        `sites/${ofType("events", "Microsoft.Web/sites")[0]?.name}`,
      ].sort(),
    );
    const strip = (s: Record<string, string>) =>
      Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith("BACKUP_EVENTS_")));
    expect(strip(appSettings("events"))).toEqual(appSettings("events-off"));
    const off_ = JSON.parse(JSON.stringify(account("events-off"))) as Json;
    ((off_.properties as Json).networkAcls as Json).bypass = "Logging, AzureServices";
    expect(account("events")).toEqual(off_);
    for (const set of ["events-off", "system"]) {
      expect(JSON.stringify(resources(set))).not.toMatch(/EventGrid|policyDefinitions|keyvault-events/);
      expect(Object.keys(appSettings(set)).filter((k) => k.startsWith("BACKUP_EVENTS_"))).toEqual([]);
    }
  });

  it("continuousProtection with no vault to take events from (HSMs only) fails the deployment, with why", () => {
    expect(readFileSync(join(built, "events-without-vaults.error.txt"), "utf8")).toContain(
      "continuousProtection needs vaults or discoverySubscriptions",
    );
  });
});
