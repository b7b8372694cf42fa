import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import type { Config } from "./domain/config.js";

/**
 * The app's identity: DefaultAzureCredential (in Azure Functions: the managed identity, the
 * user-assigned one when AZURE_CLIENT_ID is set). Storage may name its own user-assigned identity
 * (BACKUP_STORAGE__clientId), the Functions convention for identity-based connections.
 * An operator's CLI signs in as the operator (az login, a jump host's own identity, ...), never as
 * the Function's identity: the client ids in settings taken from the deployed app are ignored there.
 */
export function credentials(config: Config): { keyVault: TokenCredential; storage: TokenCredential } {
  if (config.caller === "operator") {
    const operator = new DefaultAzureCredential();
    return { keyVault: operator, storage: operator };
  }
  const keyVault = new DefaultAzureCredential(
    config.clientId ? { managedIdentityClientId: config.clientId } : {},
  );
  const storage =
    config.storage.kind === "identity" && config.storage.clientId
      ? new ManagedIdentityCredential({ clientId: config.storage.clientId })
      : keyVault;
  return { keyVault, storage };
}
