import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import type { TokenCredential } from "@azure/core-auth";
import { isAbort, toAzureFailure } from "../domain/azureFailure.js";
import { azureCallError, KvBackupError } from "../domain/errors.js";
import type { DiscoveredVault } from "../domain/objects.js";
import type { SignalLike } from "../domain/signal.js";

/** The resource group of an ARM resource id (/subscriptions/x/resourceGroups/rg/providers/...). */
const resourceGroupOf = (id: string | undefined): string | undefined =>
  id?.match(/\/resourceGroups\/([^/]+)\//i)?.[1];

/**
 * Discovery through Azure Resource Manager with the Key Vault management SDK: the vaults of a
 * subscription (Vaults - List By Subscription), whose properties.vaultUri carries the vault's URL in
 * its own cloud's DNS suffix. Chosen over Resource Graph: it is authoritative (Resource Graph's index
 * lags behind changes), needs only Microsoft.KeyVault/vaults/read, and speaks the same protocol in
 * every cloud. The token is asked for the endpoint's own audience (sovereign clouds).
 */
export class ArmVaultDirectory {
  private readonly clients = new Map<string, KeyVaultManagementClient>();

  constructor(
    private readonly endpoint: string,
    private readonly credential: TokenCredential,
  ) {}

  private client(subscription: string): KeyVaultManagementClient {
    let c = this.clients.get(subscription);
    if (!c) {
      c = new KeyVaultManagementClient(this.credential, subscription, {
        endpoint: this.endpoint,
        credentials: { scopes: [`${this.endpoint}/.default`] },
      });
      this.clients.set(subscription, c);
    }
    return c;
  }

  async list(subscription: string, signal?: SignalLike): Promise<DiscoveredVault[]> {
    const out: DiscoveredVault[] = [];
    try {
      for await (const v of this.client(subscription).vaults.listBySubscription({
        ...(signal ? { abortSignal: signal as AbortSignal } : {}),
      })) {
        if (!v.name || !v.properties?.vaultUri) continue;
        const resourceGroup = resourceGroupOf(v.id);
        out.push({
          name: v.name,
          url: v.properties.vaultUri,
          subscription,
          ...(resourceGroup ? { resourceGroup } : {}),
          ...(v.location ? { location: v.location } : {}),
          tags: { ...(v.tags ?? {}) },
        });
      }
    } catch (e) {
      if (e instanceof KvBackupError) throw e;
      if (isAbort(e)) throw new KvBackupError("Aborted", "aborted", { cause: e });
      const failure = toAzureFailure(e, "arm");
      failure.resource = `subscription ${subscription}`;
      failure.operation = "list";
      throw azureCallError(failure);
    }
    return out;
  }
}
