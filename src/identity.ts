import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import type { Config } from "./domain/config.js";

/**
 * The app's identity: DefaultAzureCredential (in Azure Functions: the managed identity, the
 * user-assigned one when AZURE_CLIENT_ID is set). Storage may name its own user-assigned identity
 * (BACKUP_STORAGE__clientId), the Functions convention for identity-based connections.
 */
export function credentials(config: Config): { keyVault: TokenCredential; storage: TokenCredential } {
  const keyVault = new DefaultAzureCredential(
    config.clientId ? { managedIdentityClientId: config.clientId } : {},
  );
  const storage =
    config.storage.kind === "identity" && config.storage.clientId
      ? new ManagedIdentityCredential({ clientId: config.storage.clientId })
      : keyVault;
  return { keyVault, storage };
}
