import { type Caller, errors } from "./errors.js";
import type { OperationInfo } from "./operations.js";

const Prefix = "Microsoft.KeyVault/vaults/";

/** Built-in Key Vault data-plane roles (dataActions as Azure defines them). */
export const BuiltInRoles: Record<string, readonly string[]> = {
  "Key Vault Administrator": [`${Prefix}*`],
  "Key Vault Reader": [`${Prefix}*/read`, `${Prefix}secrets/readMetadata/action`],
  "Key Vault Secrets Officer": [`${Prefix}secrets/*`],
  "Key Vault Secrets User": [`${Prefix}secrets/getSecret/action`, `${Prefix}secrets/readMetadata/action`],
  "Key Vault Crypto Officer": [`${Prefix}keys/*`, `${Prefix}keyrotationpolicies/*`],
  "Key Vault Crypto User": [
    `${Prefix}keys/read`,
    `${Prefix}keys/update/action`,
    `${Prefix}keys/backup/action`,
    `${Prefix}keys/encrypt/action`,
    `${Prefix}keys/decrypt/action`,
    `${Prefix}keys/wrap/action`,
    `${Prefix}keys/unwrap/action`,
    `${Prefix}keys/sign/action`,
    `${Prefix}keys/verify/action`,
  ],
  "Key Vault Certificates Officer": [
    `${Prefix}certificatecas/*`,
    `${Prefix}certificates/*`,
    `${Prefix}certificatecontacts/write`,
  ],
  "Key Vault Certificate User": [
    `${Prefix}certificates/read`,
    `${Prefix}secrets/getSecret/action`,
    `${Prefix}secrets/readMetadata/action`,
    `${Prefix}keys/read`,
  ],
};

export interface RoleAssignment {
  principalId: string;
  /** A built-in role name, or a custom role given as its data actions. */
  role: string | { name?: string; dataActions: readonly string[]; notDataActions?: readonly string[] };
  /** Omitted = the whole vault; "secrets/name" etc. = one object. */
  scope?: string;
}

/** Access-policy vaults: permission words per kind, e.g. { secrets: ["list", "backup"] }. */
export interface AccessPolicy {
  objectId: string;
  permissions: { secrets?: readonly string[]; keys?: readonly string[]; certificates?: readonly string[] };
}

export type AuthorizationMode =
  | { kind: "rbac"; assignments: RoleAssignment[] }
  | { kind: "accessPolicy"; policies: AccessPolicy[] };

const globToRegex = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );

function roleActions(role: RoleAssignment["role"]): { allow: readonly string[]; deny: readonly string[] } {
  if (typeof role === "string") {
    const actions = BuiltInRoles[role];
    if (!actions) throw new Error(`unknown built-in role '${role}'`);
    return { allow: actions, deny: [] };
  }
  return { allow: role.dataActions, deny: role.notDataActions ?? [] };
}

export interface AuthzContext {
  vault: string;
  location: string;
  subscriptionId: string;
  resourceGroup: string;
}

/** Throws the service's 403 (ForbiddenByRbac or AccessDenied) when the caller may not run the operation. */
export function authorize(
  mode: AuthorizationMode,
  caller: Caller,
  op: OperationInfo,
  objectPath: string | undefined,
  ctx: AuthzContext,
): void {
  if (mode.kind === "rbac") {
    const action = `${Prefix}${op.dataAction}`;
    const allowed = mode.assignments.some((a) => {
      if (a.principalId !== caller.oid) return false;
      if (a.scope && (!objectPath || a.scope.toLowerCase() !== objectPath.toLowerCase())) return false;
      const { allow, deny } = roleActions(a.role);
      return allow.some((p) => globToRegex(p).test(action)) && !deny.some((p) => globToRegex(p).test(action));
    });
    if (!allowed) {
      const resource = `/subscriptions/${ctx.subscriptionId}/resourcegroups/${ctx.resourceGroup}/providers/microsoft.keyvault/vaults/${ctx.vault}${objectPath ? `/${objectPath}` : ""}`;
      throw errors.forbiddenByRbac(caller, action, resource, ctx.vault, ctx.location);
    }
    return;
  }
  const [kind, word] = op.permission.split(" ") as ["secrets" | "keys" | "certificates", string];
  const ok = mode.policies.some(
    (p) =>
      p.objectId === caller.oid &&
      (p.permissions[kind] ?? []).some((w) => w.toLowerCase() === word || w.toLowerCase() === "all"),
  );
  if (!ok) throw errors.accessDenied(caller, op.permission, ctx.vault, ctx.location);
}
