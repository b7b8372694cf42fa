import type { TokenCredential } from "@azure/core-auth";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import type { StorageConfig } from "../domain/config.js";

export interface StorageClients {
  blob: BlobServiceClient;
  queue: QueueServiceClient;
  table(name: string): TableClient;
}

/** Blob, queue and table clients for the identity form (production) or a connection string (local only). */
export function storageClients(config: StorageConfig, credential: TokenCredential): StorageClients {
  if (config.kind === "connectionString") {
    return {
      blob: BlobServiceClient.fromConnectionString(config.connectionString),
      queue: QueueServiceClient.fromConnectionString(config.connectionString),
      table: (name) => TableClient.fromConnectionString(config.connectionString, name),
    };
  }
  return {
    blob: new BlobServiceClient(config.blobServiceUri, credential),
    queue: new QueueServiceClient(config.queueServiceUri, credential),
    table: (name) => new TableClient(config.tableServiceUri, name, credential),
  };
}
