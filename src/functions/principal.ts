/**
 * App Service authentication (Easy Auth) passes the signed-in caller as x-ms-client-principal:
 * base64 JSON {auth_typ, name_typ, role_typ, claims: [{typ, val}]}. Roles are the claims whose type
 * is role_typ ("roles" for Entra ID app roles).
 */
export const RestoreRole = "Backup.Restore";

interface ClientPrincipal {
  role_typ?: unknown;
  claims?: unknown;
}

export function principalRoles(header: string | null | undefined): string[] {
  if (!header || header.length > 16_384) return [];
  let principal: ClientPrincipal;
  try {
    principal = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as ClientPrincipal;
  } catch {
    return [];
  }
  if (!principal || typeof principal !== "object" || !Array.isArray(principal.claims)) return [];
  const roleTypes = new Set(["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"]);
  if (typeof principal.role_typ === "string") roleTypes.add(principal.role_typ);
  return principal.claims
    .filter(
      (c): c is { typ: string; val: string } =>
        typeof c?.typ === "string" && typeof c?.val === "string" && roleTypes.has(c.typ),
    )
    .map((c) => c.val);
}

export const principalName = (header: string | null | undefined): string | undefined => {
  if (!header) return undefined;
  try {
    const p = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as {
      claims?: { typ?: string; val?: string }[];
      name_typ?: string;
    };
    return p.claims?.find((c) => c.typ === (p.name_typ ?? "name") || c.typ === "preferred_username")?.val;
  } catch {
    return undefined;
  }
};
