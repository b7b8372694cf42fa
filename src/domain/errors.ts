import type { AzureFailure } from "./azureFailure.js";
import type { Diagnosis } from "./diagnosis.js";

/**
 * Every failure kvbackup raises or reads: one type, a stable code to branch on, whether doing the
 * same again can help, and what is known of it — the Azure failure an adapter read (status, code,
 * inner code), or the diagnosis once made.
 */
export type KvBackupErrorCode =
  | "BadSettings"
  | "BadRequest"
  | "NotFound"
  | "VaultNotAllowed"
  /** A vault neither listed nor discovered while a subscription could not be read: it may be there. */
  | "DiscoveryIncomplete"
  | "Forbidden"
  | "AlreadyRunning"
  | "LeaseLost"
  | "BudgetBusy"
  | "StorageFailed"
  | "KeyVaultFailed"
  | "ArmFailed"
  | "RunFailed"
  | "CorruptManifest"
  | "Aborted";

/** Codes that describe the caller's request, not the service: CLI exit 2, HTTP 4xx. */
export const UsageCodes: ReadonlySet<KvBackupErrorCode> = new Set([
  "BadSettings",
  "BadRequest",
  "VaultNotAllowed",
]);

export class KvBackupError extends Error {
  readonly code: KvBackupErrorCode;
  readonly retryable: boolean;
  readonly failure: AzureFailure | undefined;
  readonly diagnosis: Diagnosis | undefined;

  constructor(
    code: KvBackupErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; failure?: AzureFailure; diagnosis?: Diagnosis } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KvBackupError";
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.failure = options.failure;
    this.diagnosis = options.diagnosis;
  }
}

export const isKvBackupError = (e: unknown, ...codes: KvBackupErrorCode[]): e is KvBackupError =>
  e instanceof KvBackupError && (codes.length === 0 || codes.includes(e.code));

/** A failed Azure call, as adapters raise it: the failure read at the boundary, nothing else. */
export function azureCallError(failure: AzureFailure): KvBackupError {
  return new KvBackupError(
    failure.service === "storage"
      ? "StorageFailed"
      : failure.service === "arm"
        ? "ArmFailed"
        : "KeyVaultFailed",
    (failure.message.split("\n")[0] ?? failure.message).slice(0, 500),
    { failure, retryable: failure.status === undefined || failure.status === 429 || failure.status >= 500 },
  );
}

/** The Azure failure carried by an error, when it is one of ours from an adapter. */
export const failureOf = (e: unknown, service?: AzureFailure["service"]): AzureFailure | undefined =>
  e instanceof KvBackupError && e.failure && (!service || e.failure.service === service)
    ? e.failure
    : undefined;

/** The first line of what was thrown, for a message, a manifest or a log (never a stack): at most `max` characters. */
export const firstLine = (e: unknown, max = 500): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]?.slice(0, max) ?? "";
