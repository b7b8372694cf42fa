// A process that takes one budget slot and holds it until it is killed: the integration test's
// "holder that dies" (kill -9: no release, no more renewals; the lease must expire on its own).

import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { BudgetSlots } from "../../src/storage/budgetSlots.js";
import { installNetworkGuard } from "../setup/networkGuard.js";

installNetworkGuard();
const [scope, leaseSeconds] = process.argv.slice(2) as [string, string];
const container = new BlobServiceClient(
  process.env.BACKUP_STORAGE__blobServiceUri as string,
  new DefaultAzureCredential(),
).getContainerClient(process.env.BACKUP_CONTAINER as string);
await container.createIfNotExists();
const slots = new BudgetSlots(container, Number(leaseSeconds));
if (!(await slots.tryAcquire(scope, 1, () => undefined))) throw new Error(`slot 0 of ${scope} is held`);
process.stdout.write("held\n");
setInterval(() => undefined, 60_000);
