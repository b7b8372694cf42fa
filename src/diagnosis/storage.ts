import { type AzureFailure, type StorageTarget, TlsCodes } from "../domain/azureFailure.js";
import { Queues } from "../domain/config.js";
import type { Diagnosis, DiagnosisContext } from "../domain/diagnosis.js";
import { diagnoseStorageAuth } from "./storageAuth.js";

const firewall = (ctx: DiagnosisContext): Diagnosis => {
  const account = ctx.account ?? "<account>";
  return ctx.caller === "operator"
    ? {
        code: "StorageFirewall",
        cause:
          "The storage account's firewall or private link rejected this machine: the kvbackup CLI runs outside the network path the account admits (the Function's subnet or a private endpoint). This is the network layer, not a missing role.",
        fix: `Run the CLI from a host inside the VNet (a jump host or Bastion, with the privatelink DNS zones linked), or add this machine's public IP for the time of the operation and remove it after: az storage account network-rule add -g <rg> --account-name ${account} --ip-address <your-ip>; az storage account network-rule remove -g <rg> --account-name ${account} --ip-address <your-ip>. See docs/deploy.md (Operators).`,
      }
    : {
        code: "StorageFirewall",
        cause:
          "The storage account's firewall or private link rejected the request: the Function's network path is not allowed (\"Enabled from selected networks\"). This is the network layer, not a missing role.",
        fix: `Integrate the Function App with a VNet and add its subnet as a virtual network rule on the storage account (service endpoint Microsoft.Storage on the subnet), or use a private endpoint. "Allow trusted Microsoft services" does NOT help: the Function, not Key Vault, writes the blobs. E.g. az storage account network-rule add -g <rg> --account-name ${account} --vnet-name <vnet> --subnet <function-subnet>`,
      };
};

function unreachable(f: AzureFailure, ctx: DiagnosisContext): Diagnosis {
  const from = ctx.caller === "operator" ? "this machine" : "the Function's network";
  if ((TlsCodes as readonly string[]).includes(f.networkCode ?? ""))
    return {
      code: "StorageUnreachable",
      cause: `The storage endpoint's TLS certificate was not trusted from ${from} (${f.networkCode}): a TLS-inspecting proxy or firewall is in the path, or the name resolves to another host.`,
      fix: "Exempt *.blob/queue/table.core.windows.net from TLS inspection, or trust the proxy's CA (NODE_EXTRA_CA_CERTS); check that the name resolves to the account (or its private endpoint).",
    };
  return {
    code: "StorageUnreachable",
    cause: `The storage endpoint did not answer (${f.networkCode}): DNS or routing from ${from} does not reach it.`,
    fix: "With private endpoints, check that the caller's VNet is linked to the privatelink.blob/queue/table.core.windows.net DNS zones and that outbound traffic routes through the VNet (vnetRouteAllEnabled on the Function App).",
  };
}

/** The data role each kind of storage resource needs, and where a role assignment on one is scoped. */
const DataRoles: Record<StorageTarget["kind"], { role: string; scope: string }> = {
  container: { role: "Storage Blob Data Contributor", scope: "blobServices/default/containers" },
  queue: { role: "Storage Queue Data Contributor", scope: "queueServices/default/queues" },
  table: { role: "Storage Table Data Contributor", scope: "tableServices/default/tables" },
};

function permission(f: AzureFailure, ctx: DiagnosisContext): Diagnosis {
  const target = f.store ?? { kind: "container", name: ctx.container ?? "keyvault-backups" };
  const where = `${target.kind} '${target.name}'`;
  const { role, scope } = DataRoles[target.kind];
  if (ctx.storageAuth === "sas" || f.code !== "AuthorizationPermissionMismatch")
    return {
      code: "StorageSasPermission",
      cause: `The SAS in the storage connection string does not allow this (${f.code}): it lacks a permission (read, write, delete, list, add, process), a resource type (service, container, object) or a service (blob, queue, table) the app uses.`,
      fix: "Issue a SAS with services bqt, resource types sco and permissions rwdlacup, or use the identity form (BACKUP_STORAGE__blobServiceUri and the managed identity).",
    };
  return {
    code: "StorageRbac",
    cause: `The identity reached the storage account but lacks a data role on ${where}.`,
    fix: `Assign "${role}" to the identity scoped to the ${target.kind}; propagation takes up to 10 minutes. E.g. az role assignment create --assignee <principalId> --role "${role}" --scope <account-id>/${scope}/${target.name}. (The app needs Storage Blob Data Contributor on its container, Storage Queue Data Contributor on its queues and Storage Table Data Contributor on its table: the infra assigns all three.)`,
  };
}

/** The container, a queue or the table is not there, and the app's role (scoped to it) may not create it. */
function missing(f: AzureFailure, ctx: DiagnosisContext): Diagnosis {
  const target = f.store ?? { kind: "container", name: ctx.container ?? "keyvault-backups" };
  const account = ctx.account ?? "<account>";
  const create = {
    container: `az storage container create --auth-mode login --account-name ${account} --name ${target.name}`,
    queue: `az storage queue create --auth-mode login --account-name ${account} --name ${target.name}`,
    table: `az storage table create --auth-mode login --account-name ${account} --name ${target.name}`,
  }[target.kind];
  // Continuous protection's queue (BACKUP_EVENTS_QUEUE): the infra makes it only with continuousProtection.
  if (target.kind === "queue" && !Object.values(Queues).includes(target.name as never))
    return {
      code: "StorageResourceMissing",
      cause: `The events queue '${target.name}' (BACKUP_EVENTS_QUEUE) does not exist in the storage account (${f.code}).`,
      fix: `Deploy the infra with continuousProtection (it makes the queue 'keyvault-events' and gives the app Storage Queue Data Contributor on it: docs/deploy.md#continuous-protection), or create it — ${create} — and give the app's identity Storage Queue Data Contributor on it; or unset BACKUP_EVENTS_QUEUE.`,
    };
  return {
    code: "StorageResourceMissing",
    cause: `The ${target.kind} '${target.name}' does not exist in the storage account (${f.code}), and the identity's role is scoped to it, so it cannot create it.`,
    fix: `Deploy the infra (it creates the container, the queues and the table, and scopes the roles to them), or create it: ${create}; check the name in the settings (BACKUP_CONTAINER, BACKUP_INVENTORY_TABLE, BACKUP_EVENTS_DEADLETTER_CONTAINER).`,
  };
}

/** Storage errors, by status and error code (x-ms-error-code, the body's Code). */
export function diagnoseStorage(f: AzureFailure, ctx: DiagnosisContext): Diagnosis | undefined {
  if (f.networkCode) return unreachable(f, ctx);
  switch (f.code) {
    case "AuthorizationFailure":
      return firewall(ctx);
    case "AuthorizationPermissionMismatch":
    case "AuthorizationResourceTypeMismatch":
    case "AuthorizationServiceMismatch":
    case "AuthorizationProtocolMismatch":
      return permission(f, ctx);
    case "AuthorizationSourceIPMismatch":
      return {
        code: "StorageSasSourceIp",
        cause:
          "The SAS in the storage connection string only admits other source IP addresses than this caller's.",
        fix: "Issue a SAS without an IP range (or with the caller's outbound addresses), or use the identity form.",
      };
    case "KeyBasedAuthenticationNotPermitted":
      return {
        code: "StorageSharedKeyDisabled",
        cause: "A key-based connection string was used against an account with shared key access disabled.",
        fix: "Use the identity form: unset BACKUP_STORAGE and set BACKUP_STORAGE__blobServiceUri, __queueServiceUri, __tableServiceUri (and __clientId for a user-assigned identity).",
      };
    case "AuthenticationFailed":
    case "InvalidAuthenticationInfo":
    case "NoAuthenticationInformation":
      return diagnoseStorageAuth(f, ctx);
    case "ContainerNotFound":
    case "QueueNotFound":
    case "TableNotFound":
      return missing(f, ctx);
    case "ServerBusy":
    case "InternalError":
    case "OperationTimedOut":
      return {
        code: "StorageBusy",
        cause: `Storage answered ${f.status ?? ""} ${f.code}: a transient condition that outlasted the retries.`,
        fix: "The run is retried from the queue and resumes where it stopped; if it persists, check the account's health and its request rate limits.",
      };
    default:
      return undefined;
  }
}
