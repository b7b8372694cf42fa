import { diagnose } from "../diagnosis/diagnose.js";
import type { StorageConfig } from "../domain/config.js";
import type { Diagnosis, DiagnosisContext, StorageAuth } from "../domain/diagnosis.js";
import { KvBackupError } from "../domain/errors.js";
import type { EngineDeps } from "./deps.js";

/**
 * The diagnosis of an error an adapter raised (an Azure failure) or the engine raised with one;
 * undefined for anything else (an abort, a bug), which the caller lets through.
 */
export function diagnosisOf(e: unknown, ctx: DiagnosisContext): Diagnosis | undefined {
  if (!(e instanceof KvBackupError)) return undefined;
  if (e.diagnosis) return e.diagnosis;
  return e.failure ? diagnose(e.failure, ctx) : undefined;
}

/** The same failure with its diagnosis made now, where the context (which vault, for what) is known. */
export function diagnosed(e: unknown, ctx: DiagnosisContext): unknown {
  if (!(e instanceof KvBackupError) || e.diagnosis || !e.failure) return e;
  return new KvBackupError(e.code, e.message, {
    cause: e,
    retryable: e.retryable,
    failure: e.failure,
    diagnosis: diagnose(e.failure, ctx),
  });
}

export const isStorageFailure = (e: unknown): e is KvBackupError =>
  e instanceof KvBackupError && e.code === "StorageFailed";

export const isKeyVaultFailure = (e: unknown): e is KvBackupError =>
  e instanceof KvBackupError && e.code === "KeyVaultFailed";

export const isArmFailure = (e: unknown): e is KvBackupError =>
  e instanceof KvBackupError && e.code === "ArmFailed";

const storageAuthOf = (storage: StorageConfig): StorageAuth =>
  storage.kind === "identity"
    ? "identity"
    : /SharedAccessSignature=/i.test(storage.connectionString)
      ? "sas"
      : "sharedKey";

/** The account's name: the first label of its blob endpoint, or AccountName= of a connection string. */
function accountOf(storage: StorageConfig): string | undefined {
  if (storage.kind === "connectionString")
    return /(?:^|;)\s*AccountName=([^;]+)/i.exec(storage.connectionString)?.[1]?.trim() || undefined;
  try {
    const host = new URL(storage.blobServiceUri).hostname;
    return /\.blob\./.test(host) ? host.split(".")[0] : undefined;
  } catch {
    return undefined;
  }
}

/** What a storage diagnosis needs to know: the container, who calls, and with what credential. */
export const storageContext = (deps: Pick<EngineDeps, "blobs" | "config">): DiagnosisContext => {
  const account = accountOf(deps.config.storage);
  return {
    container: deps.blobs.container,
    caller: deps.config.caller,
    storageAuth: storageAuthOf(deps.config.storage),
    ...(account ? { account } : {}),
  };
};
