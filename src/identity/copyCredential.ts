import type { TokenCredential } from "@azure/core-auth";
import { ClientAssertionCredential } from "@azure/identity";

/** The audience of a managed identity's token that Entra exchanges for an app registration's (public cloud). */
export const TokenExchangeScope = "api://AzureADTokenExchange/.default";

/**
 * The app in the isolated copy's tenant: the multi-tenant app registration `clientId`, signed in
 * with the app's managed identity token as its client assertion (the registration holds a federated
 * identity credential that trusts that identity: no secret, no certificate). Entra is
 * AZURE_AUTHORITY_HOST when set (sovereign clouds, the local stack), else the public cloud's.
 */
export function copyTenantCredential(
  tenant: { tenantId: string; clientId: string },
  managedIdentity: TokenCredential,
  env: Record<string, string | undefined>,
): TokenCredential {
  const authorityHost = env.AZURE_AUTHORITY_HOST;
  const loopback =
    authorityHost !== undefined && /^https:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(authorityHost);
  return new ClientAssertionCredential(
    tenant.tenantId,
    tenant.clientId,
    async () => {
      const token = await managedIdentity.getToken(TokenExchangeScope);
      if (!token) throw new Error("the managed identity gave no token for the token exchange");
      return token.token;
    },
    {
      ...(authorityHost ? { authorityHost } : {}),
      // A local Entra has no instance discovery (MSAL would ask login.microsoftonline.com).
      ...(loopback ? { disableInstanceDiscovery: true } : {}),
    },
  );
}
