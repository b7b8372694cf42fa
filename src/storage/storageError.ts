import { type AzureFailure, isAbort, toAzureFailure } from "../azureFailure.js";
import { KvBackupError } from "../errors.js";

/** A failed storage call, read into what classification needs. */
export class StorageCallError extends Error {
  constructor(readonly failure: AzureFailure) {
    super(failure.message.split("\n")[0]);
    this.name = "StorageCallError";
  }
}

export async function storageCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StorageCallError || e instanceof KvBackupError) throw e;
    if (isAbort(e)) throw new KvBackupError("Aborted", "aborted", { cause: e });
    throw new StorageCallError(toAzureFailure(e, "storage"));
  }
}

export const isStorageStatus = (e: unknown, status: number, code?: string): boolean =>
  e instanceof StorageCallError &&
  e.failure.status === status &&
  (code === undefined || e.failure.code === code);
