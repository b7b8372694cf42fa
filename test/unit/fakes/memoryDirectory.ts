import type { VaultDirectory } from "../../../src/backup/ports.js";
import { azureCallError, type KvBackupError } from "../../../src/domain/errors.js";
import type { DiscoveredVault } from "../../../src/domain/objects.js";

export const armError = (status: number, code: string, message = `${code} (test)`): KvBackupError =>
  azureCallError({ service: "arm", status, code, message });

/** Azure Resource Manager in memory: the Key Vaults of each subscription, and a fault hook. */
export class MemoryDirectory implements VaultDirectory {
  readonly subscriptions = new Map<string, DiscoveredVault[]>();
  fault: (subscription: string) => KvBackupError | undefined = () => undefined;
  calls = 0;

  add(
    subscription: string,
    name: string,
    tags: Record<string, string> = {},
    url = `https://${name}.vault.azure.net/`,
  ): this {
    const list = this.subscriptions.get(subscription) ?? [];
    list.push({ name, url, subscription, resourceGroup: "rg", location: "westeurope", tags });
    this.subscriptions.set(subscription, list);
    return this;
  }

  async list(subscription: string): Promise<DiscoveredVault[]> {
    this.calls++;
    const e = this.fault(subscription);
    if (e) throw e;
    const found = this.subscriptions.get(subscription);
    if (!found)
      throw armError(404, "SubscriptionNotFound", `The subscription '${subscription}' could not be found.`);
    return structuredClone(found);
  }
}
