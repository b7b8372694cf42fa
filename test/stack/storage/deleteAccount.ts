import { AzureNamedKeyCredential, TableServiceClient } from "@azure/data-tables";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { StorageSharedKeyCredential as QueueKey, QueueServiceClient } from "@azure/storage-queue";
import type { AzuriteEndpoints } from "./azurite.js";
import type { StorageFaultProxy } from "./faultProxy.js";

/**
 * A storage account deleted, as the isolated copy exists to survive: its containers, queues and
 * tables gone from Azurite, and its endpoints closed. In Azure the account's DNS name stops resolving;
 * on loopback the honest equivalent is a port nobody listens on (ECONNREFUSED), so the account's
 * proxies stop listening rather than answer anything. There is no way back (Azure's account recovery
 * is not modelled): a test that deletes the account does it on a base of its own.
 */
export async function deleteAccount(
  endpoints: AzuriteEndpoints,
  account: { name: string; key: string },
  proxies: readonly StorageFaultProxy[],
): Promise<void> {
  for (const p of proxies) await p.stop();
  const blobs = new BlobServiceClient(
    `${endpoints.blob}/${account.name}`,
    new StorageSharedKeyCredential(account.name, account.key),
  );
  for await (const c of blobs.listContainers()) await blobs.deleteContainer(c.name);
  const queues = new QueueServiceClient(
    `${endpoints.queue}/${account.name}`,
    new QueueKey(account.name, account.key),
  );
  for await (const q of queues.listQueues()) await queues.deleteQueue(q.name);
  const tables = new TableServiceClient(
    `${endpoints.table}/${account.name}`,
    new AzureNamedKeyCredential(account.name, account.key),
  );
  for await (const t of tables.listTables()) if (t.name) await tables.deleteTable(t.name);
}
