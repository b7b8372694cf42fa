import type { Config } from "../domain/config.js";

/**
 * App Service authentication passes the signed-in caller as x-ms-client-principal: base64 JSON
 * {auth_typ, name_typ, role_typ, claims: [{typ, val}]}. Only Entra ID app roles count: claims of
 * type "roles", whatever role_typ says. The header is anyone's to send unless App Service
 * authentication is on (it strips the header from incoming requests and sets its own).
 */
export const RestoreRole = "Backup.Restore";

interface Claim {
  typ: string;
  val: string;
}

function claimsOf(header: string | null | undefined): { claims: Claim[]; nameTyp?: string } {
  if (!header || header.length > 16_384) return { claims: [] };
  try {
    const p = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as {
      claims?: unknown;
      name_typ?: unknown;
    };
    const claims = Array.isArray(p?.claims)
      ? p.claims.filter((c): c is Claim => typeof c?.typ === "string" && typeof c?.val === "string")
      : [];
    return { claims, ...(typeof p?.name_typ === "string" ? { nameTyp: p.name_typ } : {}) };
  } catch {
    return { claims: [] };
  }
}

export const principalRoles = (header: string | null | undefined): string[] =>
  claimsOf(header)
    .claims.filter((c) => c.typ === "roles")
    .map((c) => c.val);

export function principalName(header: string | null | undefined): string | undefined {
  const { claims, nameTyp } = claimsOf(header);
  return claims.find((c) => c.typ === (nameTyp ?? "name") || c.typ === "preferred_username")?.val;
}

export type RoleVerdict = "allowed" | "missing-role" | "authentication-off";

/** May this caller restore? Only with the role, and only when the role can be believed. */
export function restoreVerdict(
  config: Pick<Config, "restoreRequireRole" | "appServiceAuth">,
  header: string | null,
): RoleVerdict {
  if (!config.restoreRequireRole) return "allowed";
  if (!config.appServiceAuth) return "authentication-off";
  return principalRoles(header).includes(RestoreRole) ? "allowed" : "missing-role";
}
